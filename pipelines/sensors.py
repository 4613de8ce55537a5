"""Landing sensor: when files land, run the months they touch (and only those), once."""

import hashlib
import json
import os
import time
from pathlib import Path

import dagster as dg
import duckdb

from ingest.files import FileRejected, discover
from ingest.reader import peek_select
from orchestration.resources import PipelineSettings
from pipelines.jobs import refresh_month_job
from warehouse.contract import TIME_COLUMN

# A file modified this recently may still be being copied: look again at the next tick.
SETTLE_SECONDS = float(os.environ.get("MSP_LANDING_SETTLE_SECONDS", "30"))
# A month is judged in the client's zone (UTC-12 to UTC+14), the files are read in UTC: a ticket
# within this margin of a month boundary may belong to either month, so both are run.
_ZONE_MARGIN = "INTERVAL 14 HOUR"


def _signature(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _relation(con: duckdb.DuckDBPyConnection, path: Path, entity: str, landing: Path) -> str:
    """The file as a SQL relation of its canonical columns (text), as the raw layer reads it."""
    return f"({peek_select(con, landing, path, entity)})"


def _ticket_months(relation: str) -> str:
    return f"""SELECT DISTINCT CAST(date_trunc('month', ts + d) AS DATE) AS month
               FROM (SELECT try_cast(created_at AS TIMESTAMPTZ) AS ts FROM {relation}),
                    (VALUES (-{_ZONE_MARGIN}), (INTERVAL 0 HOUR), ({_ZONE_MARGIN})) m(d)
               WHERE ts IS NOT NULL"""


def months_touched(
    landing: Path, new_files: list[tuple[Path, str]], earlier_versions: bool = True
) -> set[str]:
    """Months (YYYY-MM-01) whose results the new files can change, read with DuckDB from the files.

    Tickets: their creation months, and (`earlier_versions`) those of the landed earlier versions
    of the same tickets. Events, time entries and review decisions: the creation months
    of the tickets they name, looked up in the landed ticket files. Contracts: every month from the
    earliest valid_from on that the landed ticket files cover.
    """
    months: set[str] = set()
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        all_tickets = [p for p, e in discover(landing) if e == "tickets"]
        readable = []
        for p in all_tickets:
            try:
                readable.append(_relation(con, p, "tickets", landing))
            except (duckdb.Error, FileRejected):
                continue  # rejected by landing_files: it places no ticket in a month
        ticket_rel = " UNION ALL ".join(
            f"SELECT ticket_id, created_at FROM {relation}" for relation in readable
        ) or "SELECT NULL::VARCHAR AS ticket_id, NULL::VARCHAR AS created_at WHERE false"
        for path, entity in new_files:
            try:
                relation = _relation(con, path, entity, landing)
                if entity == "tickets" and not earlier_versions:
                    sql = _ticket_months(relation)
                elif entity == "tickets":
                    # Also the months of earlier versions of its tickets: a corrected created_at
                    # moves a ticket, and its old month must stop counting it.
                    sql = _ticket_months(
                        f"""(SELECT created_at FROM {relation} UNION ALL
                             SELECT t.created_at FROM ({ticket_rel}) t
                             WHERE trim(t.ticket_id) IN (SELECT trim(ticket_id) FROM {relation}))"""
                    )
                elif entity == "clients":
                    sql = f"""SELECT CAST(m.month AS DATE) FROM ({_ticket_months(f'({ticket_rel})')}) m
                              WHERE m.month >= (SELECT min(date_trunc('month',
                                                    try_cast({TIME_COLUMN['clients']} AS DATE)))
                                                FROM {relation})"""
                else:
                    sql = _ticket_months(
                        f"""(SELECT t.created_at FROM ({ticket_rel}) t
                             WHERE trim(t.ticket_id) IN (SELECT trim(ticket_id) FROM {relation}))"""
                    )
                months |= {row[0].isoformat() for row in con.execute(sql).fetchall()}
            except (duckdb.Error, FileRejected):
                # An unreadable file is rejected by landing_files; it changes no month.
                continue
    return months


def _run_key(month: str, files: dict[str, str]) -> str:
    digest = hashlib.sha256(json.dumps(sorted(files.items())).encode()).hexdigest()[:16]
    return f"landing:{month}:{digest}"


@dg.sensor(
    name="landing_files_sensor",
    job=refresh_month_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="New or changed files in the landing folder: run the (past) months they touch.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, settings: PipelineSettings
) -> dg.SensorResult | dg.SkipReason:
    """Compare the landing folder with the cursor (path -> size:mtime) and request month runs."""
    started = time.perf_counter()
    landing = settings.landing
    if not landing.is_dir():
        return dg.SkipReason(f"landing folder {landing} does not exist")
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    now = time.time()
    current, new_files, changed = {}, [], {}
    for path, entity in discover(landing):
        relative = path.relative_to(landing).as_posix()
        signature = _signature(path)
        if seen.get(relative) == signature:
            current[relative] = signature
        elif now - path.stat().st_mtime >= SETTLE_SECONDS:
            current[relative] = signature
            new_files.append((path, entity))
            changed[relative] = signature
        elif relative in seen:
            current[relative] = seen[relative]  # still being written: keep the old signature
    if not new_files:
        return dg.SkipReason("no new or changed files in the landing folder")
    touched = months_touched(landing, new_files)
    existing = set(refresh_month_job.partitions_def.get_partition_keys())
    # Months holding only earlier versions run last (runs are queued one at a time, in order):
    # the month a ticket moved to must have staged it before its old month is recomputed.
    own = months_touched(landing, [f for f in new_files if f[1] == "tickets"],
                         earlier_versions=False) if len(touched) > 1 else touched
    months = sorted(touched & existing, key=lambda m: (m not in own, m))
    later = sorted(touched - existing)
    context.log.info(
        f"{len(new_files)} new or changed file(s) touch {len(touched)} month(s); running"
        f" {', '.join(m[:7] for m in months) or 'none'}"
        + (f"; not yet closed: {', '.join(m[:7] for m in later)}" if later else "")
        + f" ({time.perf_counter() - started:.1f} s)"
    )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=_run_key(month, changed), partition_key=month,
                          tags={"msp/trigger": "landing"})
            for month in months
        ],
        cursor=json.dumps(current, sort_keys=True),
    )

