"""Response-time SLA on hand-built tickets whose business minutes are worked out by hand."""

import pytest

from demo.generate import CLIENT_COLUMNS, EVENT_COLUMNS, TICKET_COLUMNS
from tests.builders import client, ticket, write_csv

AS_OF = "2026-01-20T09:00:00+00:00"


def event(ticket_id: str, at: str, event_type: str, actor_type: str = "agent", public: bool = True,
          new_value: str = "") -> dict:
    return {"event_id": f"{ticket_id}-{event_type}-{at}", "ticket_id": ticket_id, "event_at": at,
            "event_type": event_type, "actor_type": actor_type, "actor": "x",
            "is_public": str(public).lower(), "new_value": new_value}


@pytest.fixture
def sla_msp(msp_env, monkeypatch):
    monkeypatch.setenv("MSP_AS_OF", AS_OF)
    landing = msp_env["landing"]
    write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, [
        client("LON", 20, "2025-01-01"),
        client("NYC", 20, "2025-01-01", timezone="America/New_York", country="US", subdivision="NY",
               after_hours_coverage="true", business_hours="mon-fri 09:00-17:00",
               response_targets="high=90"),
    ])
    tickets = [
        # Opened Friday evening, answered Monday 09:30: the clock starts Monday 08:00.
        ticket("T1", "LON", "2026-01-09T18:30:00+00:00"),
        # Opened on Christmas Eve after hours: Christmas Day and Boxing Day are skipped.
        ticket("T2", "LON", "2025-12-24T18:30:00+00:00"),
        # Declared emergency at intake (triage says normal): the intake priority sets the target.
        ticket("T3", "LON", "2026-01-12T10:00:00+00:00", declared_emergency="true"),
        # Emergency on a Saturday for a client with after-hours cover: the 24x7 clock.
        ticket("T4", "NYC", "2026-01-10T15:00:00+00:00", declared_emergency="true"),
        # High priority with the contract's own 90-minute target, in New York hours.
        ticket("T5", "NYC", "2026-01-12T14:00:00+00:00", triage_priority="P2", final_priority="High"),
        # No response; the 240-minute target passed on Tuesday 13:00: breached.
        ticket("T6", "LON", "2026-01-13T09:00:00+00:00"),
        # No response, low priority, opened an hour before closing: still pending at the as-of time.
        ticket("T7", "LON", "2026-01-19T17:00:00+00:00", triage_priority="P4", final_priority="Low"),
        # Provider-initiated: no SLA applies.
        ticket("T8", "LON", "2026-01-14T03:00:00+00:00", source="monitoring"),
        # Across the start of British Summer Time (Sunday 29 March 2026).
        ticket("T9", "LON", "2026-03-27T17:00:00+00:00"),
    ]
    write_csv(landing / "tickets" / "tickets.csv", TICKET_COLUMNS, tickets)
    write_csv(landing / "ticket_events" / "events.csv", EVENT_COLUMNS, [
        event("T1", "2026-01-09T18:30:20+00:00", "auto_acknowledgement", "system"),
        event("T1", "2026-01-10T11:00:00+00:00", "client_reply", "client"),
        event("T1", "2026-01-12T09:00:00+00:00", "internal_note", public=False),
        event("T1", "2026-01-12T09:30:00+00:00", "agent_reply"),
        event("T2", "2025-12-29T09:00:00+00:00", "status_change", new_value="in_progress"),
        event("T3", "2026-01-12T11:30:00+00:00", "priority_change", public=False, new_value="P3"),
        event("T4", "2026-01-10T16:30:00+00:00", "agent_reply"),
        event("T5", "2026-01-12T15:00:00+00:00", "agent_reply"),
        event("T6", "2026-01-13T08:59:00+00:00", "auto_acknowledgement", "system"),
        event("T9", "2026-03-30T08:30:00+00:00", "agent_reply"),
    ])
    return msp_env


def _facts(query) -> dict[str, tuple]:
    rows = query("""SELECT ticket_id, target_priority, calendar_used, response_target_minutes,
                           response_business_minutes, response_met, response_status, sla_explanation
                    FROM marts.ticket_facts""")
    return {r[0]: r[1:] for r in rows}


def test_response_clock_known_answers(sla_msp, run_pipeline, query):
    run_pipeline(["2025-12-01", "2026-01-01", "2026-03-01"])
    facts = _facts(query)
    assert facts["T1"][:6] == ("normal", "LON", 240, 90, True, "met")
    assert facts["T1"][6] == (
        "Opened Fri 09 Jan 18:30 (outside hours, Europe/London). Clock started Mon 12 Jan 08:00."
        " First agent action Mon 12 Jan 09:30 (agent_reply). 90 business minutes against a"
        " 240-minute normal target: met with 150 to spare."
    )
    assert facts["T2"][3:6] == (60, True, "met")
    assert "(Boxing Day, Christmas Day skipped)" in facts["T2"][6]
    assert facts["T3"][:6] == ("emergency", "LON", 60, 90, False, "breached")
    assert facts["T3"][6].endswith("90 business minutes against a 60-minute emergency target: missed by 30.")
    assert facts["T4"][:6] == ("emergency", "24x7", 60, 90, False, "breached")
    assert "24x7 emergency cover" in facts["T4"][6]
    assert facts["T5"][:6] == ("high", "NYC", 90, 60, True, "met")
    assert facts["T6"][3:6] == (None, False, "breached")
    assert facts["T6"][6] == ("Opened Tue 13 Jan 09:00 (in hours, Europe/London). No agent action yet;"
                              " the 240-minute normal target passed at Tue 13 Jan 13:00.")
    assert facts["T7"][3:6] == (None, None, "pending")
    assert facts["T7"][6].endswith("the 480-minute low target passes at Tue 20 Jan 15:00.")
    assert facts["T8"][:6] == (None, None, None, None, None, None)
    assert facts["T9"][3:6] == (150, True, "met")  # Fri 17:00-18:00 GMT + Mon 08:00-09:30 BST


def test_client_month_sla_columns(sla_msp, run_pipeline, query):
    run_pipeline(["2026-01-01"])
    lon = query("SELECT sla_tickets, sla_met, round(sla_compliance, 4), response_p50_minutes,"
                " response_p90_minutes FROM marts.client_month WHERE client_id = 'LON'")
    # T1 met (90), T3 breached (90), T6 breached (no response), T7 pending; T8 has no SLA.
    assert lon == [(3, 1, 0.3333, 90.0, 90.0)]
    by_priority = query("SELECT priority, sla_tickets, sla_met, sla_breached, sla_pending"
                        " FROM marts.client_month_sla WHERE client_id = 'LON' ORDER BY priority")
    assert by_priority == [("emergency", 1, 0, 1, 0), ("low", 0, 0, 0, 1), ("normal", 2, 1, 1, 0)]
    breaches = {r[0] for r in query("SELECT ticket_id FROM marts.sla_breaches")}
    assert breaches == {"T3", "T4", "T6"}


def test_source_verdict_reconciliation(sla_msp, run_pipeline, query):
    path = sla_msp["landing"] / "tickets" / "tickets.csv"
    text = path.read_text().splitlines()
    header = text[0] + ",source_sla_met"
    verdicts = {"T1": "true", "T3": "true", "T5": "true"}
    rows = [line + "," + verdicts.get(line.split(",")[0], "") for line in text[1:]]
    path.write_text("\n".join([header, *rows]) + "\n")
    run_pipeline(["2026-01-01"])
    assert query("SELECT client_id, tickets_compared, agree, disagree FROM marts.sla_reconciliation"
                 " ORDER BY client_id") == [("LON", 2, 1, 1), ("NYC", 1, 1, 0)]


def test_report_shows_breaches_with_explanations(sla_msp, run_pipeline):
    run_pipeline(["2026-01-01"])
    html = (sla_msp["published"] / "2026-01" / "client-LON.html").read_text()
    assert "Response times" in html and "missed by 30" in html
    assert "target passed at Tue 13 Jan 13:00" in html
