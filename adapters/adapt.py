"""Run a mapping: read one export with DuckDB and write the canonical landing files."""

from __future__ import annotations

import csv
import gzip
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import holidays

from adapters import compile as sql
from adapters.mapping import FieldSpec, Mapping, MappingError, SourceSpec
from policy.config import load_policy

ENTITIES = ("clients", "tickets", "ticket_events")
EVENT_COLUMNS = ("event_id", "ticket_id", "event_at", "event_type", "actor_type", "actor", "is_public",
                 "new_value", "source_line")
CLIENT_COLUMNS = ("client_id", "name", "timezone", "country", "subdivision", "plan", "seats",
                  "after_hours_coverage", "included_scope", "hourly_rate", "valid_from")


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
    seconds: float = 0.0


def header_names(path: Path, source: SourceSpec) -> list[str]:
    """The export's column names after the mapping's header fixes (renames, repeated names)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh, delimiter=source.delimiter), None)
    if not header:
        raise MappingError(f"{path}: the export has no header row")
    seen: dict[str, int] = {}
    names = []
    for raw in header:
        name = raw.strip()
        n = seen.get(name, 0)
        seen[name] = n + 1
        if name in source.duplicate_headers and n < len(source.duplicate_headers[name]):
            name = source.duplicate_headers[name][n]
        elif n:
            name = f"{name}_{n}"
        names.append(source.header_renames.get(name, name))
    return names


def _fields(mapping: Mapping) -> dict[str, FieldSpec]:
    """Every field spec of the mapping by its key path (for error messages and value reports)."""
    found = {f"tickets.{k}": v for k, v in mapping.tickets.items()}
    found.update({f"extra.{k}": v for k, v in mapping.extra.items()})
    if mapping.event_log:
        log = mapping.event_log
        found.update({"event_log.ticket_id": log.ticket_id, "event_log.event_at": log.event_at,
                      "event_log.actor": log.actor, "event_log.created.at": log.created.at})
        if log.created.actor:
            found["event_log.created.actor"] = log.created.actor
        found.update({f"event_log.order_by.{i}": o for i, o in enumerate(log.order_by)})
        found.update({f"event_log.changes.{i}.field": c.field for i, c in enumerate(log.changes)})
    for i, event in enumerate(mapping.events):
        found[f"events.{i}.at"] = event.at
        if event.actor:
            found[f"events.{i}.actor"] = event.actor
    return found


def check_columns(mapping: Mapping, names: list[str], source: Path, mapping_path: Path) -> None:
    """Every column the mapping reads exists in the export; else name the key and the column."""
    problems = [
        f"{mapping_path}: {key}.column: no column {spec.column!r} in {source.name}"
        for key, spec in _fields(mapping).items()
        if spec.column is not None and spec.column not in names
    ]
    if problems:
        raise MappingError("\n".join(problems) + f"\n(the export's columns: {', '.join(names)})")


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
            sql.lit(cid),
            *(sql.lit(str(v)) if v is not None else "NULL" for v in (
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
    seats = (f"greatest(count(DISTINCT t.requester), {c.min_seats})"
             if c.seats == "distinct_requesters" else str(c.seats))
    country = "NULL"
    if c.country_from_client:
        country = "CASE WHEN regexp_matches(p.client_id, '^[A-Za-z]{2}$') THEN upper(p.client_id) END"
    elif c.country:
        country = sql.lit(c.country)
    name = sql.lit(c.name_template).replace("{client_id}", "' || p.client_id || '")
    valid_from = sql.lit(c.valid_from.isoformat() if c.valid_from else start)
    return f"""
WITH per_client AS (
    SELECT t.client_id, {seats} AS seats FROM tickets t GROUP BY t.client_id
), overrides AS ({override_cte})
SELECT p.client_id, coalesce(o.name, {name}) AS name,
       coalesce(o.timezone, {sql.lit(c.timezone)}) AS timezone,
       coalesce(o.country, {country}) AS country,
       coalesce(o.subdivision, {sql.lit(c.subdivision) if c.subdivision else 'NULL'}) AS subdivision,
       coalesce(o.plan, {sql.lit(c.plan)}) AS plan,
       coalesce(o.seats, CAST(p.seats AS VARCHAR)) AS seats,
       coalesce(o.after_hours_coverage, {sql.lit(str(c.after_hours_coverage).lower())})
           AS after_hours_coverage,
       '' AS included_scope,
       coalesce(o.hourly_rate, {sql.lit(str(c.hourly_rate)) if c.hourly_rate else "''"}) AS hourly_rate,
       {valid_from} AS valid_from
FROM per_client p LEFT JOIN overrides o USING (client_id)
"""


def _unmapped(con: duckdb.DuckDBPyConnection, mapping: Mapping) -> dict[str, dict[str, int]]:
    """Values of mapped fields that the value map does not know (passed through as delivered)."""
    report = {}
    for key, spec in _fields(mapping).items():
        flag = sql.mapped_flag(spec)
        if flag is None:
            continue
        raw = sql.value_sql(spec.model_copy(update={"map": None, "template": None}))
        rows = con.execute(
            f"SELECT {raw} AS v, count(*) FROM src WHERE {flag} GROUP BY v ORDER BY 2 DESC LIMIT 20"
        ).fetchall()
        if rows:
            report[key] = {str(v): int(n) for v, n in rows}
    return report


def _write(con: duckdb.DuckDBPyConnection, select: str, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    con.execute(f"COPY ({select}) TO {sql.lit(str(path))} ({options})")


def adapt(
    mapping: Mapping, source: Path, landing: Path, mapping_path: Path, fmt: str = "parquet"
) -> AdapterResult:
    """Convert `source` with `mapping` into canonical files under `landing`; return what was done."""
    started = time.perf_counter()
    names = header_names(source, mapping.source)
    check_columns(mapping, names, source, mapping_path)
    check_plans(mapping, mapping_path)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TEMP TABLE src AS {sql.source_sql(str(source), mapping, names)}")
    if mapping.shape == "event_log":
        con.execute(f"CREATE TEMP TABLE updates AS {sql.event_log_updates_sql(mapping)}")
        con.execute(f"CREATE TEMP TABLE tickets AS {sql.event_log_tickets_sql(mapping)}")
        con.execute(f"CREATE TEMP TABLE events AS {sql.event_log_events_sql(mapping)}")
        without_id = con.execute("SELECT count(*) FROM updates WHERE ticket_id IS NULL").fetchone()[0]
    else:
        con.execute(f"CREATE TEMP TABLE tickets AS {sql.row_tickets_sql(mapping)}")
        con.execute(f"CREATE TEMP TABLE events AS {sql.row_events_sql(mapping)}")
        without_id = con.execute("SELECT count(*) FROM tickets WHERE ticket_id IS NULL").fetchone()[0]
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
        f"({', '.join(sql.lit(c) for c in sorted(known))})"
    )
    # The partitions holding its tickets: a ticket's month is its creation month in its client's zone.
    months = [r[0].isoformat() for r in con.execute(
        """SELECT DISTINCT CAST(date_trunc('month', timezone(c.timezone, t.ts)) AS DATE) AS m
           FROM (SELECT client_id, try_cast(created_at AS TIMESTAMPTZ) AS ts FROM tickets) t
           JOIN clients c USING (client_id) WHERE t.ts IS NOT NULL ORDER BY m"""
    ).fetchall()]
    ticket_cols = ", ".join(sql.ident(c) for c in [*mapping.tickets, *mapping.extra])
    ticket_id = "" if "ticket_id" in mapping.tickets else "ticket_id, "
    files = {
        "clients": landing / "clients" / f"{mapping.name}_clients.csv",
        "tickets": landing / "tickets" / f"{mapping.name}_tickets.{fmt}",
        "ticket_events": landing / "ticket_events" / f"{mapping.name}_ticket_events.{fmt}",
    }
    _write(con, f"SELECT {', '.join(CLIENT_COLUMNS)} FROM clients ORDER BY client_id",
           files["clients"], "csv")
    _write(con, f"SELECT {ticket_id}{ticket_cols}, source_line, source_updates FROM tickets"
                " ORDER BY source_line", files["tickets"], fmt)
    if con.execute("SELECT count(*) FROM events").fetchone()[0]:
        _write(con, f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY ticket_id, event_at, event_id",
               files["ticket_events"], fmt)
    else:
        # No dates to make events of: an empty file would only be rejected (its columns have no
        # type); summary() says what is missing instead.
        del files["ticket_events"]
    counts = con.execute(
        "SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM tickets),"
        " (SELECT count(*) FROM events), (SELECT count(*) FROM clients)"
    ).fetchone()
    by_type = dict(con.execute(
        "SELECT event_type || '/' || actor_type, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall())
    result = AdapterResult(
        mapping=str(mapping_path), source=str(source), source_rows=counts[0], tickets=counts[1],
        events=counts[2], clients=counts[3], files={k: str(v) for k, v in files.items()},
        partitions_start=start, as_of=last.isoformat(), months=months, events_by_type=by_type,
        unmapped_values=_unmapped(con, mapping), rows_without_ticket_id=without_id,
    )
    con.close()
    result.seconds = round(time.perf_counter() - started, 2)
    # Not a landing file (no entity prefix, .json): the pipeline ignores it; people read it.
    (landing / f"{mapping.name}_adapter.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result
