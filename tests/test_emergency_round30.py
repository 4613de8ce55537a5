"""Round 30: look-alikes the policy names (section 4: already resolved, a workaround, planned, a past
incident, no material impact) told with the words of a real outage or attack are not emergencies:
"hacked" said in jest, an outage over before the ticket, work carrying on another way, work asked
for outside the working day, a past incident's aftermath asked as work now. Real emergencies told
with the same words stay called (docs/classification.md, "Round 30: emergency look-alikes by
mechanism"). The texts are my own, none a batch's.
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import one_ticket_rules
from tests.test_classify import _t

# (subject, description, affected users, declared an emergency)
REAL = [
    ("Internet", "The internet went down at 9, came back for ten minutes and is down again now. "
     "Nobody in the office can work.", 12, True),
    ("Power cut", "Power is back on now but nothing works: no network on any PC and the phones are "
     "dead for the whole office.", 20, True),
    ("Mailbox hacked", "Our mailbox got hacked lol, but seriously: it sent an invoice link to all our "
     "customers and Jo typed her password into the page before we noticed.", 6, True),
    ("Card machines", "We're working from the other office fine, but the shop can't take payments "
     "and customers are queuing at the counter.", 10, False),
    ("Server", "The file server crashed again this morning, a week after the flood. Nobody can open "
     "any files.", 15, True),
]

# (subject, description, affected users, declared an emergency)
LOOK_ALIKES = [
    ("Laptop hacked haha", "I think my laptop got hacked haha, the screensaver now shows a cartoon "
     "with my name on it. Pretty sure it was someone in the office. Can you set it back?", 1, False),
    ("Booking system earlier", "The booking system was unavailable for everyone for half an hour "
     "this morning. It's back up now, nothing needed, just for your records.", 15, False),
    ("North office internet", "Internet is down at the north office. The team have gone over to the "
     "main office and are working from there fine. The provider is sending an engineer tomorrow.",
     10, True),
    ("Accounts update", "Please install the accounts package update on all PCs. Staff can't be "
     "logged out during the working day, so any evening this week.", 40, False),
    ("Mailbox review", "Following last month's compromise we'd like a full review of every "
     "mailbox's rules and sign-in settings, and the old app passwords removed.", 30, False),
]

CASES = ([_t(f"r{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(REAL)]
         + [_t(f"n{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(LOOK_ALIKES)])


def shipped_cases() -> dict[str, list]:
    """The round's texts, classified with the other modules' cases in the session's one call."""
    return {"round30": CASES}


@pytest.fixture(scope="module")
def emergency(shipped_calls) -> dict:
    """Ticket id -> (qualifies, confidence, evidence, state) under the shipped policy."""
    return shipped_calls.of(__name__)("round30")[1]


@pytest.mark.parametrize("i", range(len(REAL)), ids=[f"r{i:02d}" for i in range(len(REAL))])
def test_a_real_emergency_told_with_the_look_alikes_words_is_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"r{i:02d}"]
    assert qualifies, (REAL[i], confidence, evidence)


@pytest.mark.parametrize("i", range(len(LOOK_ALIKES)), ids=[f"n{i:02d}" for i in range(len(LOOK_ALIKES))])
def test_a_look_alike_the_policy_names_is_not_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"n{i:02d}"]
    assert not qualifies, (LOOK_ALIKES[i], confidence, evidence)


JEST = '"hacked" said in jest or for a changed look'
OVER = "over before the ticket, nothing asked now"
ELSEWHERE = "work carrying on another way"
OUT_OF_DAY = "work asked for outside the working day"
AFTERMATH = "a past incident's aftermath asked as work now"


@pytest.mark.parametrize(("subject", "description", "affected", "declared", "label"), [
    ("Email earlier", "Email was down for everyone from 8 to 8:30. All back up now, just letting you "
     "know.", 25, True, OVER),
    ("Branch internet", "Internet down at the branch since 9, staff are working from home fine "
     "until it's fixed.", 12, True, ELSEWHERE),
    ("Server restart", "The server needs a restart for its updates but it can't go off during the "
     "day, everyone is on it. Can you do it when we're closed?", 30, True, OUT_OF_DAY),
    ("Flood clean-up", "Following last week's flood the comms cabinet is dead and needs replacing; "
     "can you quote?", 20, True, AFTERMATH),
])
def test_the_dampener_lowers_the_declaration_too(subject, description, affected, declared, label):
    """Firm (broad_field.firm): the client's count of affected users does not undo it."""
    policy = default_policy()
    confidence, dampeners, _rules = one_ticket_rules(policy, subject, description, affected, declared)
    assert label in dampeners and confidence < policy.emergency.min_confidence, (confidence, dampeners)


@pytest.mark.parametrize(("description", "label"), [
    ("Phones went down, came back, and have gone off again. Nobody can call out.", OVER),
    ("Power back on now but nothing works on any PC in the office.", OVER),
    ("We're working from the other site fine but the shop can't take payments.", ELSEWHERE),
    ("After last week's flood the server went down again this morning, nobody can work.", AFTERMATH),
    ("Someone hacked the account lol but Sam clicked the link and typed his password.", JEST),
])
def test_what_cancels_the_dampener(description, label):
    """`unless`: the outage back again, a loss of trade, an incident today, an act on a lure."""
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), "Help", description, 12, True)
    assert label not in dampeners, dampeners


@pytest.mark.parametrize("description", [
    "Think the office PC got hacked lol, the wallpaper is a cartoon now.",
    "My email signature changed to a silly font, have I been hacked? Haha, not really.",
])
def test_hacked_in_jest(description):
    policy = default_policy()
    confidence, dampeners, _rules = one_ticket_rules(policy, "Hacked", description, 1, False)
    assert JEST in dampeners and confidence < policy.emergency.min_confidence, (confidence, dampeners)
