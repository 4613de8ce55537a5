"""Run a mapping: read the exports with DuckDB and write the canonical landing files.

The tickets export is required; further exports (actions or notes, a timesheet) are joined to it
on the ticket id and may be absent.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import holidays

from adapters import compile as sql
from adapters.dates import check_dates
from adapters.mapping import FieldSpec, Mapping, MappingError, SourceSpec
from adapters.read import csv_header, find_file, load_table
from policy.config import load_policy
from warehouse.contract import columns
from warehouse.sqlquote import sql_identifier, sql_literal

ENTITIES = ("clients", "tickets", "ticket_events", "time_entries")
# The contract's columns the adapter writes; source_line is kept in raw._extra.
EVENT_COLUMNS = (*columns("ticket_events"), "source_line")
ENTRY_COLUMNS = (*columns("time_entries"), "source_line")
# A mapping's `clients` section gives no contract hours, targets, closures or currency: those
# come from a clients file the provider delivers beside the adapted export.
CLIENT_COLUMNS = tuple(columns("clients", without=("business_hours", "response_targets", "closures",
                                                   "currency")))


@dataclass
class AdapterResult:
    """What one adapter run read and wrote; also saved as `<landing>/<name>_adapter.json`."""

    mapping: str
    source: str
    source_rows: int
    tickets: int
    events: int
    clients: int
    files: dict[str, str]
    partitions_start: str            # first month the pipeline needs (MSP_PARTITIONS_START)
    as_of: str                       # the export's last instant (MSP_AS_OF)
    months: list[str] = field(default_factory=list)  # partitions that can hold its tickets
    events_by_type: dict[str, int] = field(default_factory=dict)
    unmapped_values: dict[str, dict[str, int]] = field(default_factory=dict)
    rows_without_ticket_id: int = 0
    time_entries: int = 0
    inputs: dict[str, str] = field(default_factory=dict)   # role -> export file read
    notes: list[str] = field(default_factory=list)          # what a person should know
    seconds: float = 0.0


def header_names(path: Path, source: SourceSpec) -> list[str]:
    """The CSV export's column names after the mapping's header fixes (renames, repeated names)."""
    return csv_header(path, source)


def _fields(mapping: Mapping) -> dict[str, tuple[FieldSpec, str]]:
    """Every field spec of the mapping by its key path, with the table it reads (for error
    messages, column and date checks and value reports)."""
    found = {f"tickets.{k}": (v, "src") for k, v in mapping.tickets.items()}
    found.update({f"extra.{k}": (v, "src") for k, v in mapping.extra.items()})
    if mapping.event_log:
        log = mapping.event_log
        found.update({"event_log.ticket_id": (log.ticket_id, "src"),
                      "event_log.event_at": (log.event_at, "src"),
                      "event_log.actor": (log.actor, "src"),
                      "event_log.created.at": (log.created.at, "src")})
        if log.created.actor:
            found["event_log.created.actor"] = (log.created.actor, "src")
        found.update({f"event_log.order_by.{i}": (o, "src") for i, o in enumerate(log.order_by)})
        found.update({f"event_log.changes.{i}.field": (c.field, "src")
                      for i, c in enumerate(log.changes)})
    for i, event in enumerate(mapping.events):
        found[f"events.{i}.at"] = (event.at, "src")
        if event.actor:
            found[f"events.{i}.actor"] = (event.actor, "src")
    for key, spec in mapping.event_files.items():
        for name in ("ticket_id", "at", "event_type", "actor_type", "actor", "is_public",
                     "new_value", "event_id"):
            if getattr(spec, name) is not None:
                found[f"event_files.{key}.{name}"] = (getattr(spec, name), f"ev_{key}")
    if mapping.time_entries:
        entries, table = mapping.time_entries, "te" if mapping.time_entries.file else "src"
        for name in ("ticket_id", "started_at", "minutes", "hours", "work_type", "billable",
                     "note", "entry_id"):
            if getattr(entries, name) is not None:
                found[f"time_entries.{name}"] = (getattr(entries, name), table)
    return found


def resolve_inputs(mapping: Mapping, source: Path, mapping_path: Path) -> dict[str, Path | None]:
    """The export file of each table: `source` is the tickets file or the folder of exports.

    The tickets export must exist; an absent further export (say no timesheet this month) is None.
    """
    if source.is_dir():
        folder = source
        tickets = find_file(folder, mapping.source.file, f"{mapping_path}: source.file", True)
    elif source.is_file():
        folder, tickets = source.parent, source
    else:
        raise FileNotFoundError(f"export not found: {source}")
    files: dict[str, Path | None] = {"src": tickets}
    for key, spec in mapping.event_files.items():
        files[f"ev_{key}"] = find_file(folder, spec.file, f"{mapping_path}: event_files.{key}.file",
                                       False)
    if mapping.time_entries and mapping.time_entries.file:
        files["te"] = find_file(folder, mapping.time_entries.file,
                                f"{mapping_path}: time_entries.file", False)
    return files


def check_columns(mapping: Mapping, names: dict[str, list[str]], files: dict[str, Path | None],
                  mapping_path: Path) -> None:
    """Every column the mapping reads exists in its export; else name the key and the column."""
    problems, shown = [], set()
    for key, (spec, table) in _fields(mapping).items():
        if table not in names:
            continue
        wanted = [spec.column] if spec.column is not None else spec.columns
        for column in wanted:
            if column not in names[table]:
                problems.append(f"{mapping_path}: {key}.column{'s' if spec.columns else ''}:"
                                f" no column {column!r} in {files[table].name}")
                shown.add(table)
    if problems:
        columns = [f"(the columns of {files[t].name}: {', '.join(names[t])})" for t in sorted(shown)]
        raise MappingError("\n".join(problems + columns))


def check_plans(mapping: Mapping, mapping_path: Path, policy_path: Path | None = None) -> None:
    """The contract plans the mapping gives exist in the policy config (else every ticket would
    fall to quarantine as a client without a valid contract)."""
    plans = set(load_policy(policy_path).fair_use.plans)
    used = {"clients.plan": mapping.clients.plan}
    used.update({f"clients.overrides.{cid}.plan": t.plan
                 for cid, t in mapping.clients.overrides.items() if t.plan})
    problems = [f"{mapping_path}: {key}: {plan!r} is not a plan of the policy config"
                f" ({', '.join(sorted(plans))})" for key, plan in used.items() if plan not in plans]
    if problems:
        raise MappingError("\n".join(problems))


def _clients_sql(mapping: Mapping, start: str) -> str:
    """One contract row per client seen in the tickets, from the mapping's contract terms."""
    c = mapping.clients
    overrides = [
        "(" + ", ".join([
            sql_literal(cid),
            *(sql_literal(str(v)) if v is not None else "NULL" for v in (
                t.name, t.plan, t.seats, t.timezone, t.country, t.subdivision,
                None if t.after_hours_coverage is None else str(t.after_hours_coverage).lower(),
                t.hourly_rate,
            )),
        ]) + ")"
        for cid, t in c.overrides.items()
    ]
    override_cte = (
        "SELECT * FROM (VALUES " + ", ".join(overrides) + ") AS o(client_id, name, plan, seats,"
        " timezone, country, subdivision, after_hours_coverage, hourly_rate)"
        if overrides else
        "SELECT NULL AS client_id, NULL AS name, NULL AS plan, NULL AS seats, NULL AS timezone,"
        " NULL AS country, NULL AS subdivision, NULL AS after_hours_coverage, NULL AS hourly_rate"
        " WHERE false"
    )
    # Without a requester column nobody can be counted: min_seats (the summary says so).
    seats = (str(c.seats) if c.seats != "distinct_requesters" else
             f"greatest(count(DISTINCT t.requester), {c.min_seats})" if "requester" in mapping.tickets
             else str(c.min_seats))
    country = "NULL"
    if c.country_from_client:
        country = "CASE WHEN regexp_matches(p.client_id, '^[A-Za-z]{2}$') THEN upper(p.client_id) END"
    elif c.country:
        country = sql_literal(c.country)
    name = sql_literal(c.name_template).replace("{client_id}", "' || p.client_id || '")
    valid_from = sql_literal(c.valid_from.isoformat() if c.valid_from else start)
    return f"""
WITH per_client AS (
    SELECT t.client_id, {seats} AS seats FROM tickets t GROUP BY t.client_id
), overrides AS ({override_cte})
SELECT p.client_id, coalesce(o.name, {name}) AS name,
       coalesce(o.timezone, {sql_literal(c.timezone)}) AS timezone,
       coalesce(o.country, {country}) AS country,
       coalesce(o.subdivision, {sql_literal(c.subdivision) if c.subdivision else 'NULL'}) AS subdivision,
       coalesce(o.plan, {sql_literal(c.plan)}) AS plan,
       coalesce(o.seats, CAST(p.seats AS VARCHAR)) AS seats,
       coalesce(o.after_hours_coverage, {sql_literal(str(c.after_hours_coverage).lower())})
           AS after_hours_coverage,
       '' AS included_scope,
       coalesce(o.hourly_rate, {sql_literal(str(c.hourly_rate)) if c.hourly_rate else "''"}) AS hourly_rate,
       {valid_from} AS valid_from
FROM per_client p LEFT JOIN overrides o USING (client_id)
"""


def _unmapped(con: duckdb.DuckDBPyConnection, mapping: Mapping) -> dict[str, dict[str, int]]:
    """Values of mapped fields that the value map does not know (passed through as delivered)."""
    report = {}
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for key, (spec, table) in _fields(mapping).items():
        flag = sql.mapped_flag(spec)
        if flag is None or table not in tables:
            continue
        raw = sql.value_sql(spec.model_copy(update={"map": None, "template": None}))
        rows = con.execute(
            f"SELECT {raw} AS v, count(*) FROM {table} WHERE {flag} GROUP BY v ORDER BY 2 DESC"
            " LIMIT 20"
        ).fetchall()
        if rows:
            report[key] = {str(v): int(n) for v, n in rows}
    return report


def _typed_events(select: str) -> str:
    """Events as text columns (a column that is NULL throughout would have no type to append to)."""
    cols = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in EVENT_COLUMNS if c != "source_line")
    return f"SELECT {cols}, CAST(source_line AS BIGINT) AS source_line FROM ({select})"


def _role(table: str) -> str:
    return {"src": "tickets", "te": "time_entries"}.get(table, table.replace("ev_", "event_files.", 1))


def _optional_files(mapping: Mapping) -> list[tuple[str, object, str]]:
    """(key, spec, table) of the further exports a mapping names."""
    found = [(f"event_files.{k}", v, f"ev_{k}") for k, v in mapping.event_files.items()]
    if mapping.time_entries and mapping.time_entries.file:
        found.append(("time_entries", mapping.time_entries, "te"))
    return found


def _unmatched(con: duckdb.DuckDBPyConnection, table: str, key: str, path: Path) -> list[str]:
    """A note when rows of a further export name tickets the tickets export does not hold.

    They are written all the same: the pipeline quarantines them as `unknown_ticket`, so they are
    counted, not lost.
    """
    count, ids = con.execute(
        f"""SELECT count(*), list(DISTINCT ticket_id ORDER BY ticket_id)[1:3] FROM {table}
            WHERE ticket_id IS NULL OR ticket_id NOT IN (SELECT ticket_id FROM tickets
                                                       WHERE ticket_id IS NOT NULL)"""
    ).fetchone()
    if not count:
        return []
    return [f"{key}: {count} row(s) of {path.name} name no ticket of the tickets export"
            f" (e.g. {', '.join(map(str, ids))}); the pipeline quarantines them as unknown_ticket"]


def _write(con: duckdb.DuckDBPyConnection, select: str, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    con.execute(f"COPY ({select}) TO {sql_literal(str(path))} ({options})")


def adapt(
    mapping: Mapping, source: Path, landing: Path, mapping_path: Path, fmt: str = "parquet"
) -> AdapterResult:
    """Convert the exports with `mapping` into canonical files under `landing`; return what was done.

    `source` is the tickets export, or the folder holding it and the mapping's further exports.
    """
    started = time.perf_counter()
    files = resolve_inputs(mapping, source, mapping_path)
    specs = {"src": mapping.source, "te": mapping.time_entries,
             **{f"ev_{k}": v for k, v in mapping.event_files.items()}}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    names = {table: load_table(con, table, path, specs[table])
             for table, path in files.items() if path is not None}
    check_columns(mapping, names, files, mapping_path)
    check_plans(mapping, mapping_path)
    notes = check_dates(con, _fields(mapping), files, mapping_path)
    if mapping.clients.seats == "distinct_requesters" and "requester" not in mapping.tickets:
        notes.append(f"clients.seats: no requester is mapped, so every client gets min_seats"
                     f" ({mapping.clients.min_seats}); give seats per client under overrides")
    notes += [f"{role}: no file matching {spec.file!r} delivered; nothing read from it"
              for role, spec, table in _optional_files(mapping) if files.get(table) is None]
    if mapping.shape == "event_log":
        con.execute(f"CREATE TEMP TABLE updates AS {sql.event_log_updates_sql(mapping)}")
        con.execute(f"CREATE TEMP TABLE tickets AS {sql.event_log_tickets_sql(mapping)}")
        con.execute(f"CREATE TEMP TABLE events AS {_typed_events(sql.event_log_events_sql(mapping))}")
        without_id = con.execute("SELECT count(*) FROM updates WHERE ticket_id IS NULL").fetchone()[0]
    else:
        con.execute(f"CREATE TEMP TABLE tickets AS {sql.row_tickets_sql(mapping)}")
        con.execute(f"CREATE TEMP TABLE events AS {_typed_events(sql.row_events_sql(mapping))}")
        without_id = con.execute("SELECT count(*) FROM tickets WHERE ticket_id IS NULL").fetchone()[0]
    zone = mapping.source.timezone
    for key, spec in mapping.event_files.items():
        if files[f"ev_{key}"] is None:
            continue
        con.execute(f"CREATE TEMP TABLE file_events AS {sql.event_file_sql(key, spec, f'ev_{key}', zone)}")
        notes += _unmatched(con, "file_events", f"event_files.{key}", files[f"ev_{key}"])
        con.execute("INSERT INTO events BY NAME SELECT * FROM file_events")
        con.execute("DROP TABLE file_events")
    entries_table = "te" if mapping.time_entries and mapping.time_entries.file else "src"
    has_entries = mapping.time_entries is not None and files.get(entries_table) is not None
    if has_entries:
        con.execute(f"CREATE TEMP TABLE entries AS {sql.time_entries_sql(mapping, entries_table)}")
        if entries_table == "te":
            notes += _unmatched(con, "entries", "time_entries", files["te"])
    first, last = con.execute(
        """SELECT min(try_cast(created_at AS TIMESTAMPTZ)),
                  greatest(max(try_cast(updated_at AS TIMESTAMPTZ)),
                           (SELECT max(try_cast(event_at AS TIMESTAMPTZ)) FROM events))
           FROM tickets""" if "updated_at" in mapping.tickets else
        """SELECT min(try_cast(created_at AS TIMESTAMPTZ)),
                  (SELECT max(try_cast(event_at AS TIMESTAMPTZ)) FROM events) FROM tickets"""
    ).fetchone()
    if first is None:
        raise MappingError(f"{source}: no ticket with a readable created_at; check the mapping's format")
    # A day earlier than the first ticket covers every client zone's local month.
    start = con.execute(
        "SELECT CAST(date_trunc('month', CAST(? AS TIMESTAMPTZ) - INTERVAL 1 DAY) AS DATE)", [first]
    ).fetchone()[0].isoformat()
    last = last or first
    con.execute(f"CREATE TEMP TABLE clients AS {_clients_sql(mapping, start)}")
    # Countries the holidays calendar does not know would reject the whole contract row downstream.
    known = {c for c in holidays.list_supported_countries() if len(c) == 2}
    con.execute(
        "UPDATE clients SET country = NULL WHERE country IS NOT NULL AND country NOT IN "
        f"({', '.join(sql_literal(c) for c in sorted(known))})"
    )
    # The partitions holding its tickets: a ticket's month is its creation month in its client's zone.
    months = [r[0].isoformat() for r in con.execute(
        """SELECT DISTINCT CAST(date_trunc('month', timezone(c.timezone, t.ts)) AS DATE) AS m
           FROM (SELECT client_id, try_cast(created_at AS TIMESTAMPTZ) AS ts FROM tickets) t
           JOIN clients c USING (client_id) WHERE t.ts IS NOT NULL ORDER BY m"""
    ).fetchall()]
    ticket_cols = ", ".join(sql_identifier(c) for c in [*mapping.tickets, *mapping.extra])
    ticket_id = "" if "ticket_id" in mapping.tickets else "ticket_id, "
    files_out = {
        "clients": landing / "clients" / f"{mapping.name}_clients.csv",
        "tickets": landing / "tickets" / f"{mapping.name}_tickets.{fmt}",
        "ticket_events": landing / "ticket_events" / f"{mapping.name}_ticket_events.{fmt}",
    }
    if has_entries:
        files_out["time_entries"] = landing / "time_entries" / f"{mapping.name}_time_entries.{fmt}"
    _write(con, f"SELECT {', '.join(CLIENT_COLUMNS)} FROM clients ORDER BY client_id",
           files_out["clients"], "csv")
    _write(con, f"SELECT {ticket_id}{ticket_cols}, source_line, source_updates FROM tickets"
                " ORDER BY source_line", files_out["tickets"], fmt)
    if con.execute("SELECT count(*) FROM events").fetchone()[0]:
        _write(con, f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY ticket_id, event_at, event_id",
               files_out["ticket_events"], fmt)
    else:
        # No dates to make events of: an empty file would only be rejected (its columns have no
        # type); summary() says what is missing instead.
        del files_out["ticket_events"]
    if has_entries:
        _write(con, f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries ORDER BY ticket_id, source_line",
               files_out["time_entries"], fmt)
    counts = con.execute(
        "SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM tickets),"
        " (SELECT count(*) FROM events), (SELECT count(*) FROM clients)"
    ).fetchone()
    by_type = dict(con.execute(
        "SELECT event_type || '/' || actor_type, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall())
    result = AdapterResult(
        mapping=str(mapping_path), source=str(source), source_rows=counts[0], tickets=counts[1],
        events=counts[2], clients=counts[3], files={k: str(v) for k, v in files_out.items()},
        partitions_start=start, as_of=last.isoformat(), months=months, events_by_type=by_type,
        unmapped_values=_unmapped(con, mapping), rows_without_ticket_id=without_id,
        time_entries=con.execute("SELECT count(*) FROM entries").fetchone()[0] if has_entries else 0,
        inputs={_role(t): str(p) for t, p in files.items() if p is not None}, notes=notes,
    )
    con.close()
    result.seconds = round(time.perf_counter() - started, 2)
    # Not a landing file (no entity prefix, .json): the pipeline ignores it; people read it.
    (landing / f"{mapping.name}_adapter.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result
