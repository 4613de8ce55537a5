"""Round 42 (emrec42, issue 19): emergencies told by their effect that the rules did not read
(policy section 4: a suspected security incident; config/policy.yaml, the round 42 rules, term
sets and dampeners; docs/decisions.md, "Emergencies told by their effect, round 42").

- a device holding business data lost on transport or driven off from (no lock, a weak or an
  unknown one);
- money taken through the login of someone who has left, never closed;
- remote access given to a stranger who rang or was rung (a number on a warning screen);
- a machine strained while nobody uses it, a process pointed at;
- many people's personal data sent to one wrong outside recipient (identity numbers told short);
- the people we serve's details found in a search.

Each with near tickets of its limits: a device wiped remotely, a shortfall explained by a
miscount, a caller hung up on before anything was installed, a session the client arranged, a
machine strained by an update, a message recalled unopened. Every look-alike goes through the
whole classifier (the final call). The texts are my own, none a batch's.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.dampener_look_alikes import RuleLookAlikes, missing_term_set_refused
from tests.shipped_calls import calls_fixture

DEVICE = "a lost or stolen device holding company data"
LEAVER = "money taken through a leaver's account never closed"
STRANGER = "remote access given to a stranger who rang or was rung"
IDLE = "a machine strained while nobody uses it, a process pointed at"
SENT = "personal data sent by mistake to the wrong people"
PUBLIC = "personal details of the people we serve made public"
WIPED = "a lost device wiped remotely"
EXPLAINED = "a money shortfall explained"
REFUSED = "remote access refused or arranged"
UPDATE = "load from an update or a backup"
# Round 42's rules joining emergency.learned_model.by_nature (pinned in tests/test_emergency_round21.py)
ROUND_42_BY_NATURE = [LEAVER, STRANGER, IDLE]

# (rule, subject, description, affected users): each must be called, on the rule named
CALLED = [
    (DEVICE, "Tablet gone", "I think I misplaced the site tablet on the bus home, it has the job sheets and "
     "client contacts on it. Only a short PIN on it.", 1),
    (DEVICE, "Laptop", "Put my laptop bag down on the kerb while loading up and drove away, it's gone when I "
     "went back. Payroll spreadsheet and my email are on it.", 1),
    (LEAVER, "Refunds", "Our books are short by a fair bit this month. The refunds were all put through on "
     "Marek's account, he left at Easter and nobody switched it off.", 1),
    (STRANGER, "Pop-up", "A warning filled the screen telling me to ring the number on the screen. I rang it "
     "and the lady took over my computer for half an hour. The accounts are on this PC.", 1),
    (IDLE, "Office PCs loud", "The two design PCs are roaring all night, CPU at 100 with no one using them. "
     "There is a process called svchosts in task manager hogging it.", 2),
    (SENT, "Wrong client", "I emailed the wrong client our whole staff spreadsheet by mistake, 120 employees "
     "with addresses and NI numbers. Can we stop it?", 1),
    (PUBLIC, "Minutes online", "A tenant told us the meeting minutes with tenants' names and addresses "
     "show up in a Google search. Please help us take them down.", 1),
]

# (rule, subject, description, affected users): each must not be called
NOT_CALLED = [
    # a lost laptop wiped remotely
    (DEVICE, "Laptop wiped", "Left my laptop on the train yesterday with my email on it. We have already "
     "wiped it remotely this morning, so can you order a new one?", 1),
    # a shortfall a miscount explained
    (LEAVER, "Till short", "The till was short yesterday and we worried about the old staff login, but it "
     "turned out to be a miscount by the new girl. Can you remove the old logins anyway?", 1),
    # the caller hung up on before anything was installed
    (STRANGER, "Odd call", "A man rang reception saying he was from the bank and asked her to install "
     "remote access software. She hung up before doing anything. Just so you know.", 1),
    # a session the client arranged with its known supplier
    (STRANGER, "Accounts software", "We booked a session with the accounts software company, I rang the "
     "helpline and their engineer took over my computer as arranged to fix the report.", 1),
    # the load explained by an update
    (IDLE, "Fans at night", "My PC fans were running flat out overnight with nobody on it, the update "
     "process was installing in task manager. It's fine today.", 1),
    # recalled before anyone opened it
    (SENT, "Recalled", "I sent our member list with addresses to the wrong client by mistake, but the recall "
     "was successful before anyone opened it.", 1),
]

LOOK_ALIKES = RuleLookAlikes("rt", CALLED, NOT_CALLED)


def shipped_cases() -> dict[str, list]:
    """The cases, classified with the other modules' cases in the session's one call."""
    return {"round42_recall": LOOK_ALIKES.tickets()}


emergency = calls_fixture("emergency", "round42_recall", part="emergency")

# The two tests of the shape (tests/dampener_look_alikes.py), under this module's names.
test_an_incident_told_by_its_effect_is_called, test_a_near_ticket_is_not_called = LOOK_ALIKES.tests()


test_the_limits_are_what_lowers_the_near_tickets = LOOK_ALIKES.limits_test(
    [(0, WIPED), (1, EXPLAINED), (3, REFUSED), (4, UPDATE)])


def test_the_new_rules_name_the_incident_by_its_nature():
    assert set(ROUND_42_BY_NATURE) <= set(default_policy().emergency.learned_model.by_nature)


test_a_rule_naming_a_missing_term_set_is_refused = missing_term_set_refused([
    "leaver_account", "money_taken", "stranger_contact", "remote_given", "machine_idle",
])


@pytest.mark.parametrize("label", [WIPED, EXPLAINED, REFUSED, UPDATE])
def test_a_limit_read_only_with_an_unknown_term_set_is_refused(label):
    data = default_policy().model_dump()
    limit = next(d for d in data["emergency"]["dampeners"] if d["label"] == label)
    limit["only_with_sets"] = ["no_such_set"]
    with pytest.raises(Exception, match="no_such_set"):
        PolicyConfig.model_validate(data)


def test_a_new_rule_weight_out_of_range_is_refused():
    data = default_policy().model_dump()
    criterion = next(c for c in data["emergency"]["criteria"] if c["id"] == "suspected_security_incident")
    next(r for r in criterion["rules"] if r["label"] == STRANGER)["weight"] = 1.5
    with pytest.raises(Exception, match="weight"):
        PolicyConfig.model_validate(data)
