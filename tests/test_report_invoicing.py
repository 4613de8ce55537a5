"""Closed months stay closed: once January's export is marked invoiced, a later decision that
changes its billed lines leaves January's export as invoiced and shows up as an adjustment in
February's, the next open month."""

import importlib

import dagster as dg
import openpyxl
import pytest

from demo.generate import DECISION_COLUMNS
from reports import invoicing
from tests import report_msp
from tests.builders import TICKET_COLUMNS, routine, write_csv
from tests.publish_demo import msp_paths

FEB = "2026-02-01"


def _run(months: list[str]) -> None:
    import pipelines.definitions
    from pipelines.run import run_all

    importlib.reload(pipelines.definitions)
    run_all(months, instance=dg.DagsterInstance.ephemeral(), reports=False, docs=False)


@pytest.fixture
def msp(tmp_path, tmp_path_factory):
    """The report MSP as built for January (a copy of the session's build), then two routine
    February tickets delivered and February run."""
    report_msp.copy_built(tmp_path_factory, tmp_path)
    with msp_paths(tmp_path) as env:
        write_csv(env["landing"] / "tickets" / "tickets_2026-02.csv", TICKET_COLUMNS,
                  routine("A-F", "ACME", "2026-02-10", 2))
        _run([FEB])
        yield env


def test_an_invoiced_month_keeps_its_export_and_changes_become_adjustments(msp):
    root = msp["published"]
    for month in (report_msp.JAN, FEB):
        report_msp.publish_to(msp, root, month)
    jan_csv = root / "2026-01" / "out-of-scope-2026-01.csv"
    invoiced = jan_csv.read_bytes()
    with msp_paths(msp["warehouse"].parent):
        invoicing.main(["--month", "2026-01"])
    # Finance approves a line of January after invoicing it (USD 612.00).
    write_csv(msp["landing"] / "review_decisions" / "review_decisions_late.csv", DECISION_COLUMNS, [
        {"ticket_id": "A-PEND", "decision": "scope:onsite=approved", "reviewer": "finance.jane",
         "decided_at": "2026-02-20T10:00:00+00:00", "note": "late approval"}])
    with msp_paths(msp["warehouse"].parent):
        _run([report_msp.JAN, FEB])
    for month in (report_msp.JAN, FEB):
        report_msp.publish_to(msp, root, month)
    assert jan_csv.read_bytes() == invoiced
    assert "invoiced, closed" in (root / "2026-01" / "index.html").read_text()
    book = openpyxl.load_workbook(root / "2026-02" / "out-of-scope-2026-02.xlsx")
    rows = [[c.value for c in row] for row in book["Adjustments"].iter_rows()]
    assert rows[0][:3] == ["Month of work", "Ticket", "Client id"]
    assert [r[:2] + r[4:8] for r in rows[1:]] == [["2026-01", "A-PEND", 0.0, 612.0, 612.0, "USD"]]
    assert (root / "2026-02" / "out-of-scope-2026-02-adjustments.csv").exists()
    assert "1 adjustment(s) to invoiced months" in (root / "2026-02" / "index.html").read_text()
