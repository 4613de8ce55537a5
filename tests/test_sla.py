"""Response-time SLA on hand-built tickets whose business minutes are worked out by hand."""

import os

import duckdb
import pytest

from demo.generate import CLIENT_COLUMNS, EVENT_COLUMNS, TICKET_COLUMNS
from tests.builders import client, ticket, write_csv
from tests.conftest import copy_build, publish_reports, use_build

AS_OF = "2026-01-20T09:00:00+00:00"


def event(ticket_id: str, at: str, event_type: str, actor_type: str = "agent", public: bool = True,
          new_value: str = "") -> dict:
    return {"event_id": f"{ticket_id}-{event_type}-{at}", "ticket_id": ticket_id, "event_at": at,
            "event_type": event_type, "actor_type": actor_type, "actor": "x",
            "is_public": str(public).lower(), "new_value": new_value}


def _sla_landing(landing) -> None:
    """Two clients (London, New York) and tickets whose response clocks are worked out by hand."""
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
    # The source system's own verdict on three tickets (an optional column), for reconciliation.
    for row in tickets:
        row["source_sla_met"] = {"T1": "true", "T3": "true", "T5": "true"}.get(row["ticket_id"], "")
    write_csv(landing / "tickets" / "tickets.csv", [*TICKET_COLUMNS, "source_sla_met"], tickets)
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


@pytest.fixture
def sla_msp(msp_env, monkeypatch):
    monkeypatch.setenv("MSP_AS_OF", AS_OF)
    _sla_landing(msp_env["landing"])
    return msp_env


@pytest.fixture
def sla_months(builds):
    """The SLA MSP run for December, January and March at AS_OF, once per session."""
    months = ("2025-12-01", "2026-01-01", "2026-03-01")
    return builds("sla", _sla_landing, months, MSP_AS_OF=AS_OF)


@pytest.fixture
def sla_built(sla_months, msp_env, monkeypatch):
    return use_build(monkeypatch, sla_months)


def _run_months(months: list[str]) -> None:
    """Rebuild the Definitions for the current MSP_* variables, then run ingest_job and the months'
    monthly_job without the report group (the facts are enough)."""
    import importlib

    import dagster as dg

    import pipelines.definitions
    from pipelines.run import run_all

    importlib.reload(pipelines.definitions)
    run_all(months, instance=dg.DagsterInstance.ephemeral(), reports=False, docs=False)


def _facts(query) -> dict[str, tuple]:
    rows = query("""SELECT ticket_id, target_priority, calendar_used, response_target_minutes,
                           response_business_minutes, response_met, response_status, sla_explanation
                    FROM marts.ticket_facts""")
    return {r[0]: r[1:] for r in rows}


def test_response_clock_known_answers(sla_built, query):
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
    # Opened and answered after the as-of instant: nothing of it had happened by then.
    assert facts["T9"][3:6] == (None, None, "pending")


def test_response_clock_across_the_start_of_summer_time(sla_msp, monkeypatch, query):
    monkeypatch.setenv("MSP_AS_OF", "2026-04-01T00:00:00+00:00")
    _run_months(["2026-03-01"])
    facts = _facts(query)
    assert facts["T9"][3:6] == (150, True, "met")  # Fri 17:00-18:00 GMT + Mon 08:00-09:30 BST


def test_client_month_sla_columns(sla_built, query):
    # January's rows of the shared build (it also holds December and March).
    lon = query("SELECT sla_tickets, sla_met, round(sla_compliance, 4), response_p50_minutes,"
                " response_p90_minutes FROM marts.client_month WHERE client_id = 'LON'"
                " AND month = '2026-01-01'")
    # T1 met (90), T3 breached (90), T6 breached (no response), T7 pending; T8 has no SLA.
    assert lon == [(3, 1, 0.3333, 90.0, 90.0)]
    by_priority = query("SELECT priority, sla_tickets, sla_met, sla_breached, sla_pending"
                        " FROM marts.client_month_sla WHERE client_id = 'LON'"
                        " AND month = '2026-01-01' ORDER BY priority")
    assert by_priority == [("emergency", 1, 0, 1, 0), ("low", 0, 0, 0, 1), ("normal", 2, 1, 1, 0)]
    breaches = {r[0] for r in query("SELECT ticket_id FROM marts.sla_breaches"
                                    " WHERE month = '2026-01-01'")}
    assert breaches == {"T3", "T4", "T6"}


def test_source_verdict_reconciliation(sla_built, query):
    # T1 met and T3 missed (the source says both met), T5 met as the source says; no other
    # ticket of any month carries a verdict.
    assert query("SELECT client_id, tickets_compared, agree, disagree FROM marts.sla_reconciliation"
                 " ORDER BY client_id") == [("LON", 2, 1, 1), ("NYC", 1, 1, 0)]


def test_report_shows_breaches_with_explanations(sla_months, msp_env):
    sla_msp = copy_build(sla_months, msp_env)
    publish_reports(sla_msp, ("2026-01-01",), MSP_AS_OF=AS_OF)
    html = (sla_msp["published"] / "2026-01" / "client-LON.html").read_text()
    assert "Response times" in html and "missed by 30" in html
    assert "target passed at Tue 13 Jan 13:00" in html


# --- The boundary: breached only once the elapsed business minutes exceed the target -------------

def test_unanswered_and_answered_tickets_agree_at_the_target(msp_env, monkeypatch, query):
    # Tue 20 Jan 2026, 17:30 UTC: after BRS's 17:00 close (London = UTC in January), 12:30 in
    # New York (in hours). Whole minutes are judged (seconds dropped from both ends).
    monkeypatch.setenv("MSP_AS_OF", "2026-01-20T17:30:00+00:00")
    landing = msp_env["landing"]
    write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, [
        client("BRS", 20, "2025-01-01", business_hours="mon-fri 09:00-17:00"),
        client("NYC", 20, "2025-01-01", timezone="America/New_York", country="US", subdivision="NY",
               business_hours="mon-fri 09:00-17:00", response_targets="high=90"),
    ])
    high = {"triage_priority": "P2", "final_priority": "High"}
    write_csv(landing / "tickets" / "tickets.csv", TICKET_COLUMNS, [
        # Due at the 17:00 close, no answer at 17:30: 240 business minutes, not more: pending.
        ticket("DUE-OPEN", "BRS", "2026-01-20T13:00:00+00:00"),
        # The same ticket answered at 17:20, after the close: 240 minutes, met with 0 to spare.
        ticket("DUE-ANS", "BRS", "2026-01-20T13:00:00+00:00"),
        # Answered 24 seconds into minute 241 of the clock: 240 whole minutes, met.
        ticket("SEC-MET", "BRS", "2026-01-20T09:00:00+00:00"),
        # Opened 09:00:10, answered 13:01:05: 241 whole minutes, missed by 1 (never "by 0").
        ticket("SEC-MISS", "BRS", "2026-01-20T09:00:10+00:00"),
        # Opened 12:59:30 (minute 12:59), no answer by the close: 241 minutes, breached.
        ticket("OVER", "BRS", "2026-01-20T12:59:30+00:00"),
        # In hours: 90 minutes of a 90-minute target have run exactly at the as-of instant.
        ticket("NY-EXACT", "NYC", "2026-01-20T16:00:00+00:00", **high),
        # The same, opened in the minute before: 91 minutes have run, breached.
        ticket("NY-OVER", "NYC", "2026-01-20T15:59:30+00:00", **high),
    ])
    write_csv(landing / "ticket_events" / "events.csv", EVENT_COLUMNS, [
        event("DUE-ANS", "2026-01-20T17:20:00+00:00", "agent_reply"),
        event("SEC-MET", "2026-01-20T13:00:24+00:00", "agent_reply"),
        event("SEC-MISS", "2026-01-20T13:01:05+00:00", "agent_reply"),
    ])
    _run_months(["2026-01-01"])
    facts = {r[0]: r[1:] for r in query(
        """SELECT ticket_id, response_business_minutes, response_met, response_status, sla_explanation
           FROM marts.ticket_facts""")}
    assert facts["DUE-OPEN"][:3] == (None, None, "pending")
    assert facts["DUE-OPEN"][3].endswith(
        "No agent action yet; the 240-minute normal target was used up at Tue 20 Jan 17:00;"
        " it is breached once a further business minute passes without one.")
    assert facts["DUE-ANS"][:3] == (240, True, "met")
    assert facts["DUE-ANS"][3].endswith("240 business minutes against a 240-minute normal target:"
                                        " met with 0 to spare.")
    assert facts["SEC-MET"][:3] == (240, True, "met")
    assert facts["SEC-MISS"][:3] == (241, False, "breached")
    assert facts["SEC-MISS"][3].endswith("241 business minutes against a 240-minute normal target:"
                                         " missed by 1.")
    assert facts["OVER"][:3] == (None, False, "breached")
    assert facts["NY-EXACT"][:3] == (None, None, "pending")
    assert facts["NY-OVER"][:3] == (None, False, "breached")
    assert query("SELECT client_id, sla_met, sla_breached, sla_pending FROM marts.client_month_sla"
                 " ORDER BY client_id") == [("BRS", 2, 2, 1), ("NYC", 0, 1, 1)]


# --- The as-of instant: what happened after it does not count -----------------------------------

EARLY = "2026-01-13T10:00:00+00:00"
LATE = "2026-02-01T00:00:00+00:00"


def _as_of_landing(landing, cut: str | None = None) -> None:
    """LON (08:00-18:00) tickets of Mon 12 / Tue 13 Jan; with ``cut``, only what happened by then."""
    from demo.generate import DECISION_COLUMNS, ENTRY_COLUMNS

    def kept(rows: list[dict], column: str) -> list[dict]:
        return [r for r in rows if cut is None or r[column] <= cut]

    write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, [client("LON", 20, "2025-01-01")])
    write_csv(landing / "tickets" / "tickets.csv", TICKET_COLUMNS, [
        # Answered within the hour, before either instant.
        ticket("Q1", "LON", "2026-01-12T09:00:00+00:00"),
        # Answered Tue 12:00, after the early instant: by then 660 minutes without an answer.
        ticket("Q2", "LON", "2026-01-12T09:00:00+00:00"),
        # Opened Tue 09:00, answered 11:00 and resolved 12:00: pending at 10:00, 60 minutes in.
        ticket("Q3", "LON", "2026-01-13T09:00:00+00:00"),
    ])
    write_csv(landing / "ticket_events" / "events.csv", EVENT_COLUMNS, kept([
        event("Q1", "2026-01-12T10:00:00+00:00", "agent_reply"),
        event("Q2", "2026-01-13T09:30:00+00:00", "client_reply", "client"),
        event("Q2", "2026-01-13T12:00:00+00:00", "agent_reply"),
        event("Q3", "2026-01-13T11:00:00+00:00", "agent_reply"),
        event("Q3", "2026-01-13T12:00:00+00:00", "status_change", new_value="resolved"),
    ], "event_at"))
    entry = {"work_type": "remote", "billable": "true", "note": ""}
    write_csv(landing / "time_entries" / "entries.csv", ENTRY_COLUMNS, kept([
        {"entry_id": "E1", "ticket_id": "Q1", "started_at": "2026-01-12T10:00:00+00:00", "minutes": 30,
         **entry},
        {"entry_id": "E2", "ticket_id": "Q3", "started_at": "2026-01-13T11:00:00+00:00", "minutes": 45,
         **entry},
    ], "started_at"))
    # Q1 was first taken for an emergency, and reviewed back down after the early instant.
    review = {"reviewer": "sd.lead", "note": ""}
    write_csv(landing / "review_decisions" / "decisions.csv", DECISION_COLUMNS, kept([
        {"ticket_id": "Q1", "decision": "emergency=confirmed", "decided_at": "2026-01-12T11:00:00+00:00",
         **review},
        {"ticket_id": "Q1", "decision": "emergency=denied", "decided_at": "2026-01-14T09:00:00+00:00",
         **review},
        # Q3's work is out of scope: a reviewer added the exclusion after the early instant, and a
        # note before it is recorded but never in force.
        {"ticket_id": "Q3", "decision": "scope:onsite=noted", "decided_at": "2026-01-13T09:30:00+00:00",
         **review},
        {"ticket_id": "Q3", "decision": "scope:procurement=approved",
         "decided_at": "2026-01-13T11:30:00+00:00", **review},
    ], "decided_at"))


_FIGURES = {
    "ticket_facts": "SELECT * FROM marts.ticket_facts ORDER BY ticket_id",
    "client_month": "SELECT * FROM marts.client_month ORDER BY client_id",
    "client_month_sla": "SELECT * FROM marts.client_month_sla ORDER BY client_id, priority",
    "scope_hits": "SELECT * EXCLUDE (evidence) FROM marts.scope_hits ORDER BY ticket_id, scope_id",
    "out_of_scope": "SELECT * FROM marts.out_of_scope ORDER BY ticket_id",
}


def test_events_after_the_as_of_instant_do_not_count(msp_env, monkeypatch, tmp_path, query):
    _as_of_landing(msp_env["landing"])
    monkeypatch.setenv("MSP_AS_OF", LATE)
    _run_months(["2026-01-01"])
    late = {name: query(sql) for name, sql in _FIGURES.items()}
    clock = ("SELECT ticket_id, first_response_at IS NOT NULL, response_business_minutes, response_met,"
             " response_status, logged_minutes, confirmed_emergency FROM marts.ticket_facts"
             " ORDER BY ticket_id")
    assert query(clock) == [("Q1", True, 60, True, "met", 30, False),
                            ("Q2", True, 780, False, "breached", 0, False),
                            ("Q3", True, 120, True, "met", 45, False)]

    # The same warehouse and files, read at Tue 13 Jan 10:00: Q2 unanswered and already breached,
    # Q3 unanswered and pending, Q3's time entry not yet started, Q1 still a confirmed emergency.
    monkeypatch.setenv("MSP_AS_OF", EARLY)
    _run_months(["2026-01-01"])
    early = {name: query(sql) for name, sql in _FIGURES.items()}
    assert query(clock) == [("Q1", True, 60, True, "met", 30, True),
                            ("Q2", False, None, False, "breached", 0, False),
                            ("Q3", False, None, None, "pending", 0, False)]
    assert early != late
    # The approval came after the early instant, so Q3 is billed only in the late reading.
    assert [r[3] for r in late["out_of_scope"]] == ["Q3"]
    assert early["scope_hits"] == [] and early["out_of_scope"] == []

    # A run on the files as they stood at that instant gives the same figures.
    cut = tmp_path / "cut"
    for name in ("landing", "published"):
        (cut / name).mkdir(parents=True)
    monkeypatch.setenv("MSP_WAREHOUSE", str(cut / "warehouse.duckdb"))
    monkeypatch.setenv("MSP_LANDING", str(cut / "landing"))
    monkeypatch.setenv("MSP_PUBLISHED", str(cut / "published"))
    _as_of_landing(cut / "landing", cut=EARLY)
    _run_months(["2026-01-01"])
    with duckdb.connect(str(cut / "warehouse.duckdb"), read_only=True) as con:
        truncated = {name: con.execute(sql).fetchall() for name, sql in _FIGURES.items()}
    assert truncated == early


def test_a_range_of_months_clocks_each_ticket_as_its_month_alone(sla_built):
    """ticket_facts builds the response clock once for a run's months (build_ticket_responses):
    each month's slice (month_response) holds the rows that month's own build gives."""
    from datetime import datetime

    from logic.sla import build_ticket_response, build_ticket_responses, month_response
    from policy.config import default_policy
    from policy.sql import register_policy
    from warehouse.schema import prepare_session

    months = ["2025-12-01", "2026-01-01", "2026-03-01"]
    policy = default_policy()
    with duckdb.connect(os.environ["MSP_WAREHOUSE"], read_only=True) as con:
        prepare_session(con)
        register_policy(con, policy)
        as_of = datetime.fromisoformat(AS_OF)
        build_ticket_responses(con, policy, months, as_of, "range_response", temporary=True)
        assert con.execute("SELECT count(DISTINCT month) FROM range_response").fetchone()[0] == 3
        for month in months:
            con.execute("DROP VIEW IF EXISTS ticket_response")  # the last month's slice
            build_ticket_response(con, policy, month, as_of)
            con.execute("CREATE OR REPLACE TEMP TABLE alone AS FROM ticket_response")
            con.execute("DROP TABLE ticket_response")
            month_response(con, "range_response", month)
            alone = con.execute("SELECT count(*) FROM alone").fetchone()[0]
            assert alone > 0
            differ = con.execute(
                """SELECT (SELECT count(*) FROM (FROM alone EXCEPT ALL FROM ticket_response))
                        + (SELECT count(*) FROM (FROM ticket_response EXCEPT ALL FROM alone))""",
            ).fetchone()[0]
            assert differ == 0, month
