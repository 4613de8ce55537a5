"""Raw layer: landing files loaded as delivered (text), with file, row and load time on every row."""


import time

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from ingest.files import LandingFile, walk
from ingest.load import insert_sql, load_problem
from ingest.reader import accepted_files
from ingest.register import register_files, register_links
from orchestration.partitions import (
    MonthResult,
    check_each_month,
    for_each_month,
    monthly_partitions,
    run_metadata,
    single_run,
)
from orchestration.resources import PipelineSettings
from orchestration.sql_checks import sql_check
from warehouse.concurrency import side_by_side
from warehouse.schema import ensure_warehouse
from warehouse.sqlquote import sql_list


@dg.asset(group_name="raw", kinds={"duckdb"})
def landing_files(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Register every delivered landing file by content hash; a re-delivered file is a duplicate."""
    landing = settings.landing
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist (set MSP_LANDING)")
    new: dict[str, int] = {}
    started = time.perf_counter()
    with duckdb.get_connection() as con:
        ensure_warehouse(con)
    found, links = walk(landing)
    registered = register_links(duckdb, landing, links) + register_files(duckdb, landing, found)
    # A line per new file, logged with the summary as one event (each event is a write to the
    # run's event log: a first ingest registers about 50 files); a refused file's reason is an
    # event of its own, at its level.
    lines = [f"landing: {len(found)} file(s) in {landing}"]
    for i, (path, status, reason) in enumerate(registered, start=1):
        new[status] = new.get(status, 0) + 1
        lines.append(f"landing: {path} {status} ({i} new file(s) so far)")
        if status == "rejected":
            context.log.error(reason)
        elif status == "duplicate":
            context.log.warning(reason)
    with duckdb.get_connection() as con:
        totals = con.execute(
            "SELECT status, count(*), sum(data_rows) FROM raw.landing_files GROUP BY status"
        ).fetchall()
        read_rejects, warnings = con.execute(
            "SELECT (SELECT count(*) FROM quality.quarantine WHERE stage = 'landing_files'),"
            " (SELECT count(*) FROM quality.warnings WHERE stage = 'landing_files')"
        ).fetchone()
    lines.append(f"landing: {sum(new.values())} new file(s) {new} in"
                 f" {time.perf_counter() - started:.1f} s")
    context.log.info("\n".join(lines))
    return dg.MaterializeResult(
        metadata={
            "new_files": dg.MetadataValue.json(new),
            "files_by_status": dg.MetadataValue.json({s: n for s, n, _ in totals}),
            "accepted_rows": int(sum(r or 0 for s, _, r in totals if s == "accepted")),
            "quarantined_at_landing": read_rejects,
            "file_warnings": warnings,
            "landing_dir": str(landing),
        }
    )


def _load_new_files(
    context: dg.AssetExecutionContext,
    duckdb_resource: DuckDBResource,
    settings: PipelineSettings,
    entity: str,
) -> tuple[int, int, list[str]]:
    """Load accepted files not yet (fully) in raw; return (files loaded, rows, log lines).

    The log lines (a line per file loaded, then the total) are for the caller to log as one
    event: each event is a write to the run's event log, and a first ingest loads about 50 files.

    Raw is the record: a file is read from landing once, when it is loaded, and never again, so
    a landing file archived or deleted after that changes nothing. A file that changed or went
    away before it was loaded is not read (under a record of other content); it is logged.

    A file's insert keeps one core busy (the reader numbers rows in order, and compressing the
    rows is most of the work), so files load side by side, each in its own transaction.
    """
    started = time.perf_counter()
    with duckdb_resource.get_connection() as con:
        ensure_warehouse(con)
        candidates = accepted_files(con, entity)
        # Rows the file reader set aside are in quality.quarantine, not in raw. A file's loaded
        # rows are recorded when it is loaded (loaded_rows): counting every file's rows in raw
        # was a pass over the whole table per run (8.7M events at 1M tickets).
        counts = con.execute(
            """SELECT file_id, path, data_rows - len(coalesce(rejected_rows, [])), loaded_rows,
                      bytes, modified_ns
               FROM raw.landing_files WHERE entity = ? AND status = 'accepted'""",
            [entity],
        ).fetchall()
        unrecorded = [(file_id, path) for file_id, path, _, loaded, _, _ in counts if loaded is None]
        # Files loaded before the count was recorded (or never loaded): counted once, and recorded.
        found = _record_loaded(con, entity, unrecorded)
        counts = [(file_id, path, rows, found.get((file_id, path), loaded), size, ns)
                  for file_id, path, rows, loaded, size, ns in counts]
    expected = {(file_id, path): rows for file_id, path, rows, loaded, _, _ in counts
                if rows != loaded}
    stats = {(file_id, path): (size, ns) for file_id, path, _, _, size, ns in counts}
    todo = []
    for f in candidates:
        if (f.file_id, f.path) not in expected:
            continue
        problem = load_problem(settings.landing, f, *stats[(f.file_id, f.path)])
        if problem:
            context.log.warning(f"raw.{entity}: {f.path} {problem}; its rows are not loaded")
        else:
            todo.append(f)

    def load(con: duckdb.DuckDBPyConnection, file: LandingFile) -> float:
        # Delete-then-insert by file: a half-loaded file from an interrupted run is redone whole.
        file_started = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM raw.{entity} WHERE _file_id = ? AND _source_file = ?",
                    [file.file_id, file.path])
        con.execute(insert_sql(entity, file, settings.landing))
        con.execute("COMMIT")
        return time.perf_counter() - file_started

    seconds = side_by_side(duckdb_resource, todo, load)
    if todo:
        with duckdb_resource.get_connection() as con:
            _record_loaded(con, entity, [(f.file_id, f.path) for f in todo])
    lines = [f"raw.{entity}: {file.path} loaded, {expected[(file.file_id, file.path)]}"
             f" row(s) in {took:.1f} s" for file, took in zip(todo, seconds, strict=True)]
    rows = sum(expected[(f.file_id, f.path)] or 0 for f in todo)
    lines.append(f"raw.{entity}: {len(todo)} of {len(candidates)} accepted file(s) needed"
                 f" loading, {rows} row(s) in {time.perf_counter() - started:.1f} s")
    return len(todo), rows, lines


def _record_loaded(
    con: duckdb.DuckDBPyConnection, entity: str, files: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Count the raw rows of `files` ((file id, path)), record them as loaded_rows, return them."""
    if not files:
        return {}
    # Named as a list, so DuckDB reads only these files' row groups (raw is stored file by file).
    ids = sql_list(sorted({file_id for file_id, _ in files}))
    recorded = con.execute(
        f"""UPDATE raw.landing_files f SET loaded_rows = coalesce(c.n, 0), loaded_at = now()
            FROM (SELECT file_id, path FROM raw.landing_files WHERE file_id IN {ids}) k
            LEFT JOIN (SELECT _file_id, _source_file, count(*) AS n FROM raw.{entity}
                       WHERE _file_id IN {ids} GROUP BY ALL) c
                   ON c._file_id = k.file_id AND c._source_file = k.path
            WHERE f.file_id = k.file_id AND f.path = k.path AND f.entity = $entity
            RETURNING f.file_id, f.path, f.loaded_rows""",
        {"entity": entity},
    ).fetchall()
    wanted = set(files)
    return {(i, p): n for i, p, n in recorded if (i, p) in wanted}


def _raw_asset(entity: str, description: str) -> dg.AssetsDefinition:
    """The unpartitioned raw asset `raw_<entity>`: new accepted files loaded, each once."""

    @dg.asset(name=f"raw_{entity}", description=description, group_name="raw", kinds={"duckdb"},
              deps=[landing_files])
    def _raw(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
    ) -> dg.MaterializeResult:
        files, rows, lines = _load_new_files(context, duckdb, settings, entity)
        context.log.info("\n".join(lines))
        with duckdb.get_connection() as con:
            total = con.execute(f"SELECT count(*) FROM raw.{entity}").fetchone()[0]
        return dg.MaterializeResult(
            metadata={"files_loaded": files, "rows_loaded": rows, "row_count": total})

    return _raw


raw_clients = _raw_asset(
    "clients", "Client contract rows exactly as delivered (effective-dated), loaded once per file.")
raw_review_decisions = _raw_asset(
    "review_decisions", "Human review decisions exactly as delivered, loaded once per file.")
raw_ticket_events = _raw_asset(
    "ticket_events", "Ticket events as delivered, loaded once per delivered file.")
raw_time_entries = _raw_asset(
    "time_entries", "Time entries as delivered, loaded once per delivered file.")


@dg.asset(
    group_name="raw",
    kinds={"duckdb"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    deps=[landing_files, raw_clients],
)
def raw_tickets(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Tickets as delivered, every version, partitioned by creation month in the client's zone.

    Each delivered file is loaded once, whole (every month it holds), when a run first meets it:
    raw is the record, so landing files are not read again for later months or runs. A ticket's
    month is judged with its client's zone as the contracts loaded by then say.
    """
    *_, loaded = _load_new_files(context, duckdb, settings, "tickets")

    def load(con: DuckDBPyConnection, month: str) -> MonthResult:
        started = time.perf_counter()
        files = accepted_files(con, "tickets", month)
        rows, tickets = con.execute(
            "SELECT count(*), count(DISTINCT ticket_id) FROM raw.tickets WHERE _partition_month = ?",
            [month],
        ).fetchone()
        return MonthResult(
            {"row_count": rows, "distinct_tickets": tickets, "files_read": len(files)},
            f"raw.tickets {month[:7]}: {rows} row(s), {tickets} ticket(s) from {len(files)} file(s)"
            f" in {time.perf_counter() - started:.1f} s",
        )

    return dg.MaterializeResult(metadata=run_metadata(
        for_each_month(context, duckdb, load, preface=loaded)))


@sql_check(raw_tickets)
def raw_tickets_rows_unique(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """No delivered row is loaded twice: (file, row) is unique within the partition."""

    def check(con: DuckDBPyConnection, month: str) -> dg.AssetCheckResult:
        doubled = con.execute(
            "SELECT count(*) FROM (SELECT _file_id, _source_row FROM raw.tickets"
            " WHERE _partition_month = ? GROUP BY ALL HAVING count(*) > 1)",
            [month],
        ).fetchone()[0]
        return dg.AssetCheckResult(passed=doubled == 0, metadata={"doubled_rows": doubled})

    return check_each_month(context, duckdb, check)
