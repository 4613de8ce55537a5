"""Round 41 (emprec41, issue 19): emergency false alarms where the writer tells that the business
still works, that the problem is a notice, or that the money did not move (policy section 4: the
business cannot work, an incident under way, money or data at risk now).

- the work going on another way, told by the doing ("so we're still trading"), the place running
  as usual, or a system holding the work to send later (offline mode): "the work told as still
  getting done another way", cancelled where the fallback fails too or the held work is lost;
- a changed-bank-details request the payee denies, nothing paid: "changed bank details checked
  before anyone paid", cancelled where the money was paid already;
- a sign-in alert told by what the alert says ("a notification saying sign in from ..."), so round
  40's "that's me" reads it (term set signin_notice), and its state lowers the vote even where no
  rule met (logic/emergency_bars.vote_state: dampeners read only on their kind of report).

Each look-alike has a near ticket that must still be called, read through the whole classifier
(the final call) and, for the dampener each meets, through the rules alone. The texts are my own.
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import read_ahead_fixture, shipped_reading
from tests.shipped_calls import calls_fixture
from tests.test_classify import _t, assert_refused

FALLBACK = "the work told as still getting done another way"
PAID = "changed bank details checked before anyone paid"
OWNER = "a sign-in alert its owner accounts for"

# (subject, description, category, affected users, declared, the dampener the rules must meet)
NOT_CALLED = [
    ("Tills offline", "Broadband at the garden centre dropped an hour ago and the tills show offline. "
     "The card readers carry on in offline mode and keep the payments, so we're still trading. Will it "
     "all go through later?", "Network", 8, False, FALLBACK),
    ("Class booking page error", "Since nine the page where members book classes shows an error. "
     "Reception are booking people at the desk and the classes are running as usual. Could someone "
     "look at it today?", "Software", 5, False, FALLBACK),
    ("Warehouse wifi down", "The wifi in the warehouse has been down since 2pm. The pickers' "
     "handhelds say offline but they keep scanning and the app says it will upload the scans when "
     "the connection is back.", "Network", 12, True, FALLBACK),
    ("Supplier new account?", "Accounts got an email from our print supplier saying they have moved "
     "banks and asking us to use new account details for the next invoice. I phoned the supplier on "
     "the number we have on file and they never sent it, so we have not paid anything. What should "
     "we do?", "Security", 1, False, PAID),
    ("Sign in notification", "Had a notification saying sign in from Dublin on my account. Ha, "
     "that's me, I'm over for my cousin's wedding. All ok?", "Security", 1, False, OWNER),
]

# (subject, description, category, affected users, declared, the dampener it must not meet)
CALLED = [
    ("Tills offline", "Broadband at the garden centre dropped an hour ago and the tills show offline. "
     "The card readers were meant to carry on in offline mode but they are failing too, so we can't "
     "take payments and the queue is out the door.", "Network", 8, True, FALLBACK),
    ("Warehouse wifi down", "The wifi in the warehouse has been down since 2pm. The handhelds said "
     "they would upload the scans later, but the scans have been lost and nothing has synced, so no "
     "orders can be picked.", "Network", 12, True, FALLBACK),
    ("Supplier new account?", "Accounts got an email from our print supplier saying they have moved "
     "banks and giving new account details. We paid their invoice of 4800 to the new account on "
     "Friday. I phoned the supplier today and they never sent it and say they have not been paid.",
     "Security", 1, False, PAID),
    ("Sign in notification", "Had a notification saying sign in from Dublin on my account. That "
     "wasn't me, I've never been to Ireland, and my password no longer works.", "Security", 1, False,
     OWNER),
]


# Declared an emergency for several users by the field, the same ticket stays at the bar: the firm
# dampener lowers the rules and the declaration to 0.46 and the lowered vote lifts it to 0.51.
DECLARED = ("Tills offline", NOT_CALLED[0][1], "Network", 8, True)


def shipped_cases() -> dict[str, list]:
    """The look-alikes and the near tickets, classified with the other modules' cases."""
    return {"round41p": [_t(f"n{i:02d}", s, d, c, a, dec)
                         for i, (s, d, c, a, dec, _) in enumerate(NOT_CALLED)]
            + [_t(f"r{i:02d}", s, d, c, a, dec) for i, (s, d, c, a, dec, _) in enumerate(CALLED)]
            + [_t("d00", *DECLARED)]}


emergency = calls_fixture("emergency", "round41p", part="emergency")


rules_read_ahead = read_ahead_fixture([(s, d, a, dec) for s, d, _, a, dec, _ in NOT_CALLED + CALLED],
                                      autouse=False)


@pytest.mark.parametrize("i", range(len(NOT_CALLED)), ids=[c[0] + f" {i}" for i, c in enumerate(NOT_CALLED)])
def test_work_going_on_a_stopped_fraud_or_an_owned_sign_in_is_not_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"n{i:02d}"]
    assert not qualifies, (NOT_CALLED[i][1], confidence, evidence)


@pytest.mark.xfail(strict=True, reason="round 41: declared for 8 users, the fallback leaves 0.51 (bar 0.5)")
def test_a_declared_outage_with_its_fallback_working_is_not_called(emergency):
    qualifies, confidence, evidence, _state = emergency["d00"]
    assert not qualifies, (confidence, evidence)


@pytest.mark.parametrize("i", range(len(CALLED)), ids=[c[0] + f" {i}" for i, c in enumerate(CALLED)])
def test_a_failed_fallback_money_paid_or_a_denied_sign_in_is_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"r{i:02d}"]
    assert qualifies, (CALLED[i][1], confidence, evidence)


@pytest.mark.usefixtures("rules_read_ahead")
@pytest.mark.parametrize("i", range(len(NOT_CALLED)), ids=[c[0] + f" {i}" for i, c in enumerate(NOT_CALLED)])
def test_the_rules_read_the_look_alike_by_its_dampener(i):
    subject, description, _category, affected, declared, damper = NOT_CALLED[i]
    called, confidence, dampeners, rules = shipped_reading(subject, description, affected, declared)
    assert damper in dampeners and not called, (confidence, dampeners, rules)


@pytest.mark.usefixtures("rules_read_ahead")
@pytest.mark.parametrize("i", range(len(CALLED)), ids=[c[0] + f" {i}" for i, c in enumerate(CALLED)])
def test_the_near_ticket_cancels_the_dampener(i):
    subject, description, _category, affected, declared, damper = CALLED[i]
    _called, confidence, dampeners, rules = shipped_reading(subject, description, affected, declared)
    assert damper not in dampeners, (confidence, dampeners, rules)


def test_the_stopped_fraud_is_read_on_a_changed_details_request_and_lowers_the_vote():
    """The payee's denial and nothing paid lower a changed-details reading only (only_with_sets),
    reach the undampened rules, and tell a state the neighbours' vote cannot read."""
    em = default_policy().emergency
    damp = next(d for d in em.dampeners if d.label == PAID)
    assert damp.only_with_sets == ["bank_details", "details_changed"] and damp.reaches_undampened
    assert PAID in em.vote_dampened_by


@pytest.mark.parametrize("edit, message", [
    (lambda d: next(x for x in d["emergency"]["dampeners"] if x["label"] == PAID)
     .update(only_with_sets=["bank_detail"]),
     "only_with_sets names unknown term set(s) bank_detail"),
    (lambda d: d["emergency"]["vote_dampened_by"].append(PAID + "s"),
     "vote_dampened_by: not a dampener's label"),
])
def test_a_wrong_setting_of_the_stopped_fraud_is_refused(tmp_path, edit, message):
    assert_refused(tmp_path, edit, message)
