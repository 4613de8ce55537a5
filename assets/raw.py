"""Raw layer: landing files loaded as delivered (text), with file, row and load time on every row."""


import time

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from assets.landing import LandingFile, accepted_files, canonical_select, landing_files
from orchestration.partitions import (
    MonthResult,
    check_each_month,
    for_each_month,
    monthly_partitions,
    run_metadata,
    single_run,
)
from orchestration.resources import PipelineSettings
from policy.paths import partitions_start
from warehouse.concurrency import side_by_side
from warehouse.schema import ensure_warehouse
from warehouse.sqlquote import sql_literal


def _unchanged(settings: PipelineSettings, file: LandingFile, size: int, modified_ns: int | None
               ) -> str | None:
    """Why the landing file cannot be read as the delivery `file` records (None when it can)."""
    path = settings.landing / file.path
    if path.is_symlink():
        return "is now a symbolic link"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "is no longer in the landing folder"
    if stat.st_size != size or (modified_ns is not None and stat.st_mtime_ns != modified_ns):
        return "has changed since it was registered (the next landing scan records the new content)"
    return None


def _insert_sql(entity: str, file: LandingFile, settings: PipelineSettings) -> str:
    """The INSERT of every row of a delivered file into raw (tickets with their month)."""
    select = canonical_select(file, settings.landing / file.path)
    if entity == "tickets":
        select = _TICKET_MONTH.format(
            zones=TICKET_ZONES, select=select, file_id=sql_literal(file.file_id),
            path=sql_literal(file.path), start=partitions_start(),
            month=ticket_month_sql("src.created_at", "zones.tz", "manifest.max_month"),
        )
    return f"INSERT INTO raw.{entity} BY NAME {select}"


def _load_new_files(
    context: dg.AssetExecutionContext,
    duckdb_resource: DuckDBResource,
    settings: PipelineSettings,
    entity: str,
) -> tuple[int, int]:
    """Load accepted files not yet (fully) in raw; return (files loaded, rows).

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
        # Rows the file reader set aside are in quality.quarantine, not in raw.
        counts = con.execute(
            f"""SELECT f.file_id, f.path, f.data_rows - len(coalesce(f.rejected_rows, [])),
                       (SELECT count(*) FROM raw.{entity} r
                        WHERE r._file_id = f.file_id AND r._source_file = f.path),
                       f.bytes, f.modified_ns
                FROM raw.landing_files f WHERE f.entity = ? AND f.status = 'accepted'""",
            [entity],
        ).fetchall()
    expected = {(file_id, path): rows for file_id, path, rows, loaded, _, _ in counts
                if rows != loaded}
    stats = {(file_id, path): (size, ns) for file_id, path, _, _, size, ns in counts}
    todo = []
    for f in candidates:
        if (f.file_id, f.path) not in expected:
            continue
        problem = _unchanged(settings, f, *stats[(f.file_id, f.path)])
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
        con.execute(_insert_sql(entity, file, settings))
        con.execute("COMMIT")
        return time.perf_counter() - file_started

    seconds = side_by_side(duckdb_resource, todo, load)
    for file, took in zip(todo, seconds, strict=True):
        context.log.info(f"raw.{entity}: {file.path} loaded, {expected[(file.file_id, file.path)]}"
                         f" row(s) in {took:.1f} s")
    rows = sum(expected[(f.file_id, f.path)] or 0 for f in todo)
    context.log.info(f"raw.{entity}: {len(todo)} of {len(candidates)} accepted file(s) needed"
                     f" loading, {rows} row(s) in {time.perf_counter() - started:.1f} s")
    return len(todo), rows


@dg.asset(group_name="raw", kinds={"duckdb"}, deps=[landing_files])
def raw_clients(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Client contract rows exactly as delivered (effective-dated), loaded once per file."""
    files, rows = _load_new_files(context, duckdb, settings, "clients")
    with duckdb.get_connection() as con:
        total = con.execute("SELECT count(*) FROM raw.clients").fetchone()[0]
    return dg.MaterializeResult(
        metadata={"files_loaded": files, "rows_loaded": rows, "row_count": total})


@dg.asset(group_name="raw", kinds={"duckdb"}, deps=[landing_files])
def raw_review_decisions(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Human review decisions exactly as delivered, loaded once per file."""
    files, rows = _load_new_files(context, duckdb, settings, "review_decisions")
    with duckdb.get_connection() as con:
        total = con.execute("SELECT count(*) FROM raw.review_decisions").fetchone()[0]
    return dg.MaterializeResult(
        metadata={"files_loaded": files, "rows_loaded": rows, "row_count": total})


@dg.asset(group_name="raw", kinds={"duckdb"}, deps=[landing_files])
def raw_ticket_events(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Ticket events as delivered, loaded once per delivered file."""
    files, rows = _load_new_files(context, duckdb, settings, "ticket_events")
    with duckdb.get_connection() as con:
        total = con.execute("SELECT count(*) FROM raw.ticket_events").fetchone()[0]
    return dg.MaterializeResult(
        metadata={"files_loaded": files, "rows_loaded": rows, "row_count": total}
    )


@dg.asset(group_name="raw", kinds={"duckdb"}, deps=[landing_files])
def raw_time_entries(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Time entries as delivered, loaded once per delivered file."""
    files, rows = _load_new_files(context, duckdb, settings, "time_entries")
    with duckdb.get_connection() as con:
        total = con.execute("SELECT count(*) FROM raw.time_entries").fetchone()[0]
    return dg.MaterializeResult(
        metadata={"files_loaded": files, "rows_loaded": rows, "row_count": total}
    )


# The zone a ticket's month is judged in: its client's latest valid zone (raw, so the month does
# not depend on which contract rows staging accepts). Shared with staging's out-of-range rule.
TICKET_ZONES = """SELECT client_id, arg_max(timezone, try_cast(valid_from AS DATE)) AS tz
    FROM raw.clients
    WHERE timezone IN (SELECT name FROM pg_timezone_names())
    GROUP BY client_id"""


def ticket_month_sql(created: str, tz: str, max_month: str) -> str:
    """SQL: the month a ticket row belongs to, or NULL when it cannot be placed by its created_at.

    Its month in its client's zone, when that month is a partition (not before
    MSP_PARTITIONS_START) and not later than the month after its file's last month inside the
    pipeline's window (`max_month`, recorded once when the file landed, so the month of a row
    never changes between runs). A year 1900 or 2200 is out.
    """
    month = f"date_trunc('month', timezone(coalesce({tz}, 'UTC'), try_cast({created} AS TIMESTAMPTZ)))"
    return (f"CASE WHEN {month} >= DATE '{partitions_start()}'"
            f" AND {month} <= {max_month} + INTERVAL 1 MONTH THEN {month} END")


# A ticket's month is judged in its client's zone; rows whose time cannot be read, or lies outside
# the pipeline's months, stay in the first month of their file that is a partition (staging
# quarantines them there), so no delivered row is dropped or parked in a month that does not exist.
_TICKET_MONTH = """
WITH zones AS ({zones}), src AS ({select}), manifest AS (
    SELECT greatest(coalesce(min_month, date_trunc('month', first_seen_at)),
                    DATE '{start}')::DATE AS fallback_month, max_month
    FROM raw.landing_files WHERE file_id = {file_id} AND path = {path}
)
SELECT src.*, coalesce({month}, manifest.fallback_month)::DATE AS _partition_month
FROM src CROSS JOIN manifest LEFT JOIN zones USING (client_id)
"""


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
    _load_new_files(context, duckdb, settings, "tickets")

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

    return dg.MaterializeResult(metadata=run_metadata(for_each_month(context, duckdb, load)))


@dg.asset_check(asset=raw_tickets, blocking=True, partitions_def=monthly_partitions)
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
