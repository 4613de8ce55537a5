"""Round 39 (issue 19): kit the provider bought for the client and then fitted is procurement.

`scope_classification.time_signals.note_signals`: the provider's own time-entry note saying it
bought the kit or the licence ("ordered ...", "placed ... order") is procurement by itself, a time
signal beside the visit, whatever the device. The near tickets keep the round-21 dampener (the
client bought it itself), round 8's reading (a question about what to buy is not procurement) and a
visit to fit the client's own kit. The texts were written for this test, none from a batch.
"""

import pytest
from pydantic import ValidationError

from tests.shipped_calls import calls_fixture
from tests.test_classify import _t, _variant, classify

LABEL = "the provider's note says it bought the kit"
TICKETS = [
    # the kit sourced by the provider and fitted on a visit: procurement and onsite
    _t("fitted", "Label machine in dispatch",
       "The label machine in dispatch has packed in for good. Can you sort out another and put it"
       " in for us on Thursday?",
       time=[(20.0, "project", True, "ordered label machine from distributor", False),
             (40.0, "travel", True, "to the unit", False),
             (60.0, "onsite", True, "fitted label machine and set up the dispatch pc", False)]),
    # licences bought by the provider and assigned remotely: procurement, no visit
    _t("seats", "Two more accounts for the design tool",
       "Two freelancers join us next month and will need the design tool like everyone else.",
       time=[(15.0, "email", True, "placed order for two seats with the vendor", False),
             (20.0, "remote", True, "assigned seats and sent invites", False)]),
    # near tickets: the client bought it itself and wants it fitted; a question about what to buy
    _t("own_kit", "Fitting our new label machine",
       "We have already bought a new label machine for dispatch ourselves. Could someone come in on"
       " Thursday and connect it to the dispatch pc?",
       time=[(40.0, "travel", True, "to the unit", False),
             (60.0, "onsite", True, "connected client's label machine to the dispatch pc", False)]),
    _t("which", "Which label machine?",
       "Which label machine would you suggest for dispatch? We will look into it after the budget"
       " meeting.",
       time=[(10.0, "email", True, "suggested two models", False)]),
]


def shipped_cases() -> dict[str, list]:
    """The module's tickets, classified with the other modules' cases (tests/shipped_calls.py)."""
    return {"calls": TICKETS}


calls = calls_fixture("calls")


def test_kit_bought_and_fitted_on_a_visit_is_procurement_and_onsite(calls):
    assert "procurement" in calls["fitted"]
    assert LABEL in calls["fitted"]["procurement"][1]
    assert "onsite" in calls["fitted"]


def test_licences_bought_and_set_up_remotely_are_procurement(calls):
    assert "procurement" in calls["seats"]
    assert LABEL in calls["seats"]["procurement"][1]
    assert "onsite" not in calls["seats"]


def test_the_clients_own_kit_fitted_on_a_visit_is_not_procurement(calls):
    assert "procurement" not in calls["own_kit"]
    assert "onsite" in calls["own_kit"]


def test_a_question_about_what_to_buy_is_not_procurement(calls):
    assert "procurement" not in calls["which"]


def test_the_note_signal_is_what_calls_it():
    """Without the note signal the visit alone is read: the reading is the note's, not the text's."""
    without = _variant(lambda d: d["scope_classification"]["time_signals"].update(note_signals=[]))
    scope, _ = classify(without, TICKETS[:1])
    assert LABEL not in scope["fitted"].get("procurement", (0.0, ""))[1]


@pytest.mark.parametrize("change, match", [
    ({"scope_id": "buying"}, "unknown scope exclusion id"),
    ({"weight": 1.5}, "less than 1"),
    ({"phrases": []}, "at least 1 item"),
])
def test_a_wrong_note_signal_is_refused(change, match):
    signal = {"label": "x", "scope_id": "procurement", "weight": 0.8, "phrases": ["ordered"]}
    with pytest.raises(ValidationError, match=match):
        _variant(lambda d: d["scope_classification"]["time_signals"].update(
            note_signals=[{**signal, **change}]))
