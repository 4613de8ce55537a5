"""Round 32: emergencies told calmly or without their words (an expired certificate that will not let
users through, mail copied wholesale to an outside address nobody recognises) are called, and
look-alikes the policy names (a supplier's announced maintenance window, a worry about someone
else's outage, a past fire's rebuild told "three weeks ago", a licence due to lapse in a fortnight)
are not; each dampener's `unless` keeps a real outage told beside it (docs/classification.md,
"Round 32: emergency"). The texts are my own, none a batch's or a noise block's.
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import one_ticket_rules
from tests.test_classify import _t

# (subject, description, affected users, declared an emergency)
REAL = [
    ("Not a big deal probably", "Customers say our booking site shows that the certificate has "
     "expired and their browser won't let them through to pay. No panic, just wondering.", 1, False),
    ("Outlook setting?", "While I was changing my signature I spotted something in Outlook that copies "
     "all my email to an outside address I don't recognise. Is that one of yours?", 1, False),
]

# (subject, description, affected users, declared an emergency)
LOOK_ALIKES = [
    ("Supplier notice", "Our payroll provider emailed: planned maintenance on Saturday, the portal "
     "will be unavailable from 6am to 10am. Anything we need to do first?", 25, False),
    ("Is this us?", "Saw on the news that a big cloud provider has a major outage in America. "
     "Should we be worried? Everything here is working.", 10, True),
    ("Warehouse rebuild", "The fire in the loading bay three weeks ago destroyed the switch and the "
     "cameras; we're running from the office since. Now the insurance has paid, please rebuild the "
     "network out there.", 12, False),
    ("Licence reminder", "The accounts software says our licence will expire in 14 days. Is renewal "
     "automatic or do we need to do something?", 8, False),
]

CASES = ([_t(f"r{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(REAL)]
         + [_t(f"n{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(LOOK_ALIKES)])


def shipped_cases() -> dict[str, list]:
    """The round's texts, classified with the other modules' cases in the session's one call."""
    return {"round32": CASES}


@pytest.fixture(scope="module")
def emergency(shipped_calls) -> dict:
    """Ticket id -> (qualifies, confidence, evidence, state) under the shipped policy."""
    return shipped_calls.of(__name__)("round32")[1]


@pytest.mark.parametrize("i", range(len(REAL)), ids=[f"r{i:02d}" for i in range(len(REAL))])
def test_an_emergency_told_calmly_or_by_its_symptom_is_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"r{i:02d}"]
    assert qualifies, (REAL[i], confidence, evidence)


@pytest.mark.parametrize("i", range(len(LOOK_ALIKES)), ids=[f"n{i:02d}" for i in range(len(LOOK_ALIKES))])
def test_a_look_alike_the_policy_names_is_not_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"n{i:02d}"]
    assert not qualifies, (LOOK_ALIKES[i], confidence, evidence)


MAINTENANCE = "an announced maintenance window, nothing down now"
LAPSE = "due to lapse later, nothing down yet"
OURS_FINE = "nothing of ours broken or affected"


@pytest.mark.parametrize(("description", "label"), [
    ("The planned maintenance last night overran and the portal is still down for everyone.", MAINTENANCE),
    ("Since the scheduled maintenance the till system hasn't come back on any till.", MAINTENANCE),
    ("Reminder says the domain expires in 2 days but the website is now showing an error.", LAPSE),
    ("Renewal notice says expires in 0 days, and customers' emails to us bounced this morning.", LAPSE),
    ("Big outage in the news, should we worry? But our email is down too.", OURS_FINE),
])
def test_what_cancels_the_dampener(description, label):
    """`unless`: the service did not come back, is down now, or an outage of ours is told beside."""
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), "Help", description, 12, False)
    assert label not in dampeners, dampeners


@pytest.mark.parametrize(("description", "label"), [
    ("Our phone provider says scheduled maintenance tonight, lines may be unavailable.", MAINTENANCE),
    ("The antivirus licence expires in 3 weeks - can you renew it?", LAPSE),
    ("The bank's app is down in the news. Are we affected?", OURS_FINE),
])
def test_the_dampener_reads_its_look_alike(description, label):
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), "Question", description, 12, False)
    assert label in dampeners, dampeners


@pytest.mark.parametrize("description", [
    "Can you set up a rule that forwards the invoices to the accounts mailbox?",
    "Our certificate expires next month, can you renew it before then?",
    "The app won't let me change my profile picture.",
    "A small question: can the portal send a copy of each booking to the office?",
])
def test_the_new_readings_do_not_read_a_request(description):
    policy = default_policy()
    confidence, _dampeners, rules = one_ticket_rules(policy, "Question", description, 1, False)
    assert confidence < policy.emergency.min_confidence, (confidence, rules)
