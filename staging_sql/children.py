"""Staging ticket events and time entries in their ticket's month (orphans in their own month)."""

import time
from collections.abc import Callable

import duckdb
from duckdb import DuckDBPyConnection

from logic.business_time import next_opening_sql
from orchestration.partitions import MonthResult
from staging_sql.rules import DELIVERY_ORDER, PARENT_RULES
from warehouse.contract import RECORD_KEY, TIME_COLUMN
from warehouse.sqlquote import sql_list
from warehouse.writes import first_failure, mark_judged, quarantine_replace, warnings_replace

# The month a child row whose ticket was never delivered is judged in: its own timestamp's.
# A timestamp outside its file's months (which landing counts inside the pipeline's window only:
# a year 1900 or 2200) is judged in the file's first month, a month that exists.
# warehouse.reconcile._CHILD places these rows the same way for the reconciliation.
ORPHAN_MONTH = """coalesce(
    CASE WHEN date_trunc('month', timezone('UTC', try_cast(r.{ts} AS TIMESTAMPTZ)))
              BETWEEN f.min_month AND f.max_month
         THEN date_trunc('month', timezone('UTC', try_cast(r.{ts} AS TIMESTAMPTZ))) END,
    f.min_month, date_trunc('month', f.first_seen_at))::DATE"""


def judge_children(entity: str) -> Callable[[DuckDBPyConnection, list[str]], None]:
    """Prepare step: which month judges each raw row of `entity`, for all months of the run.

    One pass over the raw rows for the range (temp table child_index): a row belongs to the
    month of its staged ticket, to each month its ticket was quarantined in, or, when its ticket
    was never delivered, to its own timestamp's month. Rows of other months are not listed.
    """
    orphan_month = ORPHAN_MONTH.format(ts=TIME_COLUMN[entity])

    def prepare(con: DuckDBPyConnection, months: list[str]) -> None:
        # A raw row is named by (hash of file id and row, row): rowids may change when a
        # checkpoint compacts deleted rows. hash(file id) finds the files a month needs.
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE child_index AS
            WITH quarantined_tickets AS (
                SELECT DISTINCT partition_month AS month, trim(record_key) AS ticket_id
                FROM quality.quarantine
                WHERE stage = 'staging_tickets' AND partition_month BETWEEN $first AND $last
                  AND NOT blank(record_key)
                  AND trim(record_key) NOT IN (SELECT ticket_id FROM staging.tickets)
            ), delivered AS (
                SELECT DISTINCT trim(ticket_id) AS ticket_id FROM raw.tickets WHERE NOT blank(ticket_id)
            ), rows AS (
                SELECT hash(_file_id, _source_row) AS row_key, _source_row, hash(_file_id) AS file_key,
                       trim(ticket_id) AS ticket_id
                FROM raw.{entity}
            ), orphans AS MATERIALIZED (
                -- Rows whose ticket was never delivered (few) first: their month is parsed from
                -- their own timestamp, which over every raw row was most of this statement.
                SELECT * FROM raw.{entity}
                WHERE coalesce(trim(ticket_id), '') NOT IN (SELECT ticket_id FROM delivered)
            )
            SELECT r.row_key, r._source_row, r.file_key, t.month AS judged_month,
                   'staged' AS ticket_state
            FROM rows r JOIN staging.tickets t ON t.ticket_id = r.ticket_id
            WHERE t.month BETWEEN $first AND $last
            UNION ALL
            SELECT r.row_key, r._source_row, r.file_key, q.month, 'quarantined'
            FROM rows r JOIN quarantined_tickets q ON q.ticket_id = r.ticket_id
            UNION ALL
            SELECT hash(r._file_id, r._source_row), r._source_row, hash(r._file_id),
                   {orphan_month}, 'unknown'
            FROM orphans r
            JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
            WHERE {orphan_month} BETWEEN $first AND $last""",
            {"first": months[0], "last": months[-1]},
        )

    return prepare


def stage_child(
    con: duckdb.DuckDBPyConnection,
    month: str,
    entity: str,
    rules: list[tuple[str, str, str, str]],
    columns: str,
) -> tuple[int, int]:
    """Stage events or time entries of the month's tickets; return (staged, quarantined).

    Rows of tickets staged this month are typed; rows of tickets quarantined this month, and
    rows whose ticket was never delivered (judged in their own month), are quarantined. Which
    rows are the month's comes from child_index (see judge_children).
    """
    stage = f"staging_{entity}"
    # Only the files holding the month's rows are read: raw rows are stored file by file, so
    # DuckDB skips the row groups of every other file.
    files = [r[0] for r in con.execute(
        "SELECT file_id FROM raw.landing_files WHERE hash(file_id) IN ("
        " SELECT file_key FROM child_index WHERE judged_month = ?)", [month]).fetchall()]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE child_rows AS
        WITH candidates AS (
            SELECT r.*, f.first_seen_at, c.ticket_state AS _ticket_state
            FROM raw.{entity} r
            JOIN child_index c
              ON c.row_key = hash(r._file_id, r._source_row) AND c._source_row = r._source_row
            JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
            WHERE c.judged_month = $month AND r._file_id IN {sql_list(sorted(set(files)) or [''])}
        )
        SELECT *, {first_failure(rules + PARENT_RULES)} FROM candidates""",
        {"month": month},
    )
    quarantined = quarantine_replace(
        con, stage, entity, month, "child_rows", "ticket_id",
        """coalesce((SELECT any_value(t.client_id) FROM staging.tickets t
                     WHERE t.ticket_id = trim(r.ticket_id)),
                    (SELECT any_value(q.client_id) FROM quality.quarantine q
                     WHERE q.stage = 'staging_tickets' AND trim(q.record_key) = trim(r.ticket_id)))""",
    )
    # Say why the ticket was refused (its own quarantine row), not only that it was.
    con.execute(
        """UPDATE quality.quarantine q SET reason = q.reason || ': ' || w.why
           FROM (SELECT trim(record_key) AS ticket_id,
                        min(source_file || ' row ' || source_row || ', ' || reason) AS why
                 FROM quality.quarantine WHERE stage = 'staging_tickets'
                   AND trim(record_key) IN (SELECT trim(ticket_id) FROM child_rows
                                            WHERE reason_code = 'ticket_quarantined')
                 GROUP BY ALL) w
           WHERE q.stage = $stage AND q.partition_month = CAST($month AS DATE)
             AND q.reason_code = 'ticket_quarantined' AND trim(q.record_key) = w.ticket_id""",
        {"stage": stage, "month": month},
    )
    # A row judged here may have been judged in another month before its ticket was loaded
    # (as a row of a ticket never delivered): this month's judgement replaces that one.
    con.execute(
        """DELETE FROM quality.quarantine
           WHERE stage = $stage AND partition_month <> CAST($month AS DATE)
             AND (source_file, source_row) IN (SELECT (_source_file, _source_row) FROM child_rows)""",
        {"stage": stage, "month": month},
    )
    # Rows the file reader refused belong to this month's tickets' clients too.
    con.execute(
        """UPDATE quality.quarantine q SET client_id = t.client_id FROM staging.tickets t
           WHERE q.stage = 'landing_files' AND q.entity = ? AND q.client_id IS NULL
             AND trim(q.record_key) = t.ticket_id AND t.month = ?""",
        [entity, month],
    )
    con.execute(f"DELETE FROM staging.{entity} WHERE month = ?", [month])
    # Latest delivery wins; only keys delivered more than once are sorted (most are delivered
    # once, and the window over every row was two thirds of the statement).
    con.execute(
        f"""INSERT INTO staging.{entity} BY NAME
        WITH accepted AS (SELECT * FROM child_rows WHERE reason_code IS NULL),
        repeated AS (
            SELECT {RECORD_KEY[entity]} AS record_key FROM accepted r GROUP BY ALL HAVING count(*) > 1
        ), latest AS (
            SELECT * FROM accepted r ANTI JOIN repeated k
                ON k.record_key IS NOT DISTINCT FROM {RECORD_KEY[entity]}
            UNION ALL
            SELECT * EXCLUDE (version) FROM (
                SELECT r.*, row_number() OVER (
                    PARTITION BY {RECORD_KEY[entity]} ORDER BY {DELIVERY_ORDER}) AS version
                FROM accepted r SEMI JOIN repeated k
                  ON k.record_key IS NOT DISTINCT FROM {RECORD_KEY[entity]}
            ) WHERE version = 1
        )
        SELECT CAST(? AS DATE) AS month, trim(ticket_id) AS ticket_id, {columns},
               _source_file, _source_row
        FROM latest""",
        [month],
    )
    mark_judged(con, stage, month)
    staged = con.execute(
        f"SELECT count(*) FROM staging.{entity} WHERE month = ?", [month]
    ).fetchone()[0]
    return staged, quarantined


def stage_child_month(
    con: DuckDBPyConnection,
    month: str,
    entity: str,
    rules: list[tuple[str, str, str, str]],
    columns: str,
    flag: Callable[[DuckDBPyConnection, str], dict[str, int]],
    summary: str,
) -> MonthResult:
    """Stage one month of `entity` (see stage_child) and `flag` its staged rows, in one transaction.

    `flag(con, month)` returns the figures it adds to row_count and quarantined; `summary` is the
    log line's middle, a format string over all the figures.
    """
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    staged, quarantined = stage_child(con, month, entity, rules, columns)
    figures = {"row_count": staged, "quarantined": quarantined, **flag(con, month)}
    con.execute("COMMIT")
    return MonthResult(
        figures,
        f"staging.{entity} {month[:7]}: {summary.format(**figures)}"
        f" in {time.perf_counter() - started:.1f} s",
    )


def _warn_before_creation(con: DuckDBPyConnection, month: str) -> dict[str, int]:
    # Clock skew between systems: an event stamped before its ticket was opened is kept
    # (the response clock counts it at the creation instant) and flagged.
    warned = warnings_replace(
        con, "staging_ticket_events", "ticket_events", month,
        """SELECT e._source_file AS source_file, e._source_row AS source_row,
                  e.ticket_id AS record_key, t.client_id, 'event_at' AS field,
                  CAST(e.event_at AS VARCHAR) AS raw_value, 'before_creation' AS reason_code,
                  'event_at is before the ticket''s created_at (' || CAST(t.created_at AS VARCHAR)
                  || '); counted at the creation instant' AS reason
           FROM staging.ticket_events e
           JOIN staging.tickets t ON t.ticket_id = e.ticket_id AND t.month = e.month
           WHERE e.month = $month AND e.event_at < t.created_at""",
        {"month": month},
    )
    return {"warnings": warned}


def _mark_outside_hours(con: DuckDBPyConnection, month: str) -> dict[str, int]:
    # Work started while the client's calendar was closed: evidence of planned after-hours
    # work, and billable emergency work for clients without after-hours cover.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE entry_open AS "
        + next_opening_sql(
            "staging.calendar_intervals",
            """SELECT concat_ws('|', e._source_file, e._source_row) AS "key",
                      t.client_id AS calendar_id, e.started_at AS "at"
               FROM staging.time_entries e
               JOIN staging.tickets t ON t.ticket_id = e.ticket_id AND t.month = e.month
               WHERE e.month = $month""",
        ),
        {"month": month},
    )
    con.execute(
        """UPDATE staging.time_entries e SET outside_hours = NOT coalesce(o.is_open, true)
           FROM entry_open o
           WHERE e.month = ? AND o."key" = concat_ws('|', e._source_file, e._source_row)""",
        [month],
    )
    outside = con.execute(
        "SELECT count(*) FILTER (WHERE outside_hours) FROM staging.time_entries WHERE month = ?",
        [month],
    ).fetchone()[0]
    return {"outside_hours_entries": outside}


def stage_events_month(
    con: DuckDBPyConnection, month: str, rules: list[tuple[str, str, str, str]]
) -> MonthResult:
    """Stage one month's ticket events in one transaction, warning about clock skew."""
    return stage_child_month(
        con, month, "ticket_events", rules,
        """nullif(trim(event_id), '') AS event_id,
           CAST(event_at AS TIMESTAMPTZ) AS event_at, lower(trim(event_type)) AS event_type,
           lower(trim(actor_type)) AS actor_type, nullif(trim(actor), '') AS actor,
           parse_bool(is_public) AS is_public, nullif(trim(new_value), '') AS new_value""",
        _warn_before_creation,
        "{row_count} event(s), {quarantined} quarantined, {warnings} warning(s)",
    )


def stage_time_entries_month(
    con: DuckDBPyConnection, month: str, rules: list[tuple[str, str, str, str]]
) -> MonthResult:
    """Stage one month's time entries in one transaction, marking work outside hours."""
    return stage_child_month(
        con, month, "time_entries", rules,
        """nullif(trim(entry_id), '') AS entry_id,
           CAST(started_at AS TIMESTAMPTZ) AS started_at,
           CAST(minutes AS DOUBLE) AS minutes, lower(trim(work_type)) AS work_type,
           parse_bool(billable) AS billable, note""",
        _mark_outside_hours,
        "{row_count} entr(ies), {quarantined} quarantined, {outside_hours_entries} outside hours",
    )
