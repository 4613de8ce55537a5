"""Round 43 (emrec43, issue 19): emergencies told by their effect that the rules did not read
(policy section 4: a suspected security incident; config/policy.yaml, the round 43 terms, rule
and dampener; docs/decisions.md, "Emergencies told by their effect, round 43").

- a device holding business data out of the business's hands: left on a service named by its
  number or time ("the 17:10 train", "the number 9 bus", "the 42 last night"), or left somewhere
  and gone when someone went back;
- an account of someone who has left, used since: records exported, copied or deleted, an order
  placed, sign-ins seen.

Per reading three fresh phrasings in different registers (terse, rambling, careful non-native
English) that must be called, and near tickets of its limits that must not: a device wiped
remotely or handed in, an export asked for as a hand-over or made by the business itself, an
account only told as still open. Every ticket goes through the whole classifier (the final
call). The texts are my own, none a batch's.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.dampener_look_alikes import RuleLookAlikes, missing_term_set_refused
from tests.shipped_calls import calls_fixture

DEVICE = "a lost or stolen device holding company data"
LEAVER = "an account of someone who has left used since"
HANDOVER = "a leaver's use asked for or before they left"
# Round 43's rule joining emergency.learned_model.by_nature (pinned in tests/test_emergency_round21.py)
ROUND_43_BY_NATURE = [LEAVER]

# (rule, subject, description, affected users): each must be called, on the rule named
CALLED = [
    # a device left on a service named by its number or time
    (DEVICE, "laptop", "left work laptop on the 8:15 train. client files on it. no idea about a "
     "password.", 1),
    (DEVICE, "Bad news about the surveyor's tablet", "So our surveyor was on her way back from the site and "
     "she left the office tablet on the number 9 bus, she only noticed when she got home. It has all the "
     "customer records for the week and the banking app as well. The bus depot say nothing yet.", 1),
    (DEVICE, "Phone of the engineer", "Our engineer forget his work phone on the 21 yesterday evening. On "
     "the phone is his email and the customers list. He is very sorry. What we must do now?", 1),
    # left somewhere and gone when someone went back
    (DEVICE, "Tablet gone", "Put the clinic tablet down on the reception desk at the hotel. Came back, not "
     "there. Patient list on it.", 1),
    (DEVICE, "iPad from the van", "Honestly what a day, one of the lads left the job iPad on the wall "
     "outside a customer's house while he loaded the van, and when he went back ten minutes later it had "
     "vanished. It's logged into the bookings with the customers' addresses.", 1),
    # an account of someone who has left, used since
    (LEAVER, "old login", "Jo left us last month. Her account logged in Sunday night and downloaded the "
     "whole customers folder. Help.", 1),
    (LEAVER, "Supplier account", "Bit worried, so Callum who we let go in the spring has been ordering "
     "stock on the wholesaler website with our trade account, the invoices keep coming to us and the "
     "goods are going somewhere else. Nobody thought to change that password when he went.", 1),
    (LEAVER, "About our former colleague", "Our former colleague Mrs Novak finished with us two weeks ago. "
     "Today the system report is showing she exported the members database on Saturday. We did not know "
     "her access was still open. Please, what is the next step?", 1),
]

# (rule, subject, description, affected users): each must not be called
NOT_CALLED = [
    # handed back: found by the bus company, nothing out of the business's hands
    (DEVICE, "Phone found", "Left my work phone on the number 12 bus yesterday, but the depot had it "
     "handed in and I collected it this morning. Nothing needed, just letting you know.", 1),
    # the export was asked for, a hand-over before the owner left
    (LEAVER, "Handover file", "Sam left on Friday. As agreed with his manager he exported the customer list "
     "for the handover before he went. Can you now close his account please?", 1),
    # the business's own copy of the leaver's files, not the leaver's
    (LEAVER, "Files from Ana", "Ana left last week. We copied the client list off her laptop before it "
     "was wiped, can you close her login now?", 1),
    # an account only told as still open, nobody using it
    (LEAVER, "Leaver", "Priya left yesterday. Her login is still active, please switch it off and move her "
     "files to her manager. Nothing urgent.", 1),
]

LOOK_ALIKES = RuleLookAlikes("r43", CALLED, NOT_CALLED)


def shipped_cases() -> dict[str, list]:
    """The cases, classified with the other modules' cases in the session's one call."""
    return {"round43_recall": LOOK_ALIKES.tickets()}


emergency = calls_fixture("emergency", "round43_recall", part="emergency")

# The two tests of the shape (tests/dampener_look_alikes.py), under this module's names.
test_an_incident_told_by_its_effect_is_called, test_a_near_ticket_is_not_called = LOOK_ALIKES.tests()


# the hand-over and the business's own copy meet the leaver rule and are lowered by its limit
test_the_handover_is_lowered_by_its_limit = LOOK_ALIKES.limits_test([(1, HANDOVER), (2, HANDOVER)])


def test_the_new_rule_names_the_incident_by_its_nature():
    assert set(ROUND_43_BY_NATURE) <= set(default_policy().emergency.learned_model.by_nature)


test_a_rule_naming_a_missing_term_set_is_refused = missing_term_set_refused([
    "leaver_person", "leaver_acted",
])


def test_the_limit_read_only_with_an_unknown_term_set_is_refused():
    data = default_policy().model_dump()
    limit = next(d for d in data["emergency"]["dampeners"] if d["label"] == HANDOVER)
    limit["only_with_sets"] = ["no_such_set"]
    with pytest.raises(Exception, match="no_such_set"):
        PolicyConfig.model_validate(data)


def test_a_term_with_a_nested_group_is_refused():
    # the terms' syntax has one level of alternatives: a nested group is refused, not misread
    data = default_policy().model_dump()
    data["emergency"]["term_sets"]["leaver_acted"].append("(still (using|ordering))")
    with pytest.raises(Exception, match="nested"):
        PolicyConfig.model_validate(data)
