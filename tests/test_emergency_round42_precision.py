"""Round 42 (emprec42, issue 19): emergency false alarms where the client asks, or tells that the
business still works (policy section 4: the business cannot work, a security incident under way,
money or data at risk now).

- a message asked about as genuine, with nothing clicked, paid or entered: a question, not a
  compromise; cancelled by an act on it, by bank details (a changed-details request is money at
  risk until checked, round 41) and by a sign-in alert (the account itself may be taken);
- a network for visitors or guests down while the business's own systems work: an amenity;
  cancelled where the tills or card machines need it;
- one device of several down, the others told as working: cancelled where all of them fail;
- how card numbers are held or passed, asked about as a practice: cancelled where they leaked.

The first, second and fourth are read only on their kind of report (only_with_sets), so their
state lowers the neighbours' vote and the learned raise where no rule met as well (round 41's
vote_state). Each look-alike has a near ticket that must still be called, read through the whole
classifier (the final call) and, for the dampener each meets, through the rules alone. The texts
are my own, none a batch's.
"""

import pytest

from policy.config import default_policy
from tests.dampener_look_alikes import LookAlikes
from tests.rule_matches import read_ahead_fixture, shipped_reading
from tests.shipped_calls import calls_fixture
from tests.test_classify import assert_refused

GENUINE = "a message asked about as genuine, nothing done"
VISITORS = "a network for visitors down, the business's own working"
SEVERAL = "one of several down, the others working"
CARD = "how card data is held asked about, nothing exposed"

NOT_CALLED = [
    ("Odd email from the council?", "We've had an email supposedly from the council asking us to "
     "send over the names and phone numbers of all our volunteers for a safeguarding check. It "
     "doesn't look quite right. I haven't replied to it. Is this genuine?", "Email", 1, False, GENUINE),
    ("Text from the boss?", "I got a text from a number saying it's our managing director, asking "
     "me to buy six supermarket gift cards for a client thank-you and send the codes back today. Is "
     "it real? I haven't bought anything.", "Security", 1, False, GENUINE),
    ("Guest wifi down", "The wifi for our guests has stopped working since lunchtime, the bar is "
     "full and people keep asking. Our own systems in the office are fine.", "Network", 40, True,
     VISITORS),
    ("Scanner at checkout 3", "The barcode scanner on checkout three has stopped working since this "
     "morning. The other four are fine so we have just closed that one.", "Hardware", 5, False,
     SEVERAL),
    ("Card numbers on paper forms", "Our booking team write customers' card numbers on the paper "
     "order forms and keep them in a folder. The auditor says these should be destroyed. Is that ok "
     "for phone orders?", "Security", 1, False, CARD),
]

CALLED = [
    ("Text from the boss?", "I got a text from a number saying it's our managing director, asking "
     "me to buy six supermarket gift cards for a client thank-you and send the codes back today. Is "
     "it real? I've already bought four and sent the codes.", "Security", 1, False),
    ("Odd email from the council?", "We've had an email supposedly from the council about our "
     "volunteers. Is this genuine? I clicked the link and typed in my password before I noticed the "
     "address.", "Email", 1, False),
    ("Guest wifi down", "The guest wifi has stopped working since lunchtime and the card machines "
     "run on it, so the bar can't take payments. Our own office PCs are fine.", "Network", 40, True),
    ("Checkouts down", "The barcode scanners on all the checkouts stopped working since this "
     "morning, none of the tills can scan and customers are queuing out the door.", "Hardware", 5,
     False),
    ("Card numbers posted online", "A customer rang to say the card numbers from our booking forms "
     "have been posted on a forum and two people have had fraudulent payments taken. Is that ok to "
     "tell other customers?", "Security", 20, False),
]

LOOK_ALIKES = LookAlikes("round42p", NOT_CALLED, CALLED, frozenset({GENUINE, VISITORS, SEVERAL, CARD}),
                         numbered=True)


def shipped_cases() -> dict[str, list]:
    """The look-alikes and the near tickets, classified with the other modules' cases."""
    return LOOK_ALIKES.cases()


emergency = calls_fixture("emergency", LOOK_ALIKES.case, part="emergency")
rules_read_ahead = read_ahead_fixture(LOOK_ALIKES.rule_cases(), autouse=False)

# The four tests of the shape (tests/dampener_look_alikes.py), under this module's names.
(test_a_question_an_amenity_one_of_several_or_a_practice_is_not_called,
 test_an_act_on_the_lure_a_payment_network_all_down_or_a_leak_is_called,
 test_the_rules_read_the_look_alike_by_its_dampener,
 test_the_near_ticket_cancels_the_dampener) = LOOK_ALIKES.tests()


def test_the_question_is_read_on_a_message_and_lowers_the_vote():
    """A question about a message is read only where a message, call or request is named, lowers
    the vote and the learned raise (vote_dampened_by) and is cancelled by bank details and sign-in
    alerts, which the bank labels emergencies however they are asked about."""
    em = default_policy().emergency
    damp = next(d for d in em.dampeners if d.label == GENUINE)
    assert damp.only_with_sets == ["message_received"]
    assert {"bank_details", "signin_notice", "credential_entry"} <= set(damp.unless_sets)
    assert {GENUINE, VISITORS, SEVERAL, CARD} <= set(em.vote_dampened_by)
    assert {VISITORS, SEVERAL} <= set(em.broad_field.firm)


@pytest.mark.usefixtures("rules_read_ahead")
@pytest.mark.parametrize("subject, description", [
    ("Is this genuine?", "An email says our director needs some gift vouchers today. Is it real?"),
    ("Sign-in from abroad?", "An email says there was an unusual sign-in to my account from Lima. "
     "Is this real? I haven't done anything."),
    ("New bank details?", "Our supplier emailed that their bank details have changed and asks us "
     "to pay the invoice to the new account. Is this genuine? We haven't paid."),
])
def test_a_question_about_money_or_an_account_keeps_its_reading(subject, description):
    """The question is read where only a request is named; a changed-details request or a
    sign-in alert asked about keeps its rules' reading (round 41 reads those states)."""
    _called, _confidence, dampeners, _rules = shipped_reading(subject, description)
    assert (GENUINE in dampeners) == (subject == "Is this genuine?"), dampeners


@pytest.mark.parametrize("edit, message", [
    (lambda d: next(x for x in d["emergency"]["dampeners"] if x["label"] == GENUINE)
     .update(only_with_sets=["message_receive"]),
     "only_with_sets names unknown term set(s) message_receive"),
    (lambda d: next(x for x in d["emergency"]["dampeners"] if x["label"] == CARD)
     .update(factor=1.5), "factor"),
    (lambda d: d["emergency"]["broad_field"]["firm"].append(SEVERAL + "s"), "broad_field.firm"),
])
def test_a_wrong_setting_of_the_round_42_dampeners_is_refused(tmp_path, edit, message):
    assert_refused(tmp_path, edit, message)
