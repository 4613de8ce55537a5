"""Round 25 (docs/classification.md, "Round 25: scope"): a scope id gives way to another called on
the same ticket (`scope_classification.yields`) unless the ticket has the yield's own wording.
Shipped with custom software giving way to custom implementation unless something is written for
the client (forward chaining 35-40 +0.0035, every fold up or level). The texts are our own (no
blind batch's sentences)."""

import pytest
from pydantic import ValidationError

from logic.classify import scope_hits_sql
from policy.config import PolicyConfig
from tests.test_classify import _t, matched_texts, prepared_cases, shipped_data

SOFTWARE, IMPLEMENTATION = "custom_software", "custom_implementation"


# Existing products joined up or configured, nothing written: without the yield both ids are called.
FIXES = {
    "f1": ("Bookings into accounts", "Can you connect our booking system to the accounts package so every"
           " paid booking creates an invoice automatically? Both have an API."),
    "f2": ("Connector", "Could you build a connector between the booking system and the accounts package so"
           " invoices are raised automatically? Both have an API."),
    "f3": ("Online bookings", "Can you build an integration so that each online booking creates the job in"
           " our job system automatically and emails the engineer?"),
}
# Something written for the client beside the joining-up: both ids called, and both stay.
BOTH_STAY = {
    "k1": ("Tablet app", "We'd like a small app for the warehouse tablets that syncs picked orders with the"
           " accounts package automatically."),
    "k2": ("Timesheets", "Can you write a program that syncs the timesheet spreadsheet with the payroll"
           " system automatically each Friday?"),
    "k3": ("Drivers app", "We want an Android app for the drivers that is linked to the dispatch system and"
           " shows today's jobs automatically."),
    "k4": ("Holiday app", "Could you build us a small web app where staff log holiday requests and it"
           " updates the HR system automatically?"),
    "k5": ("Stock app", "Could you write us a small app for the shop floor that syncs stock counts with the"
           " stock system automatically?"),
    "k6": ("Script for invoices", "We'd like a script that takes the timesheet export and creates the"
           " invoices in the accounts package automatically each month."),
    "k7": ("Macro", "Can you write a macro that pulls the orders from the shop system into the dispatch"
           " spreadsheet automatically?"),
    "k8": ("Web app", "We want a web app built for the engineers where they log jobs and it updates the"
           " scheduling system automatically."),
}
# Software alone (no implementation call beside it): the yield does not touch it, written words or not.
SOFTWARE_ALONE = {
    "s1": ("Orders script", "Could you write a script that pulls the day's orders from the web shop and"
           " feeds them into our stock system every night?"),
    "s2": ("Customer portal", "Please develop a web portal where customers log in and see their invoices,"
           " connected to our accounts package."),
    "s3": ("Booking system", "Could you build us a booking system for the meeting rooms with its own"
           " screens and reports?"),
    "s4": ("Database", "We need a proper database built for our equipment loans, with screens to log who"
           " has what."),
}
# Implementation alone: unchanged (the yield drops software only).
IMPLEMENTATION_ALONE = {
    "i1": ("New starters", "When a new starter is added in the HR system we want their account in the rota"
           " system created automatically and their manager notified. Can you set that up?"),
    "i2": ("Rota", "Could you set up an integration between the rota system and payroll using their API so"
           " hours worked flow across automatically each week?"),
}
TEXTS = {**FIXES, **BOTH_STAY, **SOFTWARE_ALONE, **IMPLEMENTATION_ALONE}


def _policy(yields: list[dict] | None) -> PolicyConfig:
    data = shipped_data()
    if yields is None:
        data["scope_classification"].pop("yields", None)
    else:
        data["scope_classification"]["yields"] = yields
    return PolicyConfig.model_validate(data)


@pytest.fixture(scope="module")
def calls() -> dict[str, dict[str, set[str]]]:
    """Each text's custom ids: shipped, without the yield, and with the yield but no `unless` wording
    that any text here has (one preparation: the variants change the scope statement only)."""
    shipped = PolicyConfig.model_validate(shipped_data())
    (y,) = shipped_data()["scope_classification"]["yields"]
    variants = {"shipped": shipped, "without": _policy(None),
                "no unless": _policy([{**y, "unless": ["zzyzx"]}])}
    tickets = [_t(tid, *pair) for tid, pair in TEXTS.items()]
    con, reading = prepared_cases(shipped, tickets)
    out: dict[str, dict[str, set[str]]] = {}
    for name, policy in variants.items():
        found: dict[str, set[str]] = {tid: set() for tid in TEXTS}
        sql = scope_hits_sql(policy, reading, matched=matched_texts(con, policy))
        for row in con.execute(sql).fetchall():
            if row[1] in (SOFTWARE, IMPLEMENTATION):
                found[row[0]].add(row[1])
        out[name] = found
    return out


def test_without_yields_the_statement_is_unchanged():
    # an unused key costs nothing: no yielded relation, no extra filter in the scope statement
    policy = _policy(None)
    assert not policy.scope_classification.yields
    assert "yielded" not in scope_hits_sql(policy, "clf_emergency")
    assert "yielded" in scope_hits_sql(PolicyConfig.model_validate(shipped_data()), "clf_emergency")


@pytest.mark.parametrize("tid", sorted(FIXES))
def test_joined_up_products_are_implementation_only(calls, tid):
    assert calls["without"][tid] == {SOFTWARE, IMPLEMENTATION}, calls["without"][tid]
    assert calls["shipped"][tid] == {IMPLEMENTATION}, (FIXES[tid], calls["shipped"][tid])


@pytest.mark.parametrize("tid", sorted(BOTH_STAY))
def test_something_written_keeps_both_calls(calls, tid):
    assert calls["without"][tid] == {SOFTWARE, IMPLEMENTATION}, calls["without"][tid]
    assert calls["shipped"][tid] == {SOFTWARE, IMPLEMENTATION}, (BOTH_STAY[tid], calls["shipped"][tid])


def test_without_the_unless_wording_software_gives_way_everywhere(calls):
    # the `unless` is what keeps them: a yield with none of their words drops each software call
    assert all(calls["no unless"][tid] == {IMPLEMENTATION} for tid in BOTH_STAY), calls["no unless"]


@pytest.mark.parametrize("tid", sorted({**SOFTWARE_ALONE, **IMPLEMENTATION_ALONE}))
def test_a_call_alone_is_untouched(calls, tid):
    assert calls["shipped"][tid] == calls["without"][tid], (TEXTS[tid], calls["shipped"][tid])
    assert len(calls["shipped"][tid]) == 1, calls["shipped"][tid]


def test_a_yield_names_two_known_different_ids():
    (y,) = shipped_data()["scope_classification"]["yields"]
    with pytest.raises(ValidationError, match="unknown scope exclusion id"):
        _policy([{**y, "to": "custom_implementations"}])
    with pytest.raises(ValidationError, match="must differ"):
        _policy([{**y, "to": SOFTWARE}])
    with pytest.raises(ValidationError, match="unless"):
        _policy([{**y, "unless": []}])
    with pytest.raises(ValidationError, match="drop both calls"):
        _policy([y, {**y, "scope_id": IMPLEMENTATION, "to": SOFTWARE}])
