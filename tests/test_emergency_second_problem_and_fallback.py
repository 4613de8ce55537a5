"""An urgent second problem under a routine first ask, and an outage with a working fallback
(policy section 4; docs/classification.md, "Round 36: the urgent second problem, a fallback named
as working"). The routine-request and cosmetic dampeners give way where a second problem is opened
("also", "one more thing", "separately" ...) and told as failing, or where the text tells a
consequence no routine ask has (card payments not taken, customers turned away, work on paper);
breadth told as "all N <things>" beside the failure; payments stopped told in the perfect. And the
workaround dampener reads a fallback named as working (a backup that took over, other numbers that
work, customers who can still book, "manageable"), unless the fallback failed too or covers only
part of the work; an outage told as over ("then it worked again", "today everything is fine").
Each reading has a true case and a look-alike; the texts are my own, none a batch's.
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import read_ahead_fixture, shipped_reading

# (subject, description, affected users, declared, a rule that should read it)
CALLED = [
    # a routine first ask, then an outage told in full sentences
    ("New mailbox", "Could you please create a mailbox for our new receptionist, Dana?\n\n"
     "Also, all 3 labs can't open the results system since 8 and the samples are piling up.",
     1, False, "one system lost for all of its users"),
    ("Distribution list", "Please add Tom to the staff distribution list.\n\nOne more thing: the "
     "front desk hasn't been able to take card payments since we opened and people are waiting.",
     1, False, "card payments or tills stopped where customers pay"),
    ("New instructor login", "Can you set up a login for our new instructor please?\n\nSeparately, "
     "the till and the card reader at the north site haven't worked since opening and we're "
     "turning people away.", 1, False, "card payments or tills stopped where customers pay"),
    # a fallback that failed too
    ("Broadband down", "Broadband down at the shop for all staff since 10. The 4G backup hasn't "
     "kicked in either, so no card payments.", 8, False, "core system down for several users"),
    # a fallback that carries only part of the work
    ("Internet", "Internet down at head office for everyone. The backup line has kicked in but only "
     "covers the tills; the booking system and email are still down.", 20, False,
     "core system down for several users"),
]

NOT_CALLED = [
    # a fallback named as working: the backup took over, the work goes on
    ("Warehouse broadband", "Broadband at the warehouse is down since 9 (red light on the router). "
     "The backup connection has taken over so scanners and orders are running, just slower.", 15,
     False, "work carrying on another way"),
    ("Desk phones", "None of the office desk phones are working since the update. We're on our "
     "mobiles and clients have those numbers, so it's manageable.", 10, False,
     "work carrying on another way"),
    ("MAIN NUMBER DOWN", "The main number goes to voicemail for everyone! Patients can still book "
     "online and the direct lines work. Please treat as urgent.", 3, True,
     "work carrying on another way"),
    # over before the ticket
    ("Card terminals yesterday", "The card terminals at the cafe were not working for about ten "
     "minutes at lunch yesterday, then they worked again. Today everything is fine.", 4, False,
     "past or already resolved"),
    # a routine ask and one person's problem told second: still one user's
    ("Mailbox and monitor", "Please set up a mailbox for the new starter.\n\nAlso my monitor isn't "
     "working since Monday.", 1, False, "single-user issue"),
    # "all N" as the object of a request, not the ones that failed
    ("Tablets", "Can you please enrol all 12 tablets in device management and lock them down "
     "properly? None of them has a screen lock.", 12, False, None),
]


rules_read_ahead = read_ahead_fixture([(s, d, a, dec) for s, d, a, dec, _ in CALLED + NOT_CALLED])


@pytest.mark.parametrize(("subject", "description", "affected", "declared", "rule"), CALLED)
def test_an_urgent_second_problem_or_a_failed_fallback_is_called(subject, description, affected,
                                                                   declared, rule):
    called, confidence, dampeners, rules = shipped_reading(subject, description, affected, declared)
    assert called and rule in rules, (confidence, dampeners, rules)
    assert "routine request" not in dampeners and "work carrying on another way" not in dampeners, (
        confidence, dampeners, rules)


@pytest.mark.parametrize(("subject", "description", "affected", "declared", "damper"), NOT_CALLED)
def test_a_working_fallback_or_a_routine_look_alike_is_not_called(subject, description, affected,
                                                                   declared, damper):
    called, confidence, dampeners, rules = shipped_reading(subject, description, affected, declared)
    assert not called, (confidence, dampeners, rules)
    if damper is not None:
        assert damper in dampeners, (confidence, dampeners, rules)
    else:
        assert "one system lost for all of its users" not in rules, (confidence, dampeners, rules)


def test_the_fallback_reading_is_firm():
    """The workaround that carries the work lowers an outage however many users the field counts
    (broad_field.firm): a backup that took over for 15 people is still a working fallback."""
    assert "work carrying on another way" in default_policy().emergency.broad_field.firm
