"""Staging human review decisions: parsed, judged, the latest per ticket and question in force."""

from duckdb import DuckDBPyConnection

from staging_sql.rules import DECISION, DECISION_PLACE, DECISION_RULES, judge_raw
from warehouse.tables import REVIEW_DECISIONS
from warehouse.writes import mark_judged, quarantine_replace

# A decision's client: its staged ticket's, else the client its latest delivered version names
# (a quarantined ticket's decision still belongs to that client's report).
DECISION_CLIENT = """coalesce(
    (SELECT any_value(t.client_id) FROM staging.tickets t WHERE t.ticket_id = trim(r.ticket_id)),
    (SELECT arg_max(trim(t.client_id), t._loaded_at) FROM raw.tickets t
     WHERE trim(t.ticket_id) = trim(r.ticket_id)))"""


def stage_review_decisions(con: DuckDBPyConnection) -> tuple[int, int, int]:
    """Judge and parse every delivered review decision; return (rows, in force, quarantined).

    Run at ingest and again after a month's tickets are staged: whether a decision's ticket
    exists, and its client, are only known once the ticket's month is loaded.
    """
    con.execute("BEGIN TRANSACTION")
    judge_raw(con, "decision_rows", "review_decisions", DECISION_RULES, DECISION_PLACE)
    quarantined = quarantine_replace(
        con, "staging_review_decisions", "review_decisions", None, "decision_rows", "ticket_id",
        DECISION_CLIENT,
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE decisions_staged AS
        WITH parsed AS (
            SELECT trim(ticket_id) AS ticket_id, lower(trim(decision)) AS decision,
                   CASE WHEN lower(trim(decision)) LIKE 'scope:%' THEN 'scope'
                        ELSE 'emergency' END AS kind,
                   nullif(regexp_extract(lower(trim(decision)), '{DECISION}', 2), '') AS scope_id,
                   coalesce(nullif(regexp_extract(lower(trim(decision)), '{DECISION}', 3), ''),
                            regexp_extract(lower(trim(decision)), '{DECISION}', 4)) AS verdict,
                   nullif(trim(reviewer), '') AS reviewer,
                   CAST(decided_at AS TIMESTAMPTZ) AS decided_at, note,
                   first_seen_at, _source_file, _source_row
            FROM decision_rows WHERE reason_code IS NULL
        )
        SELECT * EXCLUDE (first_seen_at),
               row_number() OVER (
                   PARTITION BY ticket_id, kind, scope_id
                   ORDER BY verdict = 'noted', decided_at DESC, first_seen_at DESC,
                            _source_file DESC, _source_row DESC) = 1
               AND verdict <> 'noted' AS is_current
        FROM parsed"""
    )
    _write_changed(con)
    mark_judged(con, "staging_review_decisions", None)
    con.execute("COMMIT")
    rows, current = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE is_current) FROM staging.review_decisions"
    ).fetchone()
    return rows, current, quarantined


# Every column of the table: a staged decision is unchanged when all of them are.
_SAME_ROW = " AND ".join(f"n.{c.name} IS NOT DISTINCT FROM t.{c.name}"
                         for c in REVIEW_DECISIONS.columns)
_COLUMNS = ", ".join(c.name for c in REVIEW_DECISIONS.columns)
# Rows of either side the other lacks, counted as multisets (EXCEPT ALL: NULLs equal).
_DIFFERENT = (f"SELECT count(*) FROM ((SELECT {_COLUMNS} FROM staging.review_decisions"
              f" EXCEPT ALL SELECT {_COLUMNS} FROM decisions_staged)"
              f" UNION ALL (SELECT {_COLUMNS} FROM decisions_staged"
              f" EXCEPT ALL SELECT {_COLUMNS} FROM staging.review_decisions))")


def _write_changed(con: DuckDBPyConnection) -> None:
    """Make staging.review_decisions equal to decisions_staged, writing only the rows that differ.

    The table holds every decision ever delivered and is judged twice a run (at ingest and after
    the tickets): replaced whole, each pass deleted and rewrote all of it (7 MB of WAL a pass at
    1M tickets, and as many dead rows for the run's checkpoint) to change a few rows.
    """
    con.execute(
        "DELETE FROM staging.review_decisions WHERE rowid IN ("
        " SELECT t.rowid FROM staging.review_decisions t"
        f" ANTI JOIN decisions_staged n ON {_SAME_ROW})"
    )
    con.execute(
        "INSERT INTO staging.review_decisions BY NAME SELECT n.* FROM decisions_staged n"
        f" ANTI JOIN staging.review_decisions t ON {_SAME_ROW}"
    )
    # Rows are unique by (_source_file, _source_row), so the anti joins leave equal tables; should
    # two rows ever be the same (a multiset the anti joins cannot count), the table is replaced
    # whole, as before.
    if con.execute(_DIFFERENT).fetchone()[0]:
        con.execute("DELETE FROM staging.review_decisions")
        con.execute("INSERT INTO staging.review_decisions BY NAME SELECT * FROM decisions_staged")
