"""Round 42 (emsecond42, issue 19): an emergency told as the second ask of a routine ticket, the
later part opened as a new ask ("PS", "also", "oh and", "separately") at the start of a sentence or
line (config/policy.yaml, emergency.later_ask.opened_by and opened_dampeners; logic/emergency_asks.py).

A state told of the first ask (nothing needed, just for the records; a planned project; work
carrying on another way) is the first ask's: it does not lower an outage the later part tells by
its own words. Near tickets, not called: the later part itself routine, over again ("back now"),
carried on another way, or a history; and the same state told before the outage with no opener
(the whole ticket is then one report of something over). Every ticket goes through the whole
classifier (the final call). The texts are my own, none a batch's.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.dampener_look_alikes import RuleLookAlikes
from tests.rule_matches import read_ahead_fixture, shipped_reading
from tests.shipped_calls import calls_fixture

ALL_USERS = "one system lost for all of its users"
SEVERAL = "something down for several users"
TILLS = "card payments or tills stopped where customers pay"
FREED = "a later ask read alone: business critical outage"

# (rule, subject, description, affected users): each must be called, on the rule named
CALLED = [
    (ALL_USERS, "Board minutes", "Attaching the minutes of Tuesday's board meeting, no action needed, "
     "just for your records.\n\nPS since about eleven none of the staff can get into the booking "
     "system, it only shows a blank page. We're writing appointments down on paper.", 1),
    (ALL_USERS, "Engineer visit", "Just letting you know the engineer's visit went fine yesterday, "
     "nothing needed from us. Also, since nine none of us can open the shared drive, it says "
     "'unavailable', and we have clients coming in at two.", 1),
    (SEVERAL, "Kitchen screen", "The kitchen display was flickering this morning but it came back on "
     "its own, for the record. Oh and everyone in the office has been locked out of email since "
     "lunch, nobody can send or receive anything.", 1),
    (ALL_USERS, "Reception PC", "The reception PC keeps freezing, we're getting by on the spare laptop "
     "for that. Separately, since ten none of the nurses can log in to the patient records system, "
     "it just times out, and clinics start at half past.", 1),
    (ALL_USERS, "Refresher", "After last spring's phishing incident could we book a refresher session "
     "for the team? One more thing: since we opened the tills have been down for all of us, the "
     "payment screen says unavailable and the queue is out of the door.", 1),
]

# The second commit's words (a later part that met no rule at all): a system that fails "for any
# of us" told in the perfect, a card machine declining every card, customers asked to come back.
WORDED = [
    (ALL_USERS, "Rota printout", "Could you please install the label printer driver on the spare PC? "
     "Also, the rota app hasn't loaded for any of us since eight, it just spins, and shifts change "
     "at ten.", 1),
    (TILLS, "Window poster", "Can you resize the window poster for the printer? Oh and both card "
     "machines at the counter have been declining every card since opening, we're asking customers "
     "to come back later.", 1),
]

# (rule, subject, description, affected users): each must not be called
NOT_CALLED = [
    # the later part is itself routine
    (ALL_USERS, "Board minutes", "Attaching the minutes of Tuesday's board meeting, no action needed, "
     "just for your records.\n\nPS could you add our new receptionist to the booking system? She "
     "starts on Monday.", 1),
    # the later part's own outage is over ("back now" told in it)
    (ALL_USERS, "Engineer visit", "Just letting you know the engineer's visit went fine yesterday, "
     "nothing needed from us. Also, this morning none of us could open the shared drive for an hour "
     "but it's all back now.", 1),
    # the later part carries on another way
    (ALL_USERS, "Kitchen screen", "The kitchen display was flickering this morning but it came back "
     "on its own, for the record. Oh and none of us could get on the internet after lunch, we're "
     "getting by on our phones' hotspots and it's ok for now.", 1),
    # no opener: the state told first is the whole ticket's (one report of something over)
    # one card declined, a customer's bank's business
    (TILLS, "Window poster", "Can you resize the window poster for the printer? Oh and the card machine "
     "declined one customer's card this morning, she said it was her bank.", 1),
    # the later part's own words say it was one file, and it opened after
    (ALL_USERS, "Rota printout", "Could you please install the label printer driver on the spare PC? "
     "Also, the big newsletter attachment hasn't loaded for any of us, is it just a huge file? No rush, "
     "it opened eventually.", 1),
    (ALL_USERS, "For the record", "Just for your records, nothing needed. Yesterday from two until "
     "four none of the staff could get on the internet, the line came back on its own.", 1),
]

LOOK_ALIKES = RuleLookAlikes("sa", CALLED + WORDED, NOT_CALLED)


def shipped_cases() -> dict[str, list]:
    """The cases, classified with the other modules' cases in the session's one call."""
    return {"round42_second_ask": LOOK_ALIKES.tickets()}


emergency = calls_fixture("emergency", "round42_second_ask", part="emergency")
rules_read_ahead = read_ahead_fixture([(s, d, a, False) for _, s, d, a in CALLED + WORDED + NOT_CALLED],
                                      autouse=False)

# The two tests of the shape (tests/dampener_look_alikes.py), under this module's names.
test_an_emergency_told_as_a_second_ask_is_called, test_a_near_ticket_is_not_called = LOOK_ALIKES.tests()


def test_the_later_part_was_read_alone(emergency):
    # called because the opened part gave way, not because the first ask's state was missed (the
    # WORDED tickets' first asks are routine: the round 37 reading frees them)
    for i, case in enumerate(CALLED):
        evidence = emergency[f"sa{i:02d}"][2]
        assert FREED in evidence, (case, evidence)


@pytest.mark.usefixtures("rules_read_ahead")
@pytest.mark.parametrize("i", range(len(CALLED)))
def test_the_rules_alone_call_the_later_part(i):
    # the rules' own reading, not only the learned signal: the first ask's state gave way
    _rule, subject, description, affected = CALLED[i]
    called, confidence, dampeners, rules = shipped_reading(subject, description, affected)
    assert called and FREED in rules, (confidence, dampeners, rules)


@pytest.mark.usefixtures("rules_read_ahead")
@pytest.mark.parametrize("i", range(len(WORDED)))
def test_the_rules_alone_read_the_worded_later_part_on_its_rule(i):
    # not called by the rules before the round's words (the learned signal may have called them)
    rule, subject, description, affected = WORDED[i]
    called, confidence, dampeners, rules = shipped_reading(subject, description, affected)
    assert called and rule in rules, (confidence, dampeners, rules)


def test_the_state_told_in_the_later_part_still_lowers_it(emergency):
    evidence = emergency[LOOK_ALIKES.near_id(1)][2]  # "Engineer visit", back now
    assert "over before the ticket" in evidence and FREED not in evidence, evidence


@pytest.mark.parametrize("openers, message", [(["PS"], "lower-case"), (["ps", "ps"], "once"),
                                              (["p$s"], "lower-case")])
def test_a_wrong_opener_is_refused(openers, message):
    data = default_policy().model_dump()
    data["emergency"]["later_ask"]["opened_by"] = openers
    with pytest.raises(Exception, match=message):
        PolicyConfig.model_validate(data)


def test_opened_dampeners_without_an_opener_are_refused():
    data = default_policy().model_dump()
    data["emergency"]["later_ask"]["opened_by"] = []
    with pytest.raises(Exception, match="names no opener"):
        PolicyConfig.model_validate(data)


@pytest.mark.parametrize("label, message", [("no such dampener", "not a dampener's label"),
                                            ("routine request", "also in later_ask.dampeners")])
def test_a_wrong_opened_dampener_is_refused(label, message):
    data = default_policy().model_dump()
    data["emergency"]["later_ask"]["opened_dampeners"].append(label)
    with pytest.raises(Exception, match=message):
        PolicyConfig.model_validate(data)
