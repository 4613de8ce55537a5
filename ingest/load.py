"""Loading an accepted landing file into raw: the INSERT, and tickets placed in their month."""

from pathlib import Path

from ingest.files import LandingFile
from ingest.reader import canonical_select
from policy.paths import partitions_start
from warehouse.sqlquote import sql_literal

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


def load_problem(landing: Path, file: LandingFile, size: int, modified_ns: int | None) -> str | None:
    """Why the landing file cannot be read as the delivery `file` records (None when it can)."""
    path = landing / file.path
    if path.is_symlink():
        return "is now a symbolic link"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "is no longer in the landing folder"
    if stat.st_size != size or (modified_ns is not None and stat.st_mtime_ns != modified_ns):
        return "has changed since it was registered (the next landing scan records the new content)"
    return None


def insert_sql(entity: str, file: LandingFile, landing: Path) -> str:
    """The INSERT of every row of a delivered file into raw (tickets with their month)."""
    select = canonical_select(file, landing / file.path)
    if entity == "tickets":
        select = _TICKET_MONTH.format(
            zones=TICKET_ZONES, select=select, file_id=sql_literal(file.file_id),
            path=sql_literal(file.path), start=partitions_start(),
            month=ticket_month_sql("src.created_at", "zones.tz", "manifest.max_month"),
        )
    return f"INSERT INTO raw.{entity} BY NAME {select}"
