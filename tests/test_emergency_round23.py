"""Round 23 (issue 19 item 5): payment taking stopped whatever the failing part is called, a device
nobody recognises on a payment point, a device mislaid with company data; a notice while everything
works; the weeks-or-months dampener only beside the problem (docs/classification.md, "Round 23:
emergency").

Every text here was written for this test from the policy's section 4 ideas, not taken from a batch.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.rule_matches import one_ticket_rules

TILLS = "card payments or tills stopped where customers pay"
SKIMMER = "an unknown device attached to a payment point or server"
MISLAID = "a device mislaid with company data, asked to be found or wiped"
NOTICE = "a notice or question while everything works"
LONG = "going on for weeks or months, work continuing"

# The real kind: each new phrase or rule met.
MET = [
    (TILLS, "Payments", "The payment gateway is showing an error on every checkout and nobody can pay for"
     " their orders."),
    (TILLS, "Card provider", "Our card provider is down: customers cannot pay at any of the branches."),
    (TILLS, "Kiosks", "All the self-service kiosks say the payment service is unavailable, so no one can pay"
     " for parking."),
    (TILLS, "Online shop", "Customers are unable to pay on the online shop, the payment processor keeps"
     " failing at the last step."),
    (SKIMMER, "Till", "There is a small USB device plugged into the back of till 2 and nobody here put it"
     " there. Should we take it out?"),
    (SKIMMER, "Card reader", "Staff found a thin box attached to the card reader at the fuel pump; it is not"
     " ours."),
    (SKIMMER, "Server", "There is a dongle connected to the back of the server in the comms cupboard and we"
     " don't recognise it, what is it?"),
    (MISLAID, "Phone", "I think I left my work phone in a taxi last night, it has my email and the customer"
     " app on it. Can you wipe it?"),
    (MISLAID, "Laptop", "Can't find my laptop anywhere since the conference, all the client files are on"
     " it - can you lock it or find it?"),
    (MISLAID, "Tablet", "One of the carers may have dropped her tablet at a client's house; it has the care"
     " records app signed in. Please track it."),
]

# Routine look-alikes: one user's problem or a question that uses the rules' words, not met.
NOT_MET = [
    (TILLS, "Invoice link", "One customer says she can't pay her invoice with the payment link, can you"
     " check it?"),
    (TILLS, "Gateway keys", "The payment gateway sent new API keys for the online shop, do we need to do"
     " anything?"),
    (TILLS, "Amex", "Customers can't pay with Amex on our website; can we add it?"),
    (TILLS, "Report", "How do I see which customers paid through the card provider last month?"),
    (TILLS, "Quote", "Please quote for two more card readers for the kiosks at both sites."),
    (TILLS, "Payroll", "Nobody can pay me back for the cables I bought, who approves expenses?"),
    (TILLS, "Checkout colour", "The checkout button on the website should be green, not blue."),
    (TILLS, "Provider change", "We are changing payment provider next month for all the shops, can you"
     " help plan it?"),
    (SKIMMER, "Stick", "The USB stick plugged into the till is the supplier's update stick; can I remove"
     " it?"),
    (SKIMMER, "Not recognised", "My PC doesn't recognise the USB stick I plugged in."),
    (SKIMMER, "Card reader", "Can you order a USB card reader to plug into the reception PC?"),
    (SKIMMER, "Old sticks", "We found a box of old USB sticks that are not ours in the store room, can we"
     " bin them?"),
    (SKIMMER, "Dongle", "The dongle for the label printer isn't ours, it belongs to the courier; it is"
     " plugged into the dispatch PC, can we keep it?"),
    (SKIMMER, "Keyboard", "The new keyboard I plugged into my laptop has no backlight."),
    (SKIMMER, "Server disk", "Please attach the new backup drive to the server when you are in."),
    (SKIMMER, "Kiosk screen", "The kiosk in reception is not ours, it's the landlord's; can it join our"
     " wifi?"),
    (MISLAID, "At home", "I left my laptop at home today, can I use webmail on the office PC?"),
    (MISLAID, "Charger", "I can't find my phone charger anywhere, my emails are on my laptop anyway."),
    (MISLAID, "Old phone", "Please wipe my old phone before I hand it back, it has my email on it."),
    (MISLAID, "Find my", "How do I turn on Find My iPhone on my work phone? It has my email on it."),
    (MISLAID, "Found it", "I thought I'd lost my laptop but it was in the car, all good."),
    (MISLAID, "Drop", "I dropped my phone and the screen cracked, the email app still works."),
    (MISLAID, "Locate file", "I can't find the customer file on my laptop, can you locate it?"),
    (MISLAID, "New laptop", "Can you set up my new laptop with email and track the delivery?"),
]


def _rules_met(subject: str, description: str, affected: int = 1) -> list[str]:
    return one_ticket_rules(default_policy(), subject, description, affected)[2]


@pytest.mark.parametrize(("label", "subject", "description"), MET)
def test_round_23_the_rule_is_met_on_the_real_kind(label, subject, description):
    assert label in _rules_met(subject, description)


@pytest.mark.parametrize(("label", "subject", "description"), NOT_MET)
def test_round_23_the_rule_is_not_met_on_routine_look_alikes(label, subject, description):
    assert label not in _rules_met(subject, description)


def test_round_23_new_rules_are_named_by_nature():
    # A bag-of-words p does not hold them (learned_model.by_nature); the mislaid device is
    # undampened like the lost or stolen one.
    em = default_policy().emergency
    assert {SKIMMER, MISLAID} <= set(em.learned_model.by_nature)
    rules = {r.label: r for c in em.criteria for r in c.rules}
    assert rules[MISLAID].undampened and not rules[SKIMMER].undampened


def _rules(policy: PolicyConfig, subject: str, description: str, affected: int, declared: bool
           ) -> tuple[float, list[str]]:
    return one_ticket_rules(policy, subject, description, affected, declared)[:2]


def _without(policy: PolicyConfig, label: str) -> PolicyConfig:
    """The policy without the dampener `label` (nor its firm entry)."""
    em = policy.emergency
    firm = [f for f in em.broad_field.firm if f != label]
    return policy.model_copy(update={"emergency": em.model_copy(update={
        "dampeners": [d for d in em.dampeners if d.label != label],
        "broad_field": em.broad_field.model_copy(update={"firm": firm})})})


# A notice or a question while everything still works, for many users: not an emergency.
NOTICES = [
    ("Outage notice", "Our broadband provider emailed about an outage in the area tonight. Will it affect"
     " the office? Everything is working at the moment."),
    ("Service alert", "We got a service alert from Microsoft about Exchange; everything seems fine so far,"
     " just letting you know."),
    ("Maintenance", "The phone system supplier says their servers are down for maintenance on Sunday, all"
     " is working for now."),
]

# Real outages that mention things working: the dampener is not met, the reading keeps its call.
NOTICE_OUTAGES = [
    ("Email down", "Email is down for everyone; everything else is working at the moment."),
    ("Server", "The server crashed at 9 and nobody can open any files. Everything was fine this morning."),
    ("Internet", "The internet is down for the whole office; the phones are still working for now but"
     " nothing else is."),
    ("Tills", "All the tills are offline and customers are queueing; the card machines were working fine"
     " yesterday."),
    ("Phones", "Our phone system is dead for all staff. The supplier says everything is fine at their end."),
    ("Patients", "The patient records system won't load for any of the clinicians; it all looks fine on"
     " the server but nobody can work."),
    ("VPN", "None of the home staff can connect to the VPN; everything in the office is working so we think"
     " it is the firewall."),
    ("Website", "The online shop is down for all customers and we are losing orders; our hosting company"
     " says everything is working on their side."),
]


@pytest.mark.parametrize(("subject", "description"), NOTICES)
def test_round_23_a_notice_while_everything_works_is_not_an_emergency(subject, description):
    policy = default_policy()
    confidence, dampeners = _rules(policy, subject, description, affected=40, declared=False)
    assert NOTICE in dampeners and confidence < policy.emergency.min_confidence, (confidence, dampeners)


@pytest.mark.parametrize(("subject", "description"), NOTICE_OUTAGES)
def test_round_23_an_outage_that_says_something_works_keeps_its_call(subject, description):
    policy = default_policy()
    confidence, dampeners = _rules(policy, subject, description, affected=20, declared=False)
    assert NOTICE not in dampeners
    assert confidence >= policy.emergency.min_confidence, (confidence, dampeners)
    assert (confidence, dampeners) == _rules(_without(policy, NOTICE), subject, description, 20, False)


# The weeks-or-months dampener read a plan's or a deadline's span (the review of round 22): now
# "for weeks / months" is read only near the problem. Real outages that name such a span:
SPANS = [
    ("Online shop", "We have planned this launch for months and now the online shop is down for all"
     " customers; nobody can order anything."),
    ("Payroll", "The payroll system crashed today and nobody can get in; the overtime for the last two"
     " months is due tonight."),
    ("Bookings", "The booking system is down for every branch, we have been fully booked for weeks and"
     " customers are waiting."),
    ("Server", "The server we saved up for over many months has died and nobody in the office can work."),
]

# ... while a problem going on for weeks or months keeps the dampener.
STILL_LONG = [
    ("Backups", "The backups have been failing for months and nobody noticed the alerts."),
    ("NAS", "The NAS has been saying disk degraded for weeks, please have a look."),
    ("Network", "The network has been a mess for months now and everyone complains it is slow."),
]


@pytest.mark.parametrize(("subject", "description"), SPANS)
def test_round_23_a_plans_span_beside_an_outage_is_not_dampened(subject, description):
    policy = default_policy()
    confidence, dampeners = _rules(policy, subject, description, affected=30, declared=True)
    assert LONG not in dampeners and confidence >= policy.emergency.min_confidence, (confidence, dampeners)


@pytest.mark.parametrize(("subject", "description"), STILL_LONG)
def test_round_23_a_problem_going_on_for_months_keeps_the_dampener(subject, description):
    assert LONG in _rules(default_policy(), subject, description, affected=30, declared=True)[1]
