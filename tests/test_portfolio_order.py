"""The dashboard's rows come in one order whatever order the warehouse holds them in.

Its payload is compared byte for byte between runs (a provider's files and its API give the same
reports); a tie in an ORDER BY let two states of one client, month and category swap.
"""

import duckdb

from reports import portfolio

ROWS = [("2026-09-01", "C002", "planned_after_hours", "approved", "USD", 3.0, 675.0),
        ("2026-09-01", "C002", "planned_after_hours", "pending", "USD", 2.0, 450.0),
        ("2026-09-01", "C002", "planned_after_hours", "pending", "EUR", 1.0, 200.0)]


def _out_of_scope(rows: list[tuple]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.out_of_scope (month DATE, client_id VARCHAR, primary_category VARCHAR,"
                " review_status VARCHAR, currency VARCHAR, billable_hours DOUBLE, amount DOUBLE)")
    con.executemany("INSERT INTO marts.out_of_scope VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return list(portfolio.out_of_scope(con, ["2026-09-01"]).itertuples(index=False))


def test_out_of_scope_rows_have_one_order_whatever_the_stored_order() -> None:
    first = _out_of_scope(ROWS)
    assert [(r.state, r.cur) for r in first] == [("approved", "USD"), ("pending", "EUR"), ("pending", "USD")]
    assert _out_of_scope(ROWS[::-1]) == first
