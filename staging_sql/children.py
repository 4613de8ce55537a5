"""Staging ticket events and time entries in their ticket's month (orphans in their own month)."""

import time
from collections.abc import Callable

import duckdb
from duckdb import DuckDBPyConnection

from logic.business_time import next_opening_sql
from orchestration.partitions import MonthResult, month_runs
from staging_sql.rules import DELIVERY_ORDER, PARENT_RULES
from warehouse.contract import RECORD_KEY, TIME_COLUMN
from warehouse.sqlquote import month_in, sql_list
from warehouse.writes import first_failure, mark_judged_months

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
    """Which month judges each raw row of `entity`, for all months of the run (before staging them).

    One pass over the raw rows for the range (temp table child_index): a row belongs to the
    month of its staged ticket, to each month its ticket was quarantined in, or, when its ticket
    was never delivered, to its own timestamp's month. Rows of other months are not listed.
    """
    orphan_month = ORPHAN_MONTH.format(ts=TIME_COLUMN[entity])

    def prepare(con: DuckDBPyConnection, months: list[str]) -> None:
        # A row whose ticket was never delivered is judged in its timestamp's month when that is
        # one of its file's months, else in its file's first month (or the month the file was
        # first seen): only files whose months meet the range can hold the range's such rows.
        # Named as a list, so DuckDB skips the other files' row groups (raw rows are stored file
        # by file): a month's run no longer reads every raw row twice.
        orphan_files = [r[0] for r in con.execute(
            "SELECT DISTINCT file_id FROM raw.landing_files WHERE entity = $entity"
            " AND (min_month IS NULL OR (min_month <= $last"
            " AND coalesce(max_month, min_month) >= $first))",
            {"entity": entity, "first": months[0], "last": months[-1]}).fetchall()]
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
            ), judged_tickets AS (
                -- The range's staged and quarantined tickets (disjoint), so that one pass over
                -- the raw rows, joined to these few, finds both: the raw rows are not
                -- materialised with their keys (every delivered month's, 8.7M events at 1M).
                SELECT ticket_id, month, 'staged' AS ticket_state FROM staging.tickets
                WHERE month BETWEEN $first AND $last
                UNION ALL
                SELECT ticket_id, month, 'quarantined' FROM quarantined_tickets
            ), delivered AS (
                SELECT DISTINCT trim(ticket_id) AS ticket_id FROM raw.tickets WHERE NOT blank(ticket_id)
            ), orphans AS MATERIALIZED (
                -- Rows whose ticket was never delivered (few) first: their month is parsed from
                -- their own timestamp, which over every raw row was most of this statement.
                SELECT * FROM raw.{entity}
                WHERE _file_id IN {sql_list(sorted(orphan_files) or [''])}
                  AND coalesce(trim(ticket_id), '') NOT IN (SELECT ticket_id FROM delivered)
            )
            SELECT hash(r._file_id, r._source_row) AS row_key, r._source_row,
                   hash(r._file_id) AS file_key, t.month AS judged_month, t.ticket_state
            FROM raw.{entity} r JOIN judged_tickets t ON t.ticket_id = trim(r.ticket_id)
            UNION ALL
            SELECT hash(r._file_id, r._source_row), r._source_row, hash(r._file_id),
                   {orphan_month}, 'unknown'
            FROM orphans r
            JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
            WHERE {orphan_month} BETWEEN $first AND $last""",
            {"first": months[0], "last": months[-1]},
        )

    return prepare


def stage_children(
    con: duckdb.DuckDBPyConnection,
    months: list[str],
    entity: str,
    rules: list[tuple[str, str, str, str]],
    columns: str,
) -> tuple[dict[str, int], dict[str, int]]:
    """Stage events or time entries of the tickets of `months`; return (staged, quarantined) per month.

    Set-based over the run's months: each statement covers every month at once (rows carry the
    month that judges them, `_judged_month`), so DuckDB parallelises it over the range's row groups
    instead of running one small statement per month on one core. Rows of tickets staged in a
    month are typed; rows of tickets quarantined in a month, and rows whose ticket was never
    delivered (judged in their own month), are quarantined. Which rows are the months' comes
    from child_index (see judge_children). The results are those of staging the months one
    after another in month order (docs/decisions.md): a row judged in two months (its ticket
    quarantined in both) is quarantined in the later one only.
    """
    stage = f"staging_{entity}"
    # Only the files holding the months' rows are read: raw rows are stored file by file, so
    # DuckDB skips the row groups of every other file.
    files = [r[0] for r in con.execute(
        "SELECT file_id FROM raw.landing_files WHERE hash(file_id) IN ("
        " SELECT file_key FROM child_index"
        f" WHERE {month_in('judged_month', months)})").fetchall()]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE child_rows AS
        WITH candidates AS (
            SELECT r.* EXCLUDE (_file_id, _loaded_at, _extra), f.first_seen_at,
                   c.ticket_state AS _ticket_state,
                   c.judged_month AS _judged_month
            FROM raw.{entity} r
            JOIN child_index c
              ON c.row_key = hash(r._file_id, r._source_row) AND c._source_row = r._source_row
            JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
            WHERE {month_in('c.judged_month', months)}
              AND r._file_id IN {sql_list(sorted(set(files)) or [''])}
        )
        SELECT *, {first_failure(rules + PARENT_RULES)} FROM candidates""",
    )
    con.execute(
        "DELETE FROM quality.quarantine WHERE stage = $stage"
        f" AND {month_in('partition_month', months)}",
        {"stage": stage},
    )
    con.execute(
        """INSERT INTO quality.quarantine BY NAME
            SELECT $stage AS stage, $entity AS entity, r._judged_month AS partition_month,
                   _source_file AS source_file, _source_row AS source_row,
                   ticket_id AS record_key,
                   coalesce((SELECT any_value(t.client_id) FROM staging.tickets t
                             WHERE t.ticket_id = trim(r.ticket_id)),
                            (SELECT any_value(q.client_id) FROM quality.quarantine q
                             WHERE q.stage = 'staging_tickets'
                               AND trim(q.record_key) = trim(r.ticket_id))) AS client_id,
                   field, raw_value, reason_code, reason, now() AS detected_at
            FROM child_rows AS r WHERE reason_code IS NOT NULL""",
        {"stage": stage, "entity": entity},
    )
    # Say why the ticket was refused (its own quarantine row), not only that it was.
    con.execute(
        f"""UPDATE quality.quarantine q SET reason = q.reason || ': ' || w.why
           FROM (SELECT trim(record_key) AS ticket_id,
                        min(source_file || ' row ' || source_row || ', ' || reason) AS why
                 FROM quality.quarantine WHERE stage = 'staging_tickets'
                   AND trim(record_key) IN (SELECT trim(ticket_id) FROM child_rows
                                            WHERE reason_code = 'ticket_quarantined')
                 GROUP BY ALL) w
           WHERE q.stage = $stage AND {month_in('q.partition_month', months)}
             AND q.reason_code = 'ticket_quarantined' AND trim(q.record_key) = w.ticket_id""",
        {"stage": stage},
    )
    # A row is judged in one month: the latest of the months that judge it here. A judgement of
    # it in any other month (before its ticket was loaded, as a row of a ticket never delivered;
    # or an earlier month that quarantined its ticket too) is replaced by that one.
    # Only rows already in quarantine can be judged twice: the latest month is looked for among
    # those (few), not over every row of the pass.
    con.execute(
        """DELETE FROM quality.quarantine q USING (
               SELECT _source_file, _source_row, max(_judged_month) AS judged_month
               FROM child_rows c
               SEMI JOIN (SELECT source_file, source_row FROM quality.quarantine
                          WHERE stage = $stage) k
                 ON k.source_file = c._source_file AND k.source_row = c._source_row
               GROUP BY ALL) c
           WHERE q.stage = $stage AND q.source_file = c._source_file
             AND q.source_row = c._source_row AND q.partition_month <> c.judged_month""",
        {"stage": stage},
    )
    # Rows the file reader refused belong to these months' tickets' clients too.
    con.execute(
        f"""UPDATE quality.quarantine q SET client_id = t.client_id FROM staging.tickets t
           WHERE q.stage = 'landing_files' AND q.entity = $entity AND q.client_id IS NULL
             AND trim(q.record_key) = t.ticket_id
             AND {month_in('t.month', months)}""",
        {"entity": entity},
    )
    con.execute(f"DELETE FROM staging.{entity}"
                f" WHERE {month_in('month', months)}")
    # Latest delivery wins within a month; only keys delivered more than once are sorted (most
    # are delivered once, and the window over every row was two thirds of the statement).
    key = RECORD_KEY[entity]
    con.execute(
        f"""INSERT INTO staging.{entity} BY NAME
        WITH accepted AS (SELECT * FROM child_rows WHERE reason_code IS NULL),
        repeated AS (
            SELECT _judged_month, {key} AS record_key FROM accepted r GROUP BY ALL
            HAVING count(*) > 1
        ), latest AS (
            SELECT * FROM accepted r ANTI JOIN repeated k
                ON k._judged_month = r._judged_month AND k.record_key IS NOT DISTINCT FROM {key}
            UNION ALL
            SELECT * EXCLUDE (version) FROM (
                SELECT r.*, row_number() OVER (
                    PARTITION BY r._judged_month, {key} ORDER BY {DELIVERY_ORDER}) AS version
                FROM accepted r SEMI JOIN repeated k
                  ON k._judged_month = r._judged_month AND k.record_key IS NOT DISTINCT FROM {key}
            ) WHERE version = 1
        )
        SELECT _judged_month AS month, trim(ticket_id) AS ticket_id, {columns},
               _source_file, _source_row
        FROM latest"""
    )
    mark_judged_months(con, stage, months)
    record_judged_files(con, stage, months)
    staged = dict(con.execute(
        f"SELECT CAST(month AS VARCHAR), count(*) FROM staging.{entity}"
        f" WHERE {month_in('month', months)} GROUP BY ALL").fetchall())
    quarantined = dict(con.execute(
        "SELECT CAST(partition_month AS VARCHAR), count(*) FROM quality.quarantine"
        f" WHERE stage = $stage AND {month_in('partition_month', months)}"
        " GROUP BY ALL", {"stage": stage}).fetchall())
    return ({m: staged.get(m, 0) for m in months}, {m: quarantined.get(m, 0) for m in months})


def record_judged_files(con: DuckDBPyConnection, stage: str, months: list[str]) -> None:
    """Record in quality.judged_files the files holding rows `months` judged (from child_index).

    Each month gets a row with no file too, saying it is recorded: the file reconciliation of a
    month then reads its files here, and finds them itself for a month judged before.
    """
    con.execute(f"DELETE FROM quality.judged_files WHERE stage = $stage"
                f" AND {month_in('month', months)}", {"stage": stage})
    con.execute(
        f"""INSERT INTO quality.judged_files
        SELECT $stage, CAST(unnest($months) AS DATE), NULL, NULL, now()
        UNION ALL
        SELECT DISTINCT $stage, c.judged_month, f.file_id, f.path, now()
        FROM (SELECT DISTINCT judged_month, file_key FROM child_index
              WHERE {month_in('judged_month', months)}) c
        JOIN raw.landing_files f ON hash(f.file_id) = c.file_key AND f.status = 'accepted'""",
        {"stage": stage, "months": months},
    )


def stage_children_months(
    con: DuckDBPyConnection,
    months: list[str],
    entity: str,
    rules: list[tuple[str, str, str, str]],
    columns: str,
    flag: Callable[[DuckDBPyConnection, list[str]], dict[str, dict[str, int]]],
    summary: str,
) -> dict[str, MonthResult]:
    """Stage `months` of `entity` (see stage_children) and `flag` their staged rows.

    The months go in passes of consecutive months holding about `ROWS_PER_PASS` rows (a month is
    never split), each pass in one transaction, in month order: the rows a pass holds in memory
    stay bounded, and a pass hands rows to a later one as month order does.
    `flag(con, months)` returns, per month, the figures it adds to row_count and quarantined;
    `summary` is each month's log line's middle, a format string over its figures.
    """
    results = {}
    for part in passes(con, months):
        started = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        staged, quarantined = stage_children(con, part, entity, rules, columns)
        flagged = flag(con, part)
        con.execute("COMMIT")
        took = (f" ({len(part)} month(s) in one pass of {sum(staged.values())} row(s),"
                f" {time.perf_counter() - started:.1f} s)")
        for month in part:
            figures = {"row_count": staged[month], "quarantined": quarantined[month], **flagged[month]}
            results[month] = MonthResult(
                figures, f"staging.{entity} {month[:7]}: {summary.format(**figures)}{took}")
    return results


# Child rows per pass: enough row groups (122,880 rows each) for DuckDB to use every core, few
# enough that a pass's rows (about 400 bytes each in memory) stay small beside the run's peak.
ROWS_PER_PASS = 500_000


def passes(con: DuckDBPyConnection, months: list[str], rows: int | None = None) -> list[list[str]]:
    """`months` cut into runs of consecutive months of about `rows` child rows (child_index) each."""
    budget = ROWS_PER_PASS if rows is None else rows
    counts = dict(con.execute(
        "SELECT CAST(judged_month AS VARCHAR), count(*) FROM child_index GROUP BY ALL").fetchall())
    return month_runs(counts, months, budget)


def _per_month(rows: list[tuple[str, int]], months: list[str], name: str) -> dict[str, dict[str, int]]:
    """{month: {name: count}} from (month, count) rows, 0 for months without a row."""
    counts = dict(rows)
    return {m: {name: counts.get(m, 0)} for m in months}


def _warn_before_creation(con: DuckDBPyConnection, months: list[str]) -> dict[str, dict[str, int]]:
    # Clock skew between systems: an event stamped before its ticket was opened is kept
    # (the response clock counts it at the creation instant) and flagged.
    con.execute(
        "DELETE FROM quality.warnings WHERE stage = 'staging_ticket_events'"
        f" AND {month_in('partition_month', months)}")
    con.execute(
        f"""INSERT INTO quality.warnings BY NAME
           SELECT 'staging_ticket_events' AS stage, 'ticket_events' AS entity,
                  e.month AS partition_month, e._source_file AS source_file,
                  e._source_row AS source_row, e.ticket_id AS record_key, t.client_id,
                  'event_at' AS field, CAST(e.event_at AS VARCHAR) AS raw_value,
                  'before_creation' AS reason_code,
                  'event_at is before the ticket''s created_at (' || CAST(t.created_at AS VARCHAR)
                  || '); counted at the creation instant' AS reason, now() AS detected_at
           FROM staging.ticket_events e
           JOIN staging.tickets t ON t.ticket_id = e.ticket_id AND t.month = e.month
           WHERE {month_in('e.month', months)} AND e.event_at < t.created_at""",
    )
    return _per_month(con.execute(
        "SELECT CAST(partition_month AS VARCHAR), count(*) FROM quality.warnings"
        " WHERE stage = 'staging_ticket_events'"
        f" AND {month_in('partition_month', months)} GROUP BY ALL").fetchall(), months, "warnings")


def _mark_outside_hours(con: DuckDBPyConnection, months: list[str]) -> dict[str, dict[str, int]]:
    # Work started while the client's calendar was closed: evidence of planned after-hours
    # work, and billable emergency work for clients without after-hours cover.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE entry_open AS "
        + next_opening_sql(
            "staging.calendar_intervals",
            f"""SELECT concat_ws('|', e._source_file, e._source_row) AS "key",
                      t.client_id AS calendar_id, e.started_at AS "at"
               FROM staging.time_entries e
               JOIN staging.tickets t ON t.ticket_id = e.ticket_id AND t.month = e.month
               WHERE {month_in('e.month', months)}""",
        ),
    )
    con.execute(
        f"""UPDATE staging.time_entries e SET outside_hours = NOT coalesce(o.is_open, true)
           FROM entry_open o
           WHERE {month_in('e.month', months)}
             AND o."key" = concat_ws('|', e._source_file, e._source_row)""",
    )
    return _per_month(con.execute(
        "SELECT CAST(month AS VARCHAR), count(*) FILTER (WHERE outside_hours)"
        f" FROM staging.time_entries WHERE {month_in('month', months)}"
        " GROUP BY ALL").fetchall(), months, "outside_hours_entries")


def stage_events(
    con: DuckDBPyConnection, months: list[str], rules: list[tuple[str, str, str, str]]
) -> dict[str, MonthResult]:
    """Stage the months' ticket events in one transaction, warning about clock skew."""
    return stage_children_months(
        con, months, "ticket_events", rules,
        """nullif(trim(event_id), '') AS event_id,
           CAST(event_at AS TIMESTAMPTZ) AS event_at, lower(trim(event_type)) AS event_type,
           lower(trim(actor_type)) AS actor_type, nullif(trim(actor), '') AS actor,
           parse_bool(is_public) AS is_public, nullif(trim(new_value), '') AS new_value""",
        _warn_before_creation,
        "{row_count} event(s), {quarantined} quarantined, {warnings} warning(s)",
    )


def stage_time_entries(
    con: DuckDBPyConnection, months: list[str], rules: list[tuple[str, str, str, str]]
) -> dict[str, MonthResult]:
    """Stage the months' time entries in one transaction, marking work outside hours."""
    return stage_children_months(
        con, months, "time_entries", rules,
        """nullif(trim(entry_id), '') AS entry_id,
           CAST(started_at AS TIMESTAMPTZ) AS started_at,
           CAST(minutes AS DOUBLE) AS minutes, lower(trim(work_type)) AS work_type,
           parse_bool(billable) AS billable, note""",
        _mark_outside_hours,
        "{row_count} entr(ies), {quarantined} quarantined, {outside_hours_entries} outside hours",
    )
