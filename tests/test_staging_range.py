"""Staging over a run's months at once: child rows in passes (staging_sql.children), moved tickets.

The range's statements must give what staging its months one after another gives, including
where months hand rows to each other: a row of a ticket quarantined in two months is
quarantined in the later one only, and a row judged earlier as a row of a ticket never delivered
moves to its ticket's month once the ticket is loaded. A warehouse of a few hand-written rows.
"""

from pathlib import Path

import duckdb
import pytest

from policy.config import default_policy
from staging_sql import children
from staging_sql.children import judge_children, passes, stage_events
from staging_sql.rules import child_rules
from warehouse.schema import ensure_warehouse

JAN, FEB = "2026-01-01", "2026-02-01"
FILE = ("f-events", "ticket_events/events.csv")


def _warehouse(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        ensure_warehouse(con)
        con.execute("INSERT INTO raw.landing_files (file_id, entity, path, format, bytes, first_seen_at,"
                    " status, min_month, max_month) VALUES (?, 'ticket_events', ?, 'csv', 1, now(),"
                    " 'accepted', ?, ?)", [*FILE, JAN, FEB])
        for i, (tid, month) in enumerate((("T1", JAN), ("T2", FEB), ("TQ", JAN)), start=1):
            con.execute("INSERT INTO raw.tickets (ticket_id, client_id, created_at, _file_id,"
                        " _source_file, _source_row, _loaded_at, _partition_month)"
                        " VALUES (?, 'ACME', ?, 'f-t', 'tickets/t.csv', ?, now(), ?)",
                        [tid, f"{month}T10:00:00Z", i, month])
        for tid, month in (("T1", JAN), ("T2", FEB)):
            con.execute("INSERT INTO staging.tickets (ticket_id, client_id, month, created_at,"
                        " created_local, is_provider_initiated, versions_delivered, _source_file,"
                        " _source_row) VALUES (?, 'ACME', ?, ?, ?, false, 1, 'tickets/t.csv', 1)",
                        [tid, month, f"{month} 09:00:00+00", f"{month} 09:00:00"])
        # TQ was refused in both months (e.g. delivered again with the same defect).
        for month in (JAN, FEB):
            con.execute("INSERT INTO quality.quarantine VALUES ('staging_tickets', 'tickets', ?,"
                        " 'tickets/t.csv', 3, 'TQ', 'ACME', 'client_id', 'x', 'unknown_client',"
                        " 'no contract', now())", [month])
        events = [("E1", "T1", f"{JAN[:8]}05T10:00:00Z"), ("E2", "T2", f"{FEB[:8]}05T10:00:00Z"),
                  ("E3", "TQ", f"{FEB[:8]}05T10:00:00Z"), ("E4", "GHOST", f"{FEB[:8]}06T10:00:00Z")]
        for row, (eid, tid, at) in enumerate(events, start=1):
            con.execute("INSERT INTO raw.ticket_events VALUES (?, ?, ?, 'agent_reply', 'agent', 'sam',"
                        " 'true', NULL, ?, ?, ?, now(), NULL)", [eid, tid, at, *FILE, row])
        # An earlier run judged E2 in January, as a row of a ticket not delivered then.
        con.execute("INSERT INTO quality.quarantine VALUES ('staging_ticket_events', 'ticket_events',"
                    " ?, ?, 2, 'T2', NULL, 'ticket_id', 'T2', 'unknown_ticket', 'old', now())",
                    [JAN, FILE[1]])


def _stage(path: Path, ranges: list[list[str]]) -> tuple[list, list]:
    rules = child_rules("ticket_events", default_policy())
    with duckdb.connect(str(path)) as con:
        ensure_warehouse(con)
        for months in ranges:
            judge_children("ticket_events")(con, months)
            stage_events(con, months, rules)
        staged = con.execute("SELECT event_id, month FROM staging.ticket_events ORDER BY 1").fetchall()
        quarantined = con.execute(
            "SELECT source_row, partition_month, reason_code, reason FROM quality.quarantine"
            " WHERE stage = 'staging_ticket_events' ORDER BY 1, 2").fetchall()
    return staged, quarantined


@pytest.mark.parametrize(("ranges", "rows_per_pass"), [
    ([[JAN, FEB]], children.ROWS_PER_PASS), ([[JAN, FEB]], 1), ([[JAN], [FEB]], children.ROWS_PER_PASS),
], ids=["one pass", "a pass per month", "a run per month"])
def test_a_range_in_one_pass_stages_what_its_months_one_by_one_do(tmp_path, monkeypatch, ranges,
                                                                   rows_per_pass):
    monkeypatch.setattr(children, "ROWS_PER_PASS", rows_per_pass)
    _warehouse(tmp_path / "w.duckdb")
    staged, quarantined = _stage(tmp_path / "w.duckdb", ranges)
    assert [(e, m.isoformat()) for e, m in staged] == [("E1", JAN), ("E2", FEB)]
    # E2's old January judgement is gone; E3 (its ticket refused in both months) is quarantined
    # in February only, saying why its ticket was; E4 in its own month.
    assert [(row, m.isoformat(), code) for row, m, code, _ in quarantined] == [
        (3, FEB, "ticket_quarantined"), (4, FEB, "unknown_ticket")]
    assert quarantined[0][3].endswith(": tickets/t.csv row 3, no contract")


def test_passes_hold_consecutive_months_up_to_the_row_budget():
    """A pass takes months until the next would pass the budget; a month is never split."""
    with duckdb.connect() as con:
        con.execute("CREATE TEMP TABLE child_index AS SELECT CAST(m AS DATE) AS judged_month"
                    " FROM (SELECT unnest(['2026-01-01', '2026-01-01', '2026-02-01',"
                    " '2026-03-01', '2026-03-01', '2026-03-01']) AS m)")
        months = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
        assert passes(con, months, rows=3) == [months[:2], months[2:]]
        assert passes(con, months, rows=1) == [[m] for m in months]
        assert passes(con, months, rows=100) == [months]


def test_latest_partitions_list_only_tickets_delivered_under_several_months(tmp_path):
    """staging_tickets finds moved tickets from one pass over the raw tickets per run: the
    partition of the latest version of each ticket delivered under more than one month."""
    from staging_sql.tickets import latest_partitions

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_warehouse(con)
        con.execute("INSERT INTO raw.landing_files (file_id, entity, path, format, bytes,"
                    " first_seen_at, status) VALUES ('f1', 'tickets', 't1.csv', 'csv', 1,"
                    " TIMESTAMPTZ '2026-02-01 00:00:00+00', 'accepted'), ('f2', 'tickets', 't2.csv',"
                    " 'csv', 1, TIMESTAMPTZ '2026-03-01 00:00:00+00', 'accepted')")
        rows = [("M1", "2026-01-10T00:00:00Z", "f1", "t1.csv", 1, JAN),   # moved: corrected later
                ("M1 ", "2026-01-20T00:00:00Z", "f2", "t2.csv", 1, FEB),
                ("S1", "2026-01-10T00:00:00Z", "f1", "t1.csv", 2, JAN),   # delivered twice, one month
                ("S1", "2026-01-20T00:00:00Z", "f2", "t2.csv", 2, JAN)]
        for tid, updated, file_id, path, row, month in rows:
            con.execute("INSERT INTO raw.tickets (ticket_id, updated_at, _file_id, _source_file,"
                        " _source_row, _loaded_at, _partition_month) VALUES (?, ?, ?, ?, ?, now(), ?)",
                        [tid, updated, file_id, path, row, month])
        listed = {}
        # A run lists its own months' tickets only (a month joins its own tickets to the table).
        for months in ([JAN, FEB], [JAN], [FEB], ["2026-03-01"]):
            with latest_partitions(con, months) as table:
                listed[months[-1] if len(months) == 1 else "both"] = [
                    (t, m.isoformat()) for t, m in
                    con.execute(f"SELECT ticket_id, _partition_month FROM {table}").fetchall()]
    assert listed == {"both": [("M1", FEB)], JAN: [("M1", FEB)], FEB: [("M1", FEB)],
                      "2026-03-01": []}
