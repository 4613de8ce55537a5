"""Staging a month's tickets: the latest delivered version, moved tickets, warnings, stale copies."""

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from ingest.load import TICKET_ZONES, ticket_month_sql
from orchestration.partitions import MonthResult
from policy.config import PolicyConfig
from policy.sql import register_policy
from staging_sql.rules import DELIVERY_ORDER
from warehouse.schema import prepare_session
from warehouse.sqlquote import month_in, sql_list
from warehouse.writes import first_failure, mark_judged, quarantine_replace, warnings_replace

# Accepted tickets that deserve a caveat. `ticket_rows` holds the month's typed rows.
TICKET_WARNINGS = """
SELECT _source_file AS source_file, _source_row AS source_row, ticket_id AS record_key,
       client_id, 'final_priority' AS field, final_priority_raw AS raw_value,
       'unknown_priority' AS reason_code,
       'final_priority is not in the policy priority_map; the ticket is kept without it' AS reason
FROM staging.tickets
WHERE month = $month AND final_priority IS NULL AND NOT blank(final_priority_raw)
UNION ALL
SELECT _source_file, _source_row, ticket_id, client_id, 'triage_priority', triage_priority_raw,
       'unknown_priority',
       'triage_priority is not in the policy priority_map; the ticket is kept without it'
FROM staging.tickets
WHERE month = $month AND triage_priority IS NULL AND NOT blank(triage_priority_raw)
UNION ALL
SELECT _source_file, _source_row, ticket_id, client_id, 'description', left(description, 200),
       'long_text', 'description is ' || length(description) || ' characters; kept whole'
FROM staging.tickets WHERE month = $month AND length(description) > 65536
UNION ALL
-- A later version naming another client moves the ticket to that client: say so, naming both.
-- Only tickets delivered more than once this month are looked at (a cheap predicate).
SELECT DISTINCT t._source_file, t._source_row, t.ticket_id, t.client_id, 'client_id', t.client_id,
       'client_changed',
       'ticket ' || t.ticket_id || ' was delivered for client ' || trim(r.client_id) || ' ('
       || r._source_file || ' row ' || r._source_row || ') and now for client ' || t.client_id
       || '; the later version is used, so the ticket counts for ' || t.client_id
FROM staging.tickets t
JOIN raw.tickets r ON trim(r.ticket_id) = t.ticket_id AND r._partition_month = $month
WHERE t.month = $month AND t.versions_delivered > 1 AND trim(r.client_id) <> t.client_id
UNION ALL
-- One file holding a ticket twice with the same updated_at but different content is ambiguous.
SELECT _source_file, _source_row, trim(ticket_id), trim(client_id), 'ticket_id', ticket_id,
       'conflicting_duplicate',
       'ticket ' || trim(ticket_id) || ' is delivered again at row ' || last_row
       || ' of the same file with the same updated_at and different content; row '
       || last_row || ' is used'
FROM (
    SELECT r.*, max(_source_row) OVER w AS last_row,
           count(DISTINCT md5(concat_ws('|', client_id, requester, created_at, subject, description,
                 category, source, declared_emergency, triage_priority, final_priority,
                 parent_ticket_id, affected_users, status, resolved_at))) OVER w AS variants
    FROM ticket_rows r WHERE reason_code IS NULL
    WINDOW w AS (PARTITION BY trim(ticket_id), _source_file, updated_at)
)
WHERE variants > 1 AND _source_row <> last_row
"""


# Tables holding one row per ticket (or its children) under the ticket's month.
TICKET_MONTH_TABLES = (
    "staging.tickets", "staging.ticket_events", "staging.time_entries", "marts.ticket_facts",
    "marts.scope_hits", "marts.emergency_readings", "marts.out_of_scope",
)


def delete_stale_copies(duckdb_resource: DuckDBResource, months: list[str]) -> tuple[int, list[str]]:
    """Delete the rows, under any other month, of tickets staged in `months`.

    Returns how many rows, and the months outside `months` they were deleted from: those
    months' aggregates (marts.client_month, the reports) still count the tickets, so they are
    recorded in quality.stale_months until they are staged again.
    """
    with duckdb_resource.get_connection() as con:
        prepare_session(con)
        con.execute("BEGIN TRANSACTION")
        deleted = [
            row[0]
            for table in TICKET_MONTH_TABLES
            for row in con.execute(
                f"""DELETE FROM {table} USING (
                        SELECT ticket_id, month FROM staging.tickets
                        WHERE month IN {sql_list(months)}) AS latest
                    WHERE {table}.ticket_id = latest.ticket_id AND {table}.month <> latest.month
                    RETURNING {table}.month"""
            ).fetchall()
        ]
        stale = sorted({m.isoformat() for m in deleted} - set(months))
        con.execute(
            "INSERT INTO quality.stale_months SELECT CAST(unnest($months) AS DATE), now()"
            " WHERE len($months) > 0",
            {"months": stale},
        )
        con.execute("COMMIT")
    return len(deleted), stale


# The partition of the latest delivered version of every ticket of the run's months delivered
# under more than one partition month (only such a ticket can have moved): one pass over the raw
# tickets per run, where each month used to pass over all of them for its own tickets. Only the
# run's months' tickets are grouped (a month joins its own tickets to it): at 1M tickets a
# one-month run grouped every delivered ticket, 0.4 s of CPU, 0.2 s now.
_LATEST_PARTITION = """CREATE TABLE {table} AS
SELECT ticket_id, _partition_month FROM (
    SELECT trim(r.ticket_id) AS ticket_id, r._partition_month,
           row_number() OVER (
               PARTITION BY trim(r.ticket_id)
               ORDER BY try_cast(r.updated_at AS TIMESTAMPTZ) DESC NULLS LAST,
                        f.first_seen_at DESC, r._source_file DESC, r._source_row DESC) AS version
    FROM raw.tickets r
    JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
    WHERE trim(r.ticket_id) IN (
        SELECT trim(ticket_id) FROM raw.tickets WHERE NOT blank(ticket_id)
          AND trim(ticket_id) IN (SELECT trim(ticket_id) FROM raw.tickets WHERE {months})
        GROUP BY ALL HAVING count(DISTINCT _partition_month) > 1)
) WHERE version = 1"""


@contextmanager
def latest_partitions(con: DuckDBPyConnection, months: list[str]) -> Iterator[str]:
    """The table of where the tickets of `months` delivered under several months were delivered
    last, for a run's months (in an in-memory database attached while they run, so every month's
    connection sees it); yields its name."""
    name = f"staging_range_{uuid.uuid4().hex[:12]}"
    con.execute(f"ATTACH ':memory:' AS {name}")
    try:
        con.execute(_LATEST_PARTITION.format(table=f"{name}.latest_partition",
                                             months=month_in("_partition_month", months)))
        yield f"{name}.latest_partition"
    finally:
        con.execute(f"DETACH {name}")


def stage_ticket_month(con: DuckDBPyConnection, month: str, policy: PolicyConfig,
                       rules: list[tuple[str, str, str, str]], latest: str) -> MonthResult:
    """Stage one month's tickets in one transaction (judge, move, quarantine, insert, warn).

    `latest` is the run's table of latest_partitions.
    """
    provider_sources = sql_list(policy.ticket_unit.provider_initiated_sources)
    started = time.perf_counter()
    register_policy(con, policy)
    con.execute("BEGIN TRANSACTION")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE ticket_rows AS
        WITH contracts AS (
            SELECT client_id, min(valid_from) AS contract_from,
                   arg_max(timezone, valid_from) AS tz
            FROM staging.clients GROUP BY client_id
        ), zones AS ({TICKET_ZONES}), typed AS (
            SELECT r.*, f.first_seen_at,
                   try_cast(r.created_at AS TIMESTAMPTZ) AS created_ts,
                   c.contract_from, c.tz,
                   -- The month raw placed the row in by its created_at (NULL: it could not).
                   {ticket_month_sql("r.created_at", "z.tz", "f.max_month")} AS _placed_month,
                   date_trunc('month', timezone(coalesce(z.tz, 'UTC'),
                                                try_cast(r.created_at AS TIMESTAMPTZ)))
                       AS _zone_month
            FROM raw.tickets r
            JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
            LEFT JOIN contracts c ON c.client_id = trim(r.client_id)
            LEFT JOIN zones z ON z.client_id = r.client_id
            WHERE r._partition_month = ?
        )
        SELECT *, {first_failure(rules)} FROM typed""",
        [month],
    )
    # A later delivery can move a ticket to another month (its created_at was corrected):
    # only the month of its latest version stages it, so no ticket counts twice.
    con.execute("DELETE FROM quality.moved_tickets WHERE month = ?", [month])
    con.execute(
        f"""INSERT INTO quality.moved_tickets
        WITH mine AS (
            SELECT trim(ticket_id) AS ticket_id, count(*) AS raw_rows FROM raw.tickets
            WHERE _partition_month = $month AND NOT blank(ticket_id) GROUP BY ALL
        )
        SELECT CAST($month AS DATE), v.ticket_id, v._partition_month, m.raw_rows
        FROM {latest} v JOIN mine m USING (ticket_id)
        WHERE v._partition_month <> CAST($month AS DATE)""",
        {"month": month},
    )
    con.execute(
        """DELETE FROM ticket_rows WHERE trim(ticket_id) IN (
               SELECT ticket_id FROM quality.moved_tickets WHERE month = ?)""",
        [month],
    )
    quarantined = quarantine_replace(
        con, "staging_tickets", "tickets", month, "ticket_rows", "ticket_id", "trim(r.client_id)"
    )
    con.execute("DELETE FROM staging.tickets WHERE month = ?", [month])
    # Staged afresh, so its marts are rebuilt from here: no longer stale.
    con.execute("DELETE FROM quality.stale_months WHERE month = ?", [month])
    con.execute(
        f"""INSERT INTO staging.tickets BY NAME
        WITH ranked AS (
            SELECT r.*,
                   row_number() OVER w AS version,
                   count(*) OVER (PARTITION BY trim(r.ticket_id)) AS versions_delivered
            FROM ticket_rows r
            WHERE reason_code IS NULL
            WINDOW w AS (PARTITION BY trim(r.ticket_id)
                         ORDER BY try_cast(r.updated_at AS TIMESTAMPTZ) DESC NULLS LAST,
                                  {DELIVERY_ORDER})
        )
        SELECT trim(r.ticket_id) AS ticket_id, trim(r.client_id) AS client_id,
               CAST(? AS DATE) AS month, nullif(trim(r.requester), '') AS requester,
               r.created_ts AS created_at, timezone(r.tz, r.created_ts) AS created_local,
               r.subject, r.description, nullif(trim(r.category), '') AS category,
               lower(trim(r.source)) AS source,
               coalesce(lower(trim(r.source)) IN {provider_sources}, false)
                   AS is_provider_initiated,
               parse_bool(r.declared_emergency) AS declared_emergency,
               r.triage_priority AS triage_priority_raw, tp.priority AS triage_priority,
               r.final_priority AS final_priority_raw, fp.priority AS final_priority,
               nullif(trim(r.parent_ticket_id), '') AS parent_ticket_id,
               try_cast(r.affected_users AS INTEGER) AS affected_users,
               lower(trim(r.status)) AS status,
               try_cast(r.resolved_at AS TIMESTAMPTZ) AS resolved_at,
               try_cast(r.updated_at AS TIMESTAMPTZ) AS updated_at,
               parse_bool(r.source_sla_met) AS source_sla_met,
               r.versions_delivered, r._source_file, r._source_row
        FROM ranked r
        LEFT JOIN policy_priority tp ON tp.value = lower(trim(r.triage_priority))
        LEFT JOIN policy_priority fp ON fp.value = lower(trim(r.final_priority))
        WHERE r.version = 1""",
        [month],
    )
    warned = warnings_replace(con, "staging_tickets", "tickets", month, TICKET_WARNINGS,
                              {"month": month})
    mark_judged(con, "staging_tickets", month)
    staged, superseded, unmapped = con.execute(
        """SELECT count(*), sum(versions_delivered - 1),
                  count(*) FILTER (WHERE (final_priority IS NULL AND NOT blank(final_priority_raw))
                                   OR (triage_priority IS NULL AND NOT blank(triage_priority_raw)))
           FROM staging.tickets WHERE month = ?""",
        [month],
    ).fetchone()
    con.execute("COMMIT")
    return MonthResult(
        {
            "row_count": staged,
            "superseded_versions": int(superseded or 0),
            "quarantined": quarantined,
            "warnings": warned,
            "unmapped_priority_tickets": unmapped,
        },
        f"staging.tickets {month[:7]}: {staged} ticket(s), {int(superseded or 0)} superseded"
        f" version(s), {quarantined} quarantined, {warned} warning(s) in"
        f" {time.perf_counter() - started:.1f} s",
    )
