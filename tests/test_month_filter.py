"""month_in: a run's months as a filter DuckDB prunes row groups with, never a join."""

import duckdb
import pytest

from warehouse.sqlquote import month_in


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # Row groups of one month each, as staging writes them (a month's rows inserted together).
    con.execute("CREATE TABLE t (month DATE, x INTEGER)")
    for m in ("2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"):
        con.execute(f"INSERT INTO t SELECT DATE '{m}', range FROM range(130000)")
    return con


def test_keeps_exactly_the_months_named(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(f"SELECT DISTINCT CAST(month AS VARCHAR) FROM t WHERE"
                       f" {month_in('month', ['2026-03-01', '2026-01-01'])} ORDER BY 1").fetchall()
    assert rows == [("2026-01-01",), ("2026-03-01",)]  # not February, between the two


def test_is_a_filter_in_the_scan_not_a_join(con: duckdb.DuckDBPyConnection) -> None:
    plan = "\n".join(r[1] for r in con.execute(
        f"EXPLAIN SELECT sum(x) FROM t WHERE {month_in('month', ['2026-02-01'])}").fetchall())
    assert "JOIN" not in plan.upper()
    subquery = "\n".join(r[1] for r in con.execute(
        "EXPLAIN SELECT sum(x) FROM t WHERE month IN (SELECT CAST(unnest($m) AS DATE))",
        {"m": ["2026-02-01"]}).fetchall())
    assert "JOIN" in subquery.upper()  # what month_in replaces: a join over every row


def test_a_hostile_month_stays_a_literal() -> None:
    hostile = "2026-01-01'; DROP TABLE t; --"
    with pytest.raises(duckdb.ConversionException):
        duckdb.sql(f"SELECT 1 WHERE {month_in('current_date', [hostile])}").fetchall()
