"""with_first_failure gives what `SELECT *, first_failure(...)` gives, testing each rule once per row."""

import duckdb

from warehouse.writes import first_failure, with_first_failure

RULES = [
    ("missing_value", "ticket_id", "blank(ticket_id)", "ticket_id is empty"),
    ("unparseable_timestamp", "event_at", "try_cast(event_at AS TIMESTAMPTZ) IS NULL",
     "event_at is not an ISO 8601 timestamp"),
    # NULL for a row without a number: a NULL condition does not break the rule.
    ("negative_minutes", "minutes", "try_cast(minutes AS DOUBLE) < 0", "minutes is negative"),
    ("unknown_ticket", "ticket_id", "ticket_id NOT IN (SELECT id FROM known)", "no such ticket"),
]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(f"{sql} ORDER BY row_no").fetchall()


def test_same_columns_values_and_types_as_the_four_cases() -> None:
    con = duckdb.connect()
    con.execute("CREATE MACRO blank(x) AS coalesce(trim(x), '') = ''")
    con.execute("CREATE TABLE known AS SELECT 'T1' AS id UNION ALL SELECT 'T2'")
    con.execute("""CREATE TABLE src AS SELECT * FROM (VALUES
        (1, 'T1', '2026-01-05T10:00:00Z', '30'),   -- passes every rule
        (2, ' ', 'not a time', '-5'),              -- breaks three: the first is named
        (3, 'T2', 'yesterday', '-5'),              -- breaks the second and the third
        (4, 'T2', '2026-01-05T10:00:00Z', NULL),   -- a NULL condition: passes
        (5, 'T9', '2026-01-05T10:00:00Z', '-1'),   -- negative minutes before the unknown ticket
        (6, 'T9', '2026-01-05T10:00:00Z', '1')     -- the last rule only
    ) AS t(row_no, ticket_id, event_at, minutes)""")
    before = f"SELECT *, {first_failure(RULES)} FROM src"
    after = with_first_failure(RULES, "src")
    assert _rows(con, after) == _rows(con, before)
    assert (con.execute(f"DESCRIBE {after}").fetchall()
            == con.execute(f"DESCRIBE {before}").fetchall())
    codes = [r[0] for r in con.execute(f"SELECT reason_code FROM ({after}) ORDER BY row_no").fetchall()]
    assert codes == [None, "missing_value", "unparseable_timestamp", None, "negative_minutes",
                     "unknown_ticket"]


def test_a_cte_is_a_source_too() -> None:
    """A CTE or a parenthesised query is a source too (the staging statements pass `typed`)."""
    con = duckdb.connect()
    con.execute("CREATE MACRO blank(x) AS coalesce(trim(x), '') = ''")
    con.execute("CREATE TABLE known AS SELECT 'T1' AS id")
    sql = ("WITH typed AS (SELECT 1 AS row_no, 'T1' AS ticket_id, 'x' AS event_at, '2' AS minutes) "
           + with_first_failure(RULES, "typed"))
    assert con.execute(f"SELECT reason_code, field, raw_value FROM ({sql})").fetchall() == [
        ("unparseable_timestamp", "event_at", "x")]
