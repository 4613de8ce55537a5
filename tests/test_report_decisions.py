"""Decisions recorded where finance works (issue 20, item 9): the published finance workbook, its
Decision column filled and dropped into the landing folder, becomes review decisions on the next
run; an entry that cannot be read is quarantined with its cell named; counts reconcile."""

import shutil
from datetime import datetime

import duckdb
import openpyxl
import pytest

from ingest.decision_workbook import read_entries
from tests import report_msp
from tests.publish_demo import msp_paths
from tests.test_report_editions import _section, _text


@pytest.fixture
def msp(tmp_path, tmp_path_factory):
    """A copy of the report MSP (built once per process) to change and re-run."""
    report_msp.copy_built(tmp_path_factory, tmp_path)
    with msp_paths(tmp_path) as env:
        yield env


def _fill(path, decisions: dict[str, tuple]) -> dict[str, str]:
    """Write (decision, note, reviewer, decided at) per ticket into the Review queue sheet; return
    the Decision cell of each ticket."""
    book = openpyxl.load_workbook(path)
    sheet = book["Review queue"]
    header = [c.value for c in sheet[1]]
    cells = {}
    for row in sheet.iter_rows(min_row=2):
        ticket = row[header.index("Ticket")].value
        if ticket in decisions:
            for name, value in zip(("Decision", "Note", "Reviewer", "Decided at"),
                                   decisions[ticket], strict=True):
                row[header.index(name)].value = value
            cells[ticket] = row[header.index("Decision")].coordinate
    book.properties.lastModifiedBy = "finance.jane"
    book.save(path)
    return cells


def test_a_filled_finance_workbook_becomes_review_decisions(msp, tmp_path):
    before = tmp_path / "before"
    report_msp.publish_to(msp, before)
    assert "USD 312.00" in _text(before / "2026-01" / "client-ACME.html")
    workbook = msp["landing"] / "out-of-scope-2026-01.xlsx"
    shutil.copyfile(before / "2026-01" / "out-of-scope-2026-01.xlsx", workbook)
    cells = _fill(workbook, {
        "A-PEND": ("approve", "agreed on the phone", None, None),
        "A-VT": ("reject", "goodwill", "am.omar", datetime(2026, 2, 3, 9, 30)),
        "B-MIG": ("note", "ask the client which mailboxes", None, None),
        "B-1": ("aprove", None, None, None),
    })
    # A line of a ticket nobody delivered (typed in by hand): refused with its cell named.
    book = openpyxl.load_workbook(workbook)
    queue = book["Review queue"]
    header = [c.value for c in queue[1]]
    queue.append([{"Ticket": "NOPE-1", "Scope exclusion(s)": "onsite",
                   "Decision": "approve"}.get(h) for h in header])
    unknown_cell = queue.cell(row=queue.max_row, column=header.index("Decision") + 1).coordinate
    book.save(workbook)
    delivered = workbook.read_bytes()

    report_msp.run_all_without_reports()
    after = tmp_path / "after"
    report_msp.publish_to(msp, after)

    with duckdb.connect(str(msp["warehouse"]), read_only=True) as con:
        decisions = con.execute(
            "SELECT ticket_id, decision, reviewer, strftime(decided_at AT TIME ZONE 'UTC', '%m-%d %H:%M'),"
            " note, is_current FROM staging.review_decisions"
            " WHERE _source_file = 'out-of-scope-2026-01.xlsx' ORDER BY ticket_id, decision").fetchall()
        quarantined = con.execute(
            "SELECT source_row, field, raw_value, reason FROM quality.quarantine"
            " WHERE source_file = 'out-of-scope-2026-01.xlsx'").fetchall()
        counts = con.execute(
            "SELECT delivered, accepted, quarantined, superseded FROM quality.file_reconciliation"
            " WHERE path = 'out-of-scope-2026-01.xlsx'").fetchone()
        extra = con.execute("SELECT _extra->>'cell', _extra->>'entry' FROM raw.review_decisions"
                            " WHERE ticket_id = 'A-PEND' AND _source_file LIKE '%.xlsx'").fetchone()
    rows = {(d[0], d[1]): d[2:] for d in decisions}
    # Reviewer and time from the row, else the workbook's last editor and save time; note kept.
    assert rows[("A-VT", "scope:onsite=rejected")] == ("am.omar", "02-03 09:30", "goodwill", True)
    approved = rows[("A-PEND", "scope:onsite=approved")]
    assert approved[0] == "finance.jane" and approved[2:] == ("agreed on the phone", True)
    # A note decides nothing: kept with its text, never the decision in force.
    noted = [k for k in rows if k[0] == "B-MIG"]
    assert noted and all(k[1].endswith("=noted") and rows[k][2:] == (
        "ask the client which mailboxes", False) for k in noted)
    assert extra == (cells["A-PEND"], "approve")
    reasons = {(q[1], q[2]): q[3] for q in quarantined}
    assert set(reasons) == {("decision", "aprove"), ("ticket_id", "NOPE-1")}
    assert reasons[("decision", "aprove")] == (f"out-of-scope-2026-01.xlsx, sheet Review queue,"
                                              f" cell {cells['B-1']}: 'aprove' is not approve/reject/note")
    assert reasons[("ticket_id", "NOPE-1")].startswith(
        f"out-of-scope-2026-01.xlsx, sheet Review queue, cell {unknown_cell}: no ticket with this"
        " ticket_id was delivered")
    assert counts == (len(decisions) + 2, len(decisions), 2, 0)
    # Raw keeps the file as delivered; the client's bill now holds the approved line.
    assert workbook.read_bytes() == delivered
    client = _text(after / "2026-01" / "client-ACME.html")
    billed = _section(client, "Out-of-scope work billed", "Rows held back")
    assert "USD 924.00" in billed and "under review" not in billed


def test_entries_that_cannot_be_read_name_their_cell(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Review queue"
    sheet.append(["Ticket", "Scope exclusion(s)", "Decision", "Note", "Reviewer", "Decided at"])
    sheet.append(["T1", "onsite", "Approve ", None, "x", "2026-02-01T10:00:00+01:00"])
    sheet.append(["T2", "onsite", "maybe", None, None, None])
    sheet.append(["T3", "teleport", "reject", None, None, None])
    sheet.append(["T4", "onsite", "note", None, None, None])
    sheet.append(["T5", "onsite", None, "a note without a decision", None, None])
    sheet.append(["T6", "onsite", "reject", None, None, "last Tuesday"])
    sheet.append([None, "onsite", "approve", None, None, None])
    sheet.append(["T8", "onsite", None, None, None, None])  # not filled in: not an entry
    # An after-hours emergency line: approving it confirms the emergency.
    sheet.append(["T9", "after_hours_emergency", "approve", None, None, None])
    path = tmp_path / "out-of-scope-2026-02.xlsx"
    book.save(path)
    entries = read_entries(path, path.name)
    assert [(r["ticket_id"], r["decision"], r["decided_at"]) for r in entries.rows] == [
        ("T1", "scope:onsite=approved", "2026-02-01T10:00:00+01:00"),
        ("T9", "emergency=confirmed", entries.rows[1]["decided_at"])]
    prefix = "out-of-scope-2026-02.xlsx, sheet Review queue, cell"
    assert [r["reason"] for r in entries.rejects] == [
        f"{prefix} C3: 'maybe' is not approve/reject/note",
        f"{prefix} B4: 'teleport' is not a scope exclusion id of the policy (or ids separated"
        " by ';')",
        f"{prefix} D5: decision 'note' without a note",
        f"{prefix} C6: a note in cell D6 without a decision (approve/reject/note)",
        f"{prefix} F7: 'last Tuesday' is not a date and time",
        f"{prefix} A8: no ticket id beside the decision",
    ]
    assert [r["row"] for r in entries.rejects] == [2, 3, 4, 5, 6, 7]
