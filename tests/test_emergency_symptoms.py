"""Many users losing one system, told by its symptom and not by "down" or "outage" (policy section
4): no licence or seat left for anyone, a screen or calendar gone blank for all, a server error
page, work that cannot do anything, a system that does not open for anyone, nothing with a network,
none of the staff able to see the shared drive. Read through the rules alone; the same words about
one user, a room or a request are not read as an outage (docs/classification.md, "Round 33:
outages told by their symptom"). The texts are my own, none a batch's.
"""

import pytest

from tests.rule_matches import read_ahead_fixture, shipped_reading

SEVERAL = {"core system down for several users", "something down for several users",
           "one system lost for all of its users"}


OUTAGES = [
    ("Design software", "All twelve design workstations say there are no licences available since "
     "this morning, so none of us can work on the drawings.", 12),
    ("Rota", "The staff rota app shows completely blank for all of us on every phone; yesterday it "
     "had the whole month in it.", 1),
    ("Portal", "Since 10 the client portal returns a 503 for every member of staff who tries to log "
     "in.", 15),
    ("Accounts", "Eight of us cannot process anything in the accounts package, it just spins.", 8),
    ("Files", "The shared files and the stock system do not open for anyone in the office this "
     "morning.", 1),
    ("Warehouse", "Nothing in the warehouse has network: the scanners, the screens and the pick "
     "terminals are all without it.", 9),
    ("Shared drive", "None of the office PCs can see the shared drive since the power blip.", 10),
]


@pytest.mark.parametrize(("subject", "description", "affected"), OUTAGES)
def test_an_outage_told_by_its_symptom_is_read(subject, description, affected):
    called, confidence, _dampeners, rules = shipped_reading(subject, description, affected)
    assert SEVERAL & set(rules) and called, (confidence, rules)


NOT_OUTAGES = [
    "My second screen is blank since I moved desks.",
    "The spare room is empty next week if you want to do the cabling then.",
    "In meetings nobody can hear me but I can hear them.",
    "Please warn the team: DO NOT OPEN the parcel email, it is fake.",
    "Our cover doesn't start until the insurer's findings are fixed; can you plan the work?",
    "We would like the delivery photo on the tracking page; now nobody can see it. Can you build it?",
]


@pytest.mark.parametrize("description", NOT_OUTAGES)
def test_the_same_words_about_one_user_or_a_request_are_not_an_outage(description):
    called, confidence, _dampeners, rules = shipped_reading("Question", description)
    assert not called, (confidence, rules)


rules_read_ahead = read_ahead_fixture([(s, d, affected, False) for s, d, affected in OUTAGES]
                                      + [("Question", d, 1, False) for d in NOT_OUTAGES])
