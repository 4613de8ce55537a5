"""Round 40 (emprec40, issue 19): emergency false alarms where the writer tells a state that
takes the incident away (policy section 4: a suspected incident needs a sign of one).

- a sign-in alert its owner accounts for ("that was me", "that'll be me"): read only on a
  sign-in alert (`only_with_sets: [signin_notice]`), cancelled by the owner's denial or a sign of
  a live compromise;
- a sign-in attempt the alert tells was stopped (blocked, denied, failed), cancelled by signs it
  got through or goes on, and by approval prompts the owner did not start (an incident the policy
  names);
- a lure nobody acted on in more shapes ("nobody opened it", a scam page closed and its number not
  rung), cancelled by an act on it or by something that keeps coming back by itself.

Each look-alike has a near ticket that must still be called, read through the whole classifier
(the final call) and, for the dampener each meets, through the rules alone. The texts are my own,
none a batch's.
"""

import pytest

from policy.config import default_policy
from tests.dampener_look_alikes import LookAlikes
from tests.rule_matches import read_ahead_fixture
from tests.shipped_calls import calls_fixture
from tests.test_classify import assert_refused

OWNER = "a sign-in alert its owner accounts for"
STOPPED = "a sign-in attempt the alert tells was stopped"
REPORTED = "reported, not acted on"

# (subject, description, category, affected users, declared, the dampener the rules must meet)
NOT_CALLED = [
    ("Login alert", "Got a Microsoft email about an unusual sign-in to my mailbox from Lisbon this "
     "morning. That was me, I'm at the trade fair and logged on from the hotel. Nothing to do?",
     "Security", 1, False, OWNER),
    ("Sign-in notice", "My phone flagged an unusual sign-in to the finance login from a laptop in "
     "Leeds. That'll be me on the loan laptop while mine is being repaired.", "Security", 1, False,
     OWNER),
    ("Suspicious login blocked", "Microsoft sent an email about unusual sign-in activity: someone "
     "tried to sign in to my account from Vietnam but the attempt was blocked. Do I need to do "
     "anything?", "Security", 1, False, STOPPED),
    ("Sign-in warning", "We got an unusual sign-in alert for the bookings mailbox. It says a login "
     "attempt from an unknown location was stopped by the code step. Just flagging it.", "Email", 1,
     False, STOPPED),
    ("Fake statement email", "Half the office got an email with a zip called 'statement' from an "
     "address claiming to be our accountant. Nobody opened it as far as I know.", "Security", 12,
     True, REPORTED),
    ("Warning page on the reception PC", "A window popped up on the reception PC saying the "
     "computer has a virus and to phone a support line. I didn't call the number, I closed the "
     "browser and it's gone. Is that fine?", "Security", 5, True, REPORTED),
]

# (subject, description, category, affected users, declared)
CALLED = [
    ("Login alert", "Got a Microsoft email about an unusual sign-in to my mailbox from Lisbon this "
     "morning. That wasn't me, I've never been to Portugal, and now my password doesn't work.",
     "Security", 1, False),
    ("Sign-in approvals", "I keep getting unusual sign-in approval requests on my phone that I never "
     "started. Someone tried to sign in to my account, I denied them but they keep coming.",
     "Security", 1, False),
    ("Suspicious login blocked", "Microsoft says an unusual sign-in to my account was blocked, but "
     "my account has been sending emails to all my contacts overnight with a link I never sent.",
     "Security", 1, False),
    ("Fake statement email", "Half the office got an email with a zip called 'statement' from an "
     "address pretending to be our accountant. Nobody opened it except Dave, who clicked the link "
     "and typed his password into the page.", "Security", 12, True),
    ("Files renamed", "Every file on the shared drive has a strange extension and there is a ransom "
     "note in each folder asking for bitcoin. It was me who found it first this morning.",
     "Security", 15, False),
]


# From the refit on batch-75/76 (dea3e7e) to round 44's (batch-77/78 banked) the learned signal
# lifted the unopened statement lure to 0.53 and it was held here as a strict limit; the refit of
# round 44 no longer lifts it, so it is a plain look-alike again (the rules read it by its dampener).
LIMITS: dict[str, str] = {}

LOOK_ALIKES = LookAlikes("round40", NOT_CALLED, CALLED, frozenset({OWNER, STOPPED, REPORTED}), LIMITS,
                         numbered=True)


def shipped_cases() -> dict[str, list]:
    """The look-alikes and the near tickets, classified with the other modules' cases."""
    return LOOK_ALIKES.cases()


emergency = calls_fixture("emergency", LOOK_ALIKES.case, part="emergency")
rules_read_ahead = read_ahead_fixture(LOOK_ALIKES.rule_cases(), autouse=False)

# The four tests of the shape (tests/dampener_look_alikes.py), under this module's names.
(test_an_accounted_or_stopped_sign_in_or_an_untouched_lure_is_not_called,
 test_a_denied_sign_in_a_live_compromise_or_an_act_on_the_lure_is_called,
 test_the_rules_read_the_look_alike_by_its_dampener,
 test_the_near_ticket_cancels_the_dampener) = LOOK_ALIKES.tests()


def test_the_sign_in_dampeners_read_a_sign_in_alert_alone_and_lower_the_vote():
    """"It was me" explains a sign-in alert, not a ransom note: both read only where the text met
    the signin_notice vocabulary; both tell a state the neighbours' vote cannot read, so they
    lower it (and keep the learned signal from raising the reading: learned_model.state_bar)."""
    em = default_policy().emergency
    for label in (OWNER, STOPPED):
        damp = next(d for d in em.dampeners if d.label == label)
        assert damp.only_with_sets == ["signin_notice"] and damp.reaches_undampened
        assert label in em.vote_dampened_by
    assert next(d for d in em.dampeners if d.label == OWNER).unless_sets == ["signin_denied"]


@pytest.mark.parametrize("edit, message", [
    (lambda d: next(x for x in d["emergency"]["dampeners"] if x["label"] == OWNER)
     .update(only_with_sets=["no_such_set"]),
     "only_with_sets names unknown term set(s) no_such_set"),
    (lambda d: d["scope_classification"]["dampeners"][0].update(only_with_sets=["signin_notice"]),
     "only_with_sets applies to emergency dampeners only"),
    (lambda d: next(x for x in d["emergency"]["dampeners"] if x["label"] == STOPPED)
     .update(only_with_sets="signin_notice"),
     "only_with_sets"),
])
def test_a_wrong_only_with_sets_is_refused(tmp_path, edit, message):
    assert_refused(tmp_path, edit, message)
