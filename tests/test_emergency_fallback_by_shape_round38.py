"""Round 38 (docs/classification.md, "Round 38: a fallback read by the shape of the sentence"):
emergency false alarms where the client goes on to say the work still gets done another way, and
lures reported and not acted on (policy section 4: no reasonable workaround; a suspected incident).

The fallback is read by the clause, not by the device or the writer's phrase: a doing followed by
"so/and ... still" and the work getting done, a means followed by "which works", people gone
somewhere else to work, the thing done another way "anyway". Each look-alike has a near ticket that
must still be called: the fallback failed too, carries only part of the work, or cannot keep up
(the queue builds, people wait). "Reported, not acted on" lowers the neighbours' vote again, so a
live compromise beside "never got a reply" (a forwarding nobody set up, a sign-in from elsewhere)
cancels it. Read through the whole classifier (the final call) and, for the dampener each meets,
through the rules alone. The texts are my own, none a batch's.
"""

import pytest

from policy.config import default_policy
from tests.dampener_look_alikes import LookAlikes
from tests.rule_matches import read_ahead_fixture
from tests.shipped_calls import calls_fixture
from tests.test_classify import assert_refused

SHAPE = "the work told as still getting done another way"
REPORTED = "reported, not acted on"

# Round 38's limit (the learned signal raised "Office connection" past the dampener by the outage's
# words, p 0.93) is read since round 39: learned_model.state_bar "off"
# (tests/test_emergency_state_bar_round39.py).
LIMITS: dict[str, str] = {}

# (subject, description, category, affected users, declared, the dampener the rules must meet)
NOT_CALLED = [
    ("Front desk phones", "All the desk phones are dead since nine. We've switched to our mobiles "
     "and the calls are still getting answered. Can someone look at it today?", "Telephony", 9, False,
     SHAPE),
    ("Label printer software", "The despatch system won't open on any of the packing PCs since the "
     "update. The team are writing the labels out by hand, which works, it's just slower.",
     "Software", 7, False, SHAPE),
    ("Office connection", "The office broadband is down since lunchtime. Most of the team have gone "
     "home to work from there and the rest are on a hotspot.", "Network", 14, False, SHAPE),
    ("Mail to the council", "Our messages to one council department keep coming back undelivered "
     "since Tuesday. We mostly call them anyway, could you look when you can?", "Email", 12, False,
     SHAPE),
    ("Rota app", "The rota app is down for the whole team this morning, so the shift leads are "
     "doing the rota on a whiteboard and the shifts are still getting covered.", "Software", 25,
     False, SHAPE),
    ("Is this real?", "Got a text claiming to be from our bank asking me to confirm a payment. "
     "Didn't reply or click anything, just deleted it. Flagging in case others get it.",
     "Security", 1, False, REPORTED),
    ("Odd invoice email", "Someone emailed asking us to pay an overdue invoice to a new account. We "
     "checked with the supplier on their usual number, they never sent it, so we haven't paid. "
     "Anything else to do?", "Email", 1, False, REPORTED),
]

# (subject, description, category, affected users, declared)
CALLED = [
    ("Front desk phones", "All the desk phones are dead since nine. We switched to mobiles but half "
     "of us have no signal and calls aren't getting answered.", "Telephony", 9, False),
    ("Despatch system", "The despatch system won't open on any packing PC since the update. We're "
     "writing labels by hand which works, but the queue is building and couriers are waiting.",
     "Software", 7, False),
    ("Broadband", "Broadband is down at all four branches since lunch. Only one branch can work off "
     "a hotspot, the rest can't take payments at all.", "Network", 30, False),
    ("Rota app", "The rota app is down for the whole team this morning. We tried a whiteboard but "
     "that's not working either, shifts are going uncovered and residents are waiting.", "Software",
     25, False),
    ("Card payments", "Card payments are down on every till since opening. We're using the spare "
     "terminal, which works for a minute and then drops, so most customers can't pay.", "Hardware",
     10, False),
    ("Customers not hearing back", "Clients say they never got a reply from our enquiries address. "
     "In the mailbox settings there's a rule forwarding everything to an external address nobody "
     "recognises. I didn't set that up.", "Email", 1, False),
    ("Sign-in alert", "The office manager got an alert of a login to her mailbox from an unfamiliar "
     "country overnight. She never replied to anything odd, she's here in the office. What do we "
     "do?", "Email", 1, False),
]


LOOK_ALIKES = LookAlikes("round38", NOT_CALLED, CALLED, frozenset({SHAPE, REPORTED}), limits=LIMITS)


def shipped_cases() -> dict[str, list]:
    """The look-alikes and the near tickets, classified with the other modules' cases."""
    return LOOK_ALIKES.cases()


emergency = calls_fixture("emergency", LOOK_ALIKES.case, part="emergency")
rules_read_ahead = read_ahead_fixture(LOOK_ALIKES.rule_cases(), autouse=False)

# The four tests of the shape (tests/dampener_look_alikes.py), under this module's names.
(test_a_working_fallback_or_a_reported_lure_is_not_called,
 test_a_failing_or_partial_fallback_or_a_live_compromise_is_called,
 test_the_rules_read_the_look_alike_by_its_dampener,
 test_the_near_ticket_cancels_the_dampener) = LOOK_ALIKES.tests()


def test_both_lower_the_vote_and_the_shape_is_firm():
    """Both tell a state the neighbours' vote cannot read (the work still done; nothing acted on),
    so they lower it as the 'nothing down now' dampeners do; the shape is firm (the field counts
    who lost the system, not who cannot work)."""
    em = default_policy().emergency
    assert {SHAPE, REPORTED} <= set(em.vote_dampened_by) and SHAPE in em.broad_field.firm
    shape = next(d for d in em.dampeners if d.label == SHAPE)
    assert shape.unless_sets == ["fallback_fails"] and "fallback_fails" in em.term_sets


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["emergency"]["term_sets"].pop("fallback_fails"),
     "unless_sets names unknown term set(s) fallback_fails"),
    (lambda d: d["emergency"]["vote_dampened_by"].append("the work told as still got done"),
     "vote_dampened_by: not a dampener's label"),
])
def test_a_wrong_fallback_setting_is_refused(tmp_path, edit, message):
    assert_refused(tmp_path, edit, message)
