"""Re-judging the review decisions writes only the decisions that changed (staging_sql.decisions)."""

from pathlib import Path

import duckdb

from staging_sql.decisions import _COLUMNS, _write_changed, stage_review_decisions
from warehouse.schema import ensure_warehouse

FILES = {"review_decisions/a.csv": "fa", "review_decisions/b.csv": "fb", "tickets/t.csv": "ft"}


def _warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A real warehouse with a ticket T1 delivered and two decisions on it from a.csv."""
    con = duckdb.connect(str(path))
    ensure_warehouse(con)
    for source, file_id in FILES.items():
        con.execute("INSERT INTO raw.landing_files BY NAME SELECT ? AS file_id, ? AS path,"
                    " ? AS entity, 'csv' AS format, 'accepted' AS status, 1 AS bytes,"
                    " TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_minutes(?) AS first_seen_at",
                    [file_id, source, source.split("/")[0], len(source)])
    con.execute("INSERT INTO raw.tickets BY NAME SELECT 'T1' AS ticket_id, 'ft' AS _file_id,"
                " 'tickets/t.csv' AS _source_file, 1 AS _source_row, now() AS _loaded_at,"
                " DATE '2026-01-01' AS _partition_month")
    _decide(con, "fa", "review_decisions/a.csv", [
        (1, "emergency=confirmed", "2026-01-05T10:00:00Z"),
        (2, "emergency=denied", "2026-01-04T10:00:00Z")])
    return con


def _decide(con: duckdb.DuckDBPyConnection, file_id: str, source: str,
            rows: list[tuple[int, str, str]]) -> None:
    con.executemany(
        "INSERT INTO raw.review_decisions BY NAME SELECT 'T1' AS ticket_id, ? AS decision,"
        " 'ann' AS reviewer, ? AS decided_at, ? AS _file_id, ? AS _source_file, ? AS _source_row,"
        " now() AS _loaded_at",
        [[decision, at, file_id, source, row] for row, decision, at in rows])


def _rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT rowid, _source_file, _source_row, verdict, is_current"
                       " FROM staging.review_decisions ORDER BY _source_file, _source_row").fetchall()


def test_judging_again_rewrites_no_unchanged_decision_and_equals_a_fresh_staging(tmp_path):
    con = _warehouse(tmp_path / "w.duckdb")
    stage_review_decisions(con)
    first = _rows(con)
    assert [(r[1], r[3], r[4]) for r in first] == [
        ("review_decisions/a.csv", "confirmed", True), ("review_decisions/a.csv", "denied", False)]

    # Nothing delivered since: every row stays where it was (a whole rewrite gives new row ids).
    stage_review_decisions(con)
    assert _rows(con) == first

    # A later decision makes the confirmed one no longer current: that row and the new one change.
    _decide(con, "fb", "review_decisions/b.csv", [(1, "emergency=denied", "2026-01-06T10:00:00Z")])
    stage_review_decisions(con)
    after = _rows(con)
    assert [(r[1], r[2], r[3], r[4]) for r in after] == [
        ("review_decisions/a.csv", 1, "confirmed", False), ("review_decisions/a.csv", 2, "denied", False),
        ("review_decisions/b.csv", 1, "denied", True)]
    assert after[1][0] == first[1][0]  # the decision that did not change was not rewritten
    assert after[0][0] != first[0][0]

    # The same as staging the same raw rows into an empty table.
    columns = "* EXCLUDE (_source_file, _source_row), _source_file, _source_row"
    kept = con.execute(f"SELECT {columns} FROM staging.review_decisions ORDER BY ALL").fetchall()
    con.execute("DELETE FROM staging.review_decisions")
    stage_review_decisions(con)
    assert con.execute(f"SELECT {columns} FROM staging.review_decisions ORDER BY ALL").fetchall() == kept


def test_rows_repeated_on_either_side_fall_back_to_a_whole_rewrite(tmp_path):
    # {A, A, B} against staged {A, B, B}: the anti joins change nothing and the counts agree, so
    # only a multiset comparison sees the difference (the review, round 22).
    con = _warehouse(tmp_path / "w.duckdb")
    stage_review_decisions(con)
    first, second = con.execute(f"SELECT {_COLUMNS} FROM staging.review_decisions"
                                " ORDER BY _source_row").fetchall()
    con.execute(f"CREATE OR REPLACE TEMP TABLE decisions_staged AS SELECT {_COLUMNS}"
                " FROM staging.review_decisions"
                " WHERE _source_row = 2")
    con.execute(f"INSERT INTO decisions_staged SELECT {_COLUMNS} FROM staging.review_decisions")
    con.execute(f"INSERT INTO staging.review_decisions BY NAME SELECT {_COLUMNS}"
                " FROM staging.review_decisions WHERE _source_row = 1")
    _write_changed(con)
    got = con.execute(f"SELECT {_COLUMNS} FROM staging.review_decisions ORDER BY _source_row").fetchall()
    assert got == [first, second, second]
