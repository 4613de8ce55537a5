"""Business calendars: every client's open intervals in UTC, with public holidays and closures."""

import sys
import time
from datetime import date, timedelta

import dagster as dg
import duckdb
import holidays
from dagster_duckdb import DuckDBResource

from assets.staging import staging_clients
from logic import business_time
from logic.business_time import Calendar, build_open_intervals
from orchestration.resources import PipelineSettings
from policy.config import PolicyConfig
from policy.hours import parse_hours_spec
from policy.paths import partitions_start
from warehouse import digests
from warehouse.schema import ensure_warehouse

# Emergencies of clients with after-hours coverage run on this always-open calendar.
ALWAYS_OPEN_ID = "24x7"
# Calendars reach this far past the as-of date, so that pending tickets get a due time.
HORIZON_DAYS = 120


def client_calendars(con: duckdb.DuckDBPyConnection, policy: PolicyConfig) -> list[Calendar]:
    """One calendar row per contract row (effective-dated), plus the shared 24x7 calendar."""
    rows = con.execute(
        """SELECT client_id, timezone, country, subdivision, business_hours, closures,
                  valid_from, valid_to
           FROM staging.clients ORDER BY client_id, valid_from"""
    ).fetchall()
    shared_closures = [c.date for c in policy.response.extra_closures]
    calendars = [Calendar.always_open(ALWAYS_OPEN_ID)]
    for client_id, tz, country, subdivision, hours, closures, valid_from, valid_to in rows:
        calendars.append(
            Calendar(
                calendar_id=client_id,
                timezone=tz,
                weekly_hours=parse_hours_spec(hours) if hours else policy.business_hours,
                country=country,
                subdivision=subdivision if country else None,
                valid_from=valid_from,
                valid_to=valid_to,
                extra_closures=[*closures, *shared_closures],
            )
        )
    return calendars


# Inserted into the table as its contract declares it (warehouse/tables.py), not replaced by a
# table of whatever types and nullability the query has.
_CLOSURE_NAMES = """
INSERT INTO staging.calendar_closures BY NAME
SELECT c.calendar_id, h.day, h.name
FROM bt_calendars c
JOIN bt_holidays h
  ON h.country = c.country AND h.subdivision IS NOT DISTINCT FROM c.subdivision
 AND h.day >= c.valid_from AND (c.valid_to IS NULL OR h.day < c.valid_to)
UNION
SELECT c.calendar_id, x.day, 'closure' AS name
FROM bt_calendars c JOIN bt_closures x USING (row_id)
"""


@dg.asset(group_name="staging", kinds={"duckdb"}, deps=[staging_clients])
def business_calendars(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Open intervals per client calendar (zone, weekly hours, holidays, closures) and the 24x7 one."""
    policy = settings.policy()
    as_of = settings.as_of_timestamp().date()
    started = time.perf_counter()
    with duckdb.get_connection() as con:
        ensure_warehouse(con)
        calendars = client_calendars(con, policy)
        first = min([c.valid_from for c in calendars[1:]], default=as_of)
        start = min(first, date.fromisoformat(partitions_start())) - timedelta(days=31)
        end = as_of + timedelta(days=HORIZON_DAYS)
        # Rebuilt only when a calendar, the covered span or the code changed (warehouse.digests).
        inputs = digests.digest(calendars, start, end, holidays.__version__,
                                digests.code_digest(business_time, sys.modules[__name__]))
        rebuilt = not digests.unchanged(con, "business_calendars", inputs, lambda: _built(con))
        if rebuilt:
            build_open_intervals(con, calendars, start, end, table="open_intervals")
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM staging.calendar_intervals")
            con.execute("INSERT INTO staging.calendar_intervals BY NAME SELECT * FROM open_intervals")
            con.execute("DELETE FROM staging.calendar_intervals_coverage")
            con.execute("INSERT INTO staging.calendar_intervals_coverage BY NAME"
                        " SELECT * FROM open_intervals_coverage")
            con.execute("DELETE FROM staging.calendar_closures")
            con.execute(_CLOSURE_NAMES)
            con.execute("COMMIT")
            digests.remember(con, "business_calendars", inputs, _built(con))
        intervals, closures = con.execute(
            "SELECT (SELECT count(*) FROM staging.calendar_intervals),"
            " (SELECT count(*) FROM staging.calendar_closures)").fetchall()[0]
    context.log.info(f"{len(calendars)} calendars, {intervals} open intervals {start} to {end},"
                     f" {closures} closed days in {time.perf_counter() - started:.1f} s"
                     f"{'' if rebuilt else ' (unchanged since the last run: not rebuilt)'}")
    return dg.MaterializeResult(
        metadata={
            "calendars": len({c.calendar_id for c in calendars}),
            "open_intervals": intervals,
            "closed_days": closures,
            "covered_from": start.isoformat(),
            "covered_to": end.isoformat(),
            "rebuilt": rebuilt,
        }
    )


def _built(con: duckdb.DuckDBPyConnection) -> str:
    """What business_calendars wrote."""
    return digests.tables_digest(con, "SELECT * FROM staging.calendar_intervals",
                                 "SELECT * FROM staging.calendar_intervals_coverage",
                                 "SELECT * FROM staging.calendar_closures")
