"""Round 29: look-alikes the policy names by their nature (a drill or exercise where nothing has
happened, someone else's outage with nothing of ours broken, a prank by a colleague, a lure
reported and not acted on, "every time I email one" read as everyone) are not emergencies; real
emergencies told with the same words stay called (docs/classification.md, "Round 29: emergency
look-alikes the policy names"). The texts are my own, none a batch's; the calls are read through
the whole classifier (the session's one shipped classification), the dampeners through the rules.
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import one_ticket_rules
from tests.test_classify import _t

# (subject, description, affected users, declared an emergency)
REAL = [
    ("NOT A DRILL", "This is not a drill: the server room is flooding and the file server has gone "
     "off, nobody can open anything.", 20, True),
    ("Internet and phones", "During this morning's fire drill someone unplugged the comms cabinet and "
     "now the internet and phones are down for the whole office.", 15, False),
    ("Cable cut", "The builders were drilling in the hall and went through the cable: the internet is "
     "down across the whole office and the card machines are offline.", 12, False),
    ("Email", "Microsoft 365 is having an outage according to the news and none of us can send or "
     "receive email, the whole company is stuck.", 25, True),
    ("Link", "I clicked the link in the invoice email and typed my password into the page it opened. "
     "Nothing really happened after that, is that bad?", 1, False),
    ("Website", "Not a test: our website has been replaced by a casino page and customers are asking "
     "what is going on.", 1, False),
    ("Bookings", "The practice management system is down for all of us and patients are waiting at "
     "reception.", 8, False),
    ("Facebook", "Someone has hacked our Facebook page and is posting adverts. It isn't a prank, "
     "customers are messaging us about it.", 1, False),
    ("Ransom", "This isn't a joke: a ransom note is on every PC and the files on the shared drive "
     "have been renamed.", 12, True),
    ("Internet", "Our provider has a major outage in the area and our internet is down in all three "
     "offices, nobody can work.", 30, True),
    ("Password", "Someone changed my password overnight, it wasn't me and I'm locked out. Nothing "
     "else seems broken but I'm worried they're reading my mail.", 1, False),
]

# (subject, description, affected users, declared an emergency)
LOOK_ALIKES = [
    ("Fire drill", "Reminder: fire drill at 11 today, everyone will be out of the building for 20 "
     "minutes. Should we shut the PCs down first?", 30, True),
    ("Tabletop", "Tabletop exercise next week: imagine our file server has been encrypted by "
     "ransomware. Which numbers would we call? Nothing has actually happened.", 10, True),
    ("Teams outage?", "Saw on the news that Microsoft Teams has an outage in the US. Nothing broken "
     "here, is it likely to reach us?", 20, False),
    ("Insurer", "Our insurer wants a simulated breach exercise on paper: pretend the accounts mailbox "
     "was hacked and tell them how quickly you would respond.", 12, True),
    ("Wallpaper", "Someone changed the office manager's desktop wallpaper to a cat as a prank while "
     "she was at lunch, can you set it back and make screens lock?", 1, False),
    ("Till", "The apprentice 'hacked' the till display as a joke, it now says Happy Birthday Dave. "
     "Please put it back.", 1, False),
    ("Bank app", "Heard the bank's app is down nationally today. None of our systems are affected, "
     "just letting you know in case staff ask.", 15, False),
    ("Test", "This is a test ticket to check the new support address works, please ignore.", 5, True),
]

CASES = ([_t(f"r{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(REAL)]
         + [_t(f"n{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(LOOK_ALIKES)])


def shipped_cases() -> dict[str, list]:
    """The round's texts, classified with the other modules' cases in the session's one call."""
    return {"round29": CASES}


@pytest.fixture(scope="module")
def emergency(shipped_calls) -> dict:
    """Ticket id -> (qualifies, confidence, evidence, state) under the shipped policy."""
    return shipped_calls.of(__name__)("round29")[1]


# Limits found by these texts, not this round's doing (the same on main 2026.12.80): r10's rules read
# 0 on both (no rule reads "changed my password ..., it wasn't me"); n01's undampened "files
# encrypted (already happened)" rule reads a tabletop's "imagine ... has been encrypted", which no
# dampener can lower. Strict: a change that fixes one fails here and it joins its list.
LIMIT = pytest.mark.xfail(strict=True, reason="a limit of the rules found this round (docs, round 29)")
REAL_LIMITS, LOOK_ALIKE_LIMITS = {10}, {1}


@pytest.mark.parametrize("i", [pytest.param(i, marks=LIMIT) if i in REAL_LIMITS else i
                               for i in range(len(REAL))],
                         ids=[f"r{i:02d}" for i in range(len(REAL))])
def test_a_real_emergency_told_with_the_look_alikes_words_is_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"r{i:02d}"]
    assert qualifies, (REAL[i], confidence, evidence)


@pytest.mark.parametrize("i", [pytest.param(i, marks=LIMIT) if i in LOOK_ALIKE_LIMITS else i
                               for i in range(len(LOOK_ALIKES))],
                         ids=[f"n{i:02d}" for i in range(len(LOOK_ALIKES))])
def test_a_look_alike_the_policy_names_is_not_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"n{i:02d}"]
    assert not qualifies, (LOOK_ALIKES[i], confidence, evidence)


DRILL = "a drill, exercise or test, nothing has happened"
NOTHING = "nothing of ours broken or affected"
REPORTED = "reported, not acted on"


@pytest.mark.parametrize(("subject", "description", "affected", "declared", "label"), [
    ("Fire drill", "Fire drill at 2pm, all the PCs will be left on.", 25, True, DRILL),
    ("Exercise", "This is an exercise: the insurer asks how we would respond to ransomware.", 10, True,
     DRILL),
    ("Outage?", "The supplier's portal is down for everyone according to their status page. "
     "Nothing broken here, just checking.", 20, False, NOTHING),
    ("Heads up", "Our broadband provider has an outage in the region but it hasn't affected us.", 9, False,
     NOTHING),
    ("Phishing", "Everyone got a fake parcel email. I haven't clicked it and told everyone not to.", 30,
     True, REPORTED),
])
def test_the_dampener_lowers_the_declaration_too(subject, description, affected, declared, label):
    """Firm (broad_field.firm): the client's count of affected users does not undo it, and a
    declaration alone is no call where it is met."""
    policy = default_policy()
    confidence, dampeners, _rules = one_ticket_rules(policy, subject, description, affected, declared)
    assert label in dampeners and confidence < policy.emergency.min_confidence, (confidence, dampeners)


@pytest.mark.parametrize("description", [
    "Got a fake invoice email. I didn't open it, but Sam clicked the link and typed his password.",
    "Suspicious email to all staff. I deleted it; two people opened the attachment before I did.",
    "Is this real? Finance already paid the invoice from the new bank details before we spotted it.",
])
def test_an_act_on_the_lure_cancels_reported_not_acted_on(description):
    confidence, dampeners, _rules = one_ticket_rules(default_policy(), "Phishing", description, 12, True)
    assert REPORTED not in dampeners, (confidence, dampeners)


@pytest.mark.parametrize("description", [
    "Got a fake invoice email, I haven't clicked anything. Should I delete it?",
    "A scam text about a parcel. I didn't click the link or enter any details, just reporting it.",
])
def test_a_negated_act_leaves_it(description):
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), "Phishing", description, 1, False)
    assert REPORTED in dampeners, dampeners


@pytest.mark.parametrize(("description", "broad"), [
    ("Every time I email one customer it bounces back, their mailbox is full.", False),
    ("Every time the user logs in it fails once then works.", False),
    ("The internet is down on every single PC in the office.", True),
    ("Every member of staff is locked out of email this morning.", True),
])
def test_every_reads_breadth_not_frequency(description, broad):
    policy = default_policy()
    confidence, _dampeners, rules = one_ticket_rules(policy, "Email", description, 1, False)
    several = {"core system down for several users", "something down for several users",
               "one system lost for all of its users"}
    assert bool(several & set(rules)) == broad, (confidence, rules)
