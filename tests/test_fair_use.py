"""Volumes and fair use on a hand-built MSP whose answers are worked out by hand."""

import duckdb
import pytest

from tests.conftest import KNOWN_MONTHS


@pytest.fixture
def known(known_builds) -> dict:
    """The known MSP built for January to March, shared with other modules (tests only read it)."""
    return known_builds(KNOWN_MONTHS)


@pytest.fixture
def published(known_builds) -> dict:
    """The known MSP's reports for January to March, as the shared build's run published them
    (the backfill test_run_output reads)."""
    return known_builds(KNOWN_MONTHS)


@pytest.fixture
def query(known):
    """A read-only query against the known MSP's warehouse."""

    def _query(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(known["warehouse"]), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    return _query


def test_ticket_units_group_one_interruption(known, query):
    units = dict(query("SELECT ticket_id, unit_id FROM marts.ticket_facts WHERE client_id = 'ACME'"
                       " AND month = '2026-01-01'"))
    assert units["A-OUT1"] == units["A-OUT2"] == units["A-OUT3"] == "A-OUT1"
    assert units["A-CHILD"] == "A-OUT1"  # linked to the outage's parent ticket
    assert units["A-LONE"] == "A-LONE"  # same words two hours later, one requester: own unit
    rules = dict(query("SELECT ticket_id, unit_rule FROM marts.ticket_facts"
                       " WHERE ticket_id IN ('A-OUT2', 'A-CHILD', 'A-MON0')"))
    assert rules == {"A-OUT2": "interruption", "A-CHILD": "parent", "A-MON0": "own"}


def test_client_month_known_answers(known, query):
    rows = query(
        """SELECT month::VARCHAR, tickets, provider_initiated_tickets, standard_tickets,
                  standard_units, seats, round(units_per_seat, 4), round(rolling_units_per_seat, 4),
                  fair_use_status
           FROM marts.client_month WHERE client_id = 'ACME' ORDER BY month"""
    )
    assert rows == [
        ("2026-01-01", 14, 2, 12, 9, 10.0, 0.9, 0.9, "watch"),
        ("2026-02-01", 14, 0, 14, 14, 10.0, 1.4, 1.15, "over"),
        ("2026-03-01", 4, 0, 4, 4, 10.0, 0.4, 0.9, "watch"),
    ]


def test_seats_change_mid_month_is_time_weighted(known, query):
    (seats, units, limit, status, plan), = query(
        "SELECT seats, standard_units, fair_use_limit_per_seat, fair_use_status, plan"
        " FROM marts.client_month WHERE client_id = 'BETA' AND month = '2026-01-01'"
    )
    assert seats == pytest.approx((15 * 10 + 16 * 20) / 31)
    assert (units, limit, status, plan) == (5, 0.6, "within", "essentials")
    (feb_seats, feb_units), = query(
        "SELECT seats, standard_units FROM marts.client_month"
        " WHERE client_id = 'BETA' AND month = '2026-02-01'"
    )
    assert (feb_seats, feb_units) == (20.0, 0)  # a client with no tickets still has a row


def test_peer_view_and_drivers(known, query):
    peers = dict(query("SELECT client_id, peer_percentile FROM marts.client_month"
                       " WHERE month = '2026-01-01'"))
    assert peers == {"ACME": 1.0, "BETA": 0.0}
    top = query("SELECT driver, tickets FROM marts.client_month_drivers WHERE client_id = 'ACME'"
                " AND month = '2026-01-01' AND driver_type = 'category' ORDER BY rank")
    assert top[0] == ("Account & Access", 7)
    assert ("Email", 5) in top


def test_published_report_lists_every_client(published):
    month_dir = published["published"] / "2026-03"
    index = (month_dir / "index.html").read_text()
    # BETA has no ticket in March: listed on the index, no report file to send.
    assert "client-ACME.html" in index and "client-BETA.html" not in index and "no tickets" in index
    assert not (month_dir / "client-BETA.html").exists()
    report = (month_dir / "client-ACME.html").read_text()
    assert "ACME Ltd" in report and "BETA" not in report
    # Sendable on its own: charts drawn inline, no sibling script, no plotly bundle in the page.
    assert "<svg" in report and "plotly.min.js" not in report and report.count("function(t,e)") == 0
    months_index = (published["published"] / "index.html").read_text()
    assert [m for m in ("2026-01", "2026-02", "2026-03") if f"{m}/index.html" in months_index] == [
        "2026-01", "2026-02", "2026-03"
    ]
