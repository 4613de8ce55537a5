"""Round 22 (issue 19 item 5): the structured field does not make one room's or device's problem,
or one going on for months, an emergency (docs/classification.md, "Round 22: emergency").

Every text here was written for this test from the policy's section 4 ideas, not taken from a batch.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.rule_matches import one_ticket_rules, read_ahead

AMENITY = "one room's or one device's amenity, not a business system"
LONG = "going on for weeks or months, work continuing"

# The real kind: declared an emergency for many users by the field, yet one room's or one device's
# amenity, or a problem that has gone on for months while work continued.
DAMPENED = [
    (AMENITY, "URGENT screens", "The TV in the staff room shows no signal and people can't watch the news"
     " at lunch."),
    (AMENITY, "Music", "The background music in the restaurant has stopped and it is very quiet, please fix"
     " today."),
    (AMENITY, "Lobby", "The TVs in reception are all blank, visitors have nothing to watch while they wait."),
    (LONG, "Backups", "We have just found that the server backups have been failing since October and nobody"
     " noticed the alerts. Please get them working for everyone."),
    (LONG, "Archive", "The archive share has been unreachable for the last few weeks for all staff; we have"
     " been managing without it."),
    (LONG, "Mail to junk", "For months now everyone's emails have been going to customers' junk folders."),
]

# Emergencies that mention a room, a screen or a time span: not dampened by the new labels.
NOT_DAMPENED = [
    ("Kitchen screens", "The order screens in the kitchen are down in all three restaurants and no orders"
     " are coming through."),
    ("Server room", "The air conditioning in the server room has failed and the servers are shutting down;"
     " nobody can work."),
    ("Email", "Email has been down for the whole company since Monday morning."),
    ("Patient system", "Since 9 this morning none of the staff can get into the patient system; clinics are"
     " booked for the next three weeks."),
    ("Server", "The main server has crashed and nobody can open any files; the accounts are due in two"
     " weeks."),
    ("Reception", "Reception and every PC in the building have no network at all, we cannot check anyone"
     " in."),
    ("Call centre", "The phones are dead at every desk in the call centre; no calls are coming in."),
    ("Shop", "The card machines and the tills at the shop counter are offline and customers are queueing."),
    ("Internet", "Since 8 this morning the whole office has no internet and we have tenders due at noon."),
    ("File server", "The file server died overnight after six years of service; nobody can open a file."),
    # the review's (round 22): a room or a device's age named beside a business system lost
    ("Pharmacy", "The vaccine fridge monitor and the pharmacy system are offline for all staff; we cannot"
     " dispense anything."),
    ("Power", "All the sockets on the ground floor are dead, every PC and the server are off and nobody can"
     " work."),
    ("Switch", "The network switch in the staff kitchen cupboard has failed and no PC in the office has"
     " network."),
    ("Server", "Our server, in service for over five years, crashed this morning and nobody can work."),
]


def _rules(policy: PolicyConfig, subject: str, description: str, affected: int = 50,
           declared: bool = True) -> tuple[float, list[str]]:
    """(confidence, dampeners) of the rules' reading of one ticket."""
    return one_ticket_rules(policy, subject, description, affected, declared)[:2]


def _not_firm(policy: PolicyConfig) -> PolicyConfig:
    """The policy with broad_field.firm empty (the field undoes every dampener, as before round 22)."""
    em = policy.emergency
    return policy.model_copy(update={"emergency": em.model_copy(update={
        "broad_field": em.broad_field.model_copy(update={"firm": []})})})


def test_round_22_the_two_labels_are_firm():
    # Round 29 made three more labels firm (a drill, nothing of ours broken, a lure not acted on);
    # round 22's two stay firm and first.
    assert default_policy().emergency.broad_field.firm[:2] == [AMENITY, LONG]


@pytest.mark.parametrize(("label", "subject", "description"), DAMPENED)
def test_round_22_the_field_does_not_make_a_rooms_or_a_long_problem_an_emergency(label, subject, description):
    # Declared for 50 users: the field no longer undoes the label, and the declaration is lowered
    # by it too, so the rules leave the reading below the call threshold. Without `firm` (the field
    # undoes every dampener, the declaration is whole) the same ticket is a call.
    policy = default_policy()
    confidence, dampeners = _rules(policy, subject, description)
    assert label in dampeners
    assert confidence < policy.emergency.min_confidence, (confidence, dampeners)
    before, _ = _rules(_not_firm(policy), subject, description)
    assert before >= policy.emergency.min_confidence, before


@pytest.mark.parametrize(("subject", "description"), NOT_DAMPENED)
def test_round_22_an_outage_that_names_a_room_or_a_time_is_not_dampened(subject, description):
    # Declared for 20 users: neither label is met, so the reading is the one without `firm`.
    policy = default_policy()
    confidence, dampeners = _rules(policy, subject, description, affected=20)
    assert AMENITY not in dampeners and LONG not in dampeners, dampeners
    assert confidence >= policy.emergency.min_confidence, (confidence, dampeners)
    assert confidence == _rules(_not_firm(policy), subject, description, affected=20)[0]


CORE = "a site's or team's core work stopped with work due"
IMPERSONATED = "a director impersonated asking for money"

# Round 22's two rules by nature, on texts of the real kind ...
MET = [
    (CORE, "Labels", "Nobody in dispatch can print any delivery labels since the update; we have 200 orders"
     " to go out by 3pm."),
    (CORE, "Job files", "The whole production team can't open the job files on the server, so the line has"
     " stopped with 40 jobs due today."),
    (CORE, "Scanners", "The warehouse handheld scanners are offline for all the staff and the couriers are"
     " waiting at the gate."),
    (IMPERSONATED, "Urgent payment", "An email from our managing director's gmail address asked me to pay a"
     " supplier invoice today and keep it confidential. I haven't paid it."),
    (IMPERSONATED, "Gift cards", "Someone on WhatsApp claiming to be our CEO asked the office manager to buy"
     " gift cards and send the codes."),
    (IMPERSONATED, "Transfer", "A text from a new number, supposedly our finance director, asked for a bank"
     " transfer of 4,000 to a new account."),
]

# ... and not on one person's routine text that uses the rules' words.
NOT_MET = [
    (CORE, "Label printer", "My label printer in dispatch can't print today, I have 3 orders to send; I can"
     " use the other one."),
    (CORE, "New picker", "Can you set up a new PC for the warehouse? Our new picker starts Monday with 50"
     " orders a day."),
    (CORE, "Planning sheet", "I can't log in to the production planning sheet, just me; the jobs for today"
     " are on it."),
    (CORE, "Quote", "Please quote for a second label printer for despatch, we ship 300 parcels a day."),
    (CORE, "Receipt printer", "The receipt printer at the front desk is down, customers waiting are being"
     " served at the other till."),
    (IMPERSONATED, "Phone bill", "Our director asked me to pay the phone bill invoice, can you tell me the"
     " account number?"),
    (IMPERSONATED, "WhatsApp", "Please set up WhatsApp on the director's new phone."),
    (IMPERSONATED, "Payments report", "The CEO wants a report of payments from Xero each month."),
    (IMPERSONATED, "Meeting", "I'm in a meeting with the director all afternoon; please call me about the new"
     " laptop payment plan after 4."),
    (IMPERSONATED, "Personal email", "My personal email address isn't syncing on my phone; our director said"
     " I could use it for supplier invoices."),
    (IMPERSONATED, "Pay run", "Please add the owner's gmail address to the payroll mailbox so she can approve"
     " the pay run."),
    # the review's (round 22): a channel or a reminder, not a request for money by someone else
    (IMPERSONATED, "Desktop app", "The boss asked me to install WhatsApp desktop so I can send invoices to"
     " customers from it."),
    (IMPERSONATED, "Calendar", "The partner's iCloud calendar won't sync, it should remind her to pay the"
     " office rent and the suppliers."),
]

# The impersonation rule is dampened like the other security rules (the review, round 22): a false
# alarm, a phishing-test template or an attempt already closed is not an emergency.
IMPERSONATION_DAMPENED = [
    ("False alarm", "False alarm: the WhatsApp from the CEO asking me to pay the supplier invoice was really"
     " him, from his new number."),
    ("Phishing test", "Please draft a phishing simulation template: an email pretending to be our MD from a"
     " gmail address, asking finance to pay an invoice."),
]


def _rules_met(subject: str, description: str) -> list[str]:
    return one_ticket_rules(default_policy(), subject, description)[2]


@pytest.fixture(scope="module", autouse=True)
def rules_read_ahead() -> None:
    """Every one-ticket reading of this module in one statement per policy (tests/rule_matches.py):
    each test still asserts on its own ticket's row."""
    policy = default_policy()
    fields = ([(s, d, 50, True) for _, s, d in DAMPENED] + [(s, d, 20, True) for s, d in NOT_DAMPENED])
    read_ahead(policy, fields + [(s, d, 1, False) for *_, s, d in MET + NOT_MET]
               + [(s, d, 1, False) for s, d in IMPERSONATION_DAMPENED])
    read_ahead(_not_firm(policy), fields)


@pytest.mark.parametrize(("label", "subject", "description"), MET)
def test_round_22_the_rule_is_met_on_the_real_kind(label, subject, description):
    assert label in _rules_met(subject, description)


@pytest.mark.parametrize(("label", "subject", "description"), NOT_MET)
def test_round_22_the_rule_is_not_met_on_routine_look_alikes(label, subject, description):
    assert label not in _rules_met(subject, description)


def test_round_22_core_work_rule_is_undampened_and_impersonation_is_not():
    # The device that stopped the work (a printer) does not lower the core-work rule; the
    # impersonation rule is lowered by the false-alarm, test and not-acted-on dampeners.
    rules = {r.label: r for c in default_policy().emergency.criteria for r in c.rules}
    assert rules[CORE].undampened and not rules[IMPERSONATED].undampened


@pytest.mark.parametrize(("subject", "description"), IMPERSONATION_DAMPENED)
def test_round_22_a_false_alarm_or_a_test_of_impersonation_is_not_an_emergency(subject, description):
    policy = default_policy()
    assert IMPERSONATED in _rules_met(subject, description)
    confidence, dampeners = _rules(policy, subject, description, affected=1, declared=False)
    assert dampeners, (confidence, dampeners)
    assert confidence < policy.emergency.min_confidence, (confidence, dampeners)
