"""Scope exclusions to money: contract inclusion, review decisions, rates and the finance export."""

import csv

import openpyxl
import pytest

from demo.generate import CLIENT_COLUMNS, DECISION_COLUMNS, TICKET_COLUMNS
from tests.builders import client, ticket, write_csv
from tests.conftest import copy_build, publish_reports, use_build

JAN = "2026-01-01"


def entry(entry_id: str, ticket_id: str, started_at: str, minutes: int, work_type: str = "remote",
          billable: bool = True, note: str = "") -> dict:
    return {"entry_id": entry_id, "ticket_id": ticket_id, "started_at": started_at,
            "minutes": minutes, "work_type": work_type, "billable": billable, "note": note}


def _billing_landing(landing) -> None:
    """Three clients, January's tickets, time entries and review decisions."""
    write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, [
        client("ACME", 20, "2025-01-01", hourly_rate="140"),
        client("BETA", 20, "2025-01-01", included_scope="procurement"),
        client("GAMMA", 20, "2025-01-01", after_hours_coverage="true"),
    ])
    write_csv(landing / "tickets" / "tickets.csv", TICKET_COLUMNS, [
        ticket("ONSITE", "ACME", "2026-01-12T10:00:00+00:00",
               subject="Engineer needed on site to replace the broken switch",
               description="Please send a technician to our office to swap the switch."),
        ticket("ROUTINE", "ACME", "2026-01-12T11:00:00+00:00"),
        ticket("ADDED", "ACME", "2026-01-12T12:00:00+00:00", subject="Question about printers",
               description="Can you look at how our printers are set up?"),
        ticket("PROC", "BETA", "2026-01-13T10:00:00+00:00", subject="Please order 10 new laptops",
               description="We need to buy ten laptops for the new sales team; please arrange the purchase."),
        ticket("MIG", "BETA", "2026-01-13T11:00:00+00:00",
               subject="Migrate all our mailboxes to Microsoft 365",
               description="Move the whole company's email from the on-premises Exchange server."),
        ticket("MIG2", "BETA", "2026-01-14T11:00:00+00:00",
               subject="Migrate the entire file server to SharePoint Online",
               description="All departments' shared folders need to move to the cloud."),
        ticket("EMER", "BETA", "2026-01-15T11:00:00+00:00", declared_emergency="true",
               subject="URGENT keyboard", description="My space bar sticks."),
        # Emergencies worked on at 21:00: billable for ACME (no after-hours cover), not for GAMMA.
        ticket("AHE", "ACME", "2026-01-14T17:30:00+00:00", final_priority="Critical",
               subject="Server room power failure", description="All systems down."),
        ticket("AHE2", "GAMMA", "2026-01-14T17:30:00+00:00", final_priority="Critical",
               subject="Server room power failure", description="All systems down."),
        # Opened by the provider's own monitoring: the same confident call waits for review.
        ticket("MONMIG", "ACME", "2026-01-16T11:00:00+00:00", source="monitoring",
               subject="Migrate all our mailboxes to Microsoft 365",
               description="Move the whole company's email from the on-premises Exchange server."),
    ])
    write_csv(landing / "time_entries" / "time_entries.csv",
              ["entry_id", "ticket_id", "started_at", "minutes", "work_type", "billable", "note"], [
        entry("W1", "ONSITE", "2026-01-14T09:00:00+00:00", 30, "travel", note="Travel to site"),
        entry("W2", "ONSITE", "2026-01-14T09:30:00+00:00", 90, "onsite", note="Replaced switch"),
        entry("W3", "ROUTINE", "2026-01-12T11:10:00+00:00", 10, billable=False),
        entry("W4", "ADDED", "2026-01-12T12:10:00+00:00", 45),
        entry("W5", "PROC", "2026-01-13T10:30:00+00:00", 60),
        entry("W6", "MIG", "2026-01-14T09:00:00+00:00", 600, note="Migration batch 1"),
        entry("W7", "MIG", "2026-01-15T09:00:00+00:00", 30, billable=False, note="Internal review"),
        entry("W8", "MIG2", "2026-01-16T09:00:00+00:00", 240),
        entry("W9", "AHE", "2026-01-14T21:00:00+00:00", 60, note="Restored power feed"),
        entry("W10", "AHE", "2026-01-14T17:40:00+00:00", 15, note="Triage"),
        entry("W11", "AHE2", "2026-01-14T21:00:00+00:00", 60, note="Restored power feed"),
        entry("W12", "MONMIG", "2026-01-19T09:00:00+00:00", 600, note="Migration batch 1"),
    ])
    write_csv(landing / "review_decisions" / "review_decisions.csv", DECISION_COLUMNS, [
        {"ticket_id": "ONSITE", "decision": "scope:onsite=approved", "reviewer": "finance.jane",
         "decided_at": "2026-02-02T10:00:00+00:00", "note": "agreed with client"},
        {"ticket_id": "ADDED", "decision": "scope:structured_project=approved",
         "reviewer": "finance.jane", "decided_at": "2026-02-02T10:05:00+00:00", "note": ""},
        {"ticket_id": "MIG2", "decision": "scope:major_migration=approved", "reviewer": "finance.jane",
         "decided_at": "2026-02-02T10:06:00+00:00", "note": ""},
        # A later decision on the same question wins; the earlier one stays in the audit trail.
        {"ticket_id": "MIG2", "decision": "scope:major_migration=rejected", "reviewer": "am.omar",
         "decided_at": "2026-02-03T10:00:00+00:00", "note": "covered by the migration deal"},
        {"ticket_id": "EMER", "decision": "emergency=denied", "reviewer": "sd.lead",
         "decided_at": "2026-02-03T11:00:00+00:00", "note": "single user, cosmetic"},
    ])


@pytest.fixture
def billing_jan(builds):
    """The billing MSP run for January, built once and shared: tests read it or copy it."""
    return builds("billing", _billing_landing, (JAN,))


@pytest.fixture
def billing_built(billing_jan, msp_env, monkeypatch):
    return use_build(monkeypatch, billing_jan)


def test_scope_hits_with_contract_and_review(billing_built, query):
    hits = {(r[0], r[1]): r[2:] for r in query(
        "SELECT ticket_id, scope_id, source, review_status, reviewer, included_in_contract, billable"
        " FROM marts.scope_hits")}
    assert hits[("ONSITE", "onsite")] == ("automated", "approved", "finance.jane", False, True)
    assert hits[("ADDED", "structured_project")] == ("review", "approved", "finance.jane", False, True)
    assert hits[("PROC", "procurement")][3:] == (True, False)  # included in BETA's agreement
    assert hits[("MIG", "major_migration")] == ("automated", "unreviewed", None, False, True)
    assert hits[("MIG2", "major_migration")] == ("automated", "rejected", "am.omar", False, False)
    # MIG's text, opened by the provider's monitoring: not billable until a reviewer approves it
    assert hits[("MONMIG", "major_migration")] == ("automated", "unreviewed", None, False, False)
    held = query("SELECT call_state, automated_call_state, evidence FROM marts.scope_hits"
                 " WHERE ticket_id = 'MONMIG' AND scope_id = 'major_migration'")[0]
    assert held[:2] == ("needs review", "needs review")
    assert held[2].endswith("opened by the provider itself: held for review"), held
    assert query("SELECT call_state FROM marts.scope_hits WHERE ticket_id = 'MIG'"
                 " AND scope_id = 'major_migration'")[0] == ("confident",)
    assert not any(key[0] == "ROUTINE" for key in hits)
    facts = {r[0]: r[1:] for r in query(
        "SELECT ticket_id, is_standard, billable_out_of_scope, scope_categories FROM marts.ticket_facts")}
    assert facts["ROUTINE"] == (True, False, [])
    assert facts["PROC"][:2] == (False, False)  # out of standard scope, but not billed
    assert facts["MIG2"] == (True, False, [])  # the reviewer rejected the only hit
    assert facts["ONSITE"][1] is True


def test_amounts_are_hours_times_rate(billing_built, query):
    lines = {r[0]: r[1:] for r in query(
        "SELECT ticket_id, billable_hours, hourly_rate, rate_source, amount, review_status"
        " FROM marts.out_of_scope")}
    assert lines["ONSITE"] == (2.0, 140.0, "contract", 280.0, "approved")
    assert lines["ADDED"] == (0.75, 140.0, "contract", 105.0, "approved")
    # BETA has no contract rate: the rate card default; the non-billable entry is not counted.
    assert lines["MIG"] == (10.0, 150.0, "rate card default", 1500.0, "unreviewed")
    # Only the hour after closing is billed; GAMMA's contract covers after-hours emergencies.
    assert lines["AHE"] == (1.0, 140.0, "contract", 140.0, "unreviewed")
    assert set(lines) == {"ONSITE", "ADDED", "MIG", "AHE"}
    month = query("SELECT client_id, out_of_scope_tickets, out_of_scope_hours, out_of_scope_amount"
                  " FROM marts.client_month ORDER BY client_id")
    assert month == [("ACME", 3, 3.75, 525.0), ("BETA", 1, 10.0, 1500.0), ("GAMMA", 0, 0.0, 0.0)]


def test_emergency_review_overrides_and_survives_redelivery(billing_jan, msp_env, run_pipeline,
                                                           query):
    billing_msp = copy_build(billing_jan, msp_env)  # as after a first run for January
    assert query("SELECT declared_emergency, confirmed_emergency, confirmed_by FROM marts.ticket_facts"
                 " WHERE ticket_id = 'EMER'") == [(True, False, "review by sd.lead")]
    write_csv(billing_msp["landing"] / "tickets" / "tickets_redelivered.csv", TICKET_COLUMNS, [
        ticket("EMER", "BETA", "2026-01-15T11:00:00+00:00", declared_emergency="true",
               subject="URGENT keyboard", description="My space bar sticks.", final_priority="Critical",
               updated_at="2026-01-20T00:00:00+00:00"),
        ticket("ONSITE", "ACME", "2026-01-12T10:00:00+00:00", status="closed",
               subject="Engineer needed on site to replace the broken switch",
               updated_at="2026-01-21T00:00:00+00:00"),
    ])
    run_pipeline([JAN])
    assert query("SELECT confirmed_emergency, confirmed_by FROM marts.ticket_facts"
                 " WHERE ticket_id = 'EMER'") == [(False, "review by sd.lead")]
    assert query("SELECT review_status FROM marts.scope_hits WHERE ticket_id = 'ONSITE'") == [
        ("approved",)]
    (declared, confirmed, precision), = query(
        "SELECT emergencies_declared, emergencies_confirmed, emergency_declaration_precision"
        " FROM marts.client_month WHERE client_id = 'BETA'")
    assert (declared, confirmed, precision) == (1, 0, 0.0)


def test_finance_export_csv_and_workbook(billing_jan, msp_env):
    billing_msp = copy_build(billing_jan, msp_env)
    publish_reports(billing_msp, (JAN,))
    folder = billing_msp["published"] / "2026-01"
    with (folder / "out-of-scope-2026-01.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["Ticket"] for r in rows] == ["MIG", "ONSITE", "AHE", "ADDED"]  # largest amount first
    assert rows[0]["Amount"] == "1500.0" and rows[0]["Review status"] == "unreviewed"
    book = openpyxl.load_workbook(folder / "out-of-scope-2026-01.xlsx")
    assert book.sheetnames == ["Line items", "Totals per client", "Review queue"]
    queue = [[c.value for c in row][:6] for row in book["Review queue"].iter_rows(min_row=2)]
    # The unreviewed billable lines (AHE's hit is automated and unreviewed too), one row each.
    assert sorted(q[1] for q in queue) == ["AHE", "MIG"]
    assert [q[2:6] for q in queue if q[1] == "MIG"] == [
        ["BETA", "BETA Ltd", "Migrate all our mailboxes to Microsoft 365", "major_migration"]]
    lines = book["Line items"]
    assert lines.freeze_panes == "A2" and lines.auto_filter.ref
    header = [c.value for c in lines[1]]
    amount = lines.cell(row=2, column=header.index("Amount") + 1)
    assert (amount.value, amount.number_format) == (1500.0, "#,##0.00")
    totals = book["Totals per client"]
    assert [[c.value for c in row] for row in totals.iter_rows(min_row=2)] == [
        ["BETA", "BETA Ltd", "USD", 1, 10.0, 0, 1500.0, 1500.0, 1],
        ["ACME", "ACME Ltd", "USD", 3, 3.75, 385.0, 140.0, 525.0, 1],
        ["TOTAL USD", "all clients", "USD", 4, 13.75, 385.0, 1640.0, 2025.0, 2],
    ]
    assert "out-of-scope-2026-01.xlsx" in (folder / "index.html").read_text()
