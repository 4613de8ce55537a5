"""The emergency dampeners: look-alikes the policy names by their nature (section 4: a drill, nothing
of ours affected, a lure reported and not acted on, "hacked" said in jest, over before the ticket,
work carrying on another way, work asked for outside the working day, a past incident's aftermath,
someone else's comment, an announced maintenance window, something due to lapse later), read
through the rules alone: each lowers a declared emergency too, and what cancels it (`unless`) does
(docs/classification.md, rounds 29 to 32). The whole classifier's calls on such texts:
tests/test_emergency_look_alikes.py. The texts are my own, none a batch's.
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import one_ticket_rules, read_ahead_fixture, shipped_reading

DRILL = "a drill, exercise or test, nothing has happened"
NOTHING = "nothing of ours broken or affected"
REPORTED = "reported, not acted on"
JEST = '"hacked" said in jest or for a changed look'
OVER = "over before the ticket, nothing asked now"
ELSEWHERE = "work carrying on another way"
OUT_OF_DAY = "work asked for outside the working day"
AFTERMATH = "a past incident's aftermath asked as work now"
COMMENT = "someone else's public comment or review, not a compromise"
MAINTENANCE = "an announced maintenance window, nothing down now"
LAPSE = "due to lapse later, nothing down yet"
NEVER = "never connected, nothing lost"


DECLARED = [
    ("Fire drill", "Fire drill at 2pm, all the PCs will be left on.", 25, True, DRILL),
    ("Exercise", "This is an exercise: the insurer asks how we would respond to ransomware.", 10, True,
     DRILL),
    ("Outage?", "The supplier's portal is down for everyone according to their status page. "
     "Nothing broken here, just checking.", 20, False, NOTHING),
    ("Heads up", "Our broadband provider has an outage in the region but it hasn't affected us.", 9, False,
     NOTHING),
    ("Phishing", "Everyone got a fake parcel email. I haven't clicked it and told everyone not to.", 30,
     True, REPORTED),
    ("Email earlier", "Email was down for everyone from 8 to 8:30. All back up now, just letting you "
     "know.", 25, True, OVER),
    ("Branch internet", "Internet down at the branch since 9, staff are working from home fine "
     "until it's fixed.", 12, True, ELSEWHERE),
    ("Server restart", "The server needs a restart for its updates but it can't go off during the "
     "day, everyone is on it. Can you do it when we're closed?", 30, True, OUT_OF_DAY),
    ("Flood clean-up", "Following last week's flood the comms cabinet is dead and needs replacing; "
     "can you quote?", 20, True, AFTERMATH),
]


@pytest.mark.parametrize(("subject", "description", "affected", "declared", "label"), DECLARED)
def test_the_dampener_lowers_the_declaration_too(subject, description, affected, declared, label):
    """Firm (broad_field.firm): the client's count of affected users does not undo it, and a
    declaration alone is no call where it is met."""
    policy = default_policy()
    confidence, dampeners, _rules = one_ticket_rules(policy, subject, description, affected, declared)
    assert label in dampeners and confidence < policy.emergency.min_confidence, (confidence, dampeners)


CANCELS = [
    # An act on the lure (round 29).
    ("Phishing", "Got a fake invoice email. I didn't open it, but Sam clicked the link and typed his "
     "password.", REPORTED),
    ("Phishing", "Suspicious email to all staff. I deleted it; two people opened the attachment before "
     "I did.", REPORTED),
    ("Phishing", "Is this real? Finance already paid the invoice from the new bank details before we "
     "spotted it.", REPORTED),
    # The outage back again, a loss of trade, an incident today, an act on a lure (round 30).
    ("Help", "Phones went down, came back, and have gone off again. Nobody can call out.", OVER),
    ("Help", "Power back on now but nothing works on any PC in the office.", OVER),
    ("Help", "We're working from the other site fine but the shop can't take payments.", ELSEWHERE),
    ("Help", "After last week's flood the server went down again this morning, nobody can work.",
     AFTERMATH),
    ("Help", "Someone hacked the account lol but Sam clicked the link and typed his password.", JEST),
    # An outage of ours told beside it, a sign of takeover, down now, still down (round 31).
    ("Help", "Outlook is down on the news and ours seems fine, but the phones are dead here.", NOTHING),
    ("Help", "Someone commented on our Facebook page and now our password doesn't work.", COMMENT),
    ("Help", "Just so you know the internet has gone and the card machines aren't working.", OVER),
    ("Help", "The storm last week knocked the line out and the phones are still down.", AFTERMATH),
    # The service did not come back, is down now, or an outage of ours told beside (round 32).
    ("Help", "The planned maintenance last night overran and the portal is still down for everyone.",
     MAINTENANCE),
    ("Help", "Since the scheduled maintenance the till system hasn't come back on any till.", MAINTENANCE),
    ("Help", "Reminder says the domain expires in 2 days but the website is now showing an error.", LAPSE),
    ("Help", "Renewal notice says expires in 0 days, and customers' emails to us bounced this morning.",
     LAPSE),
    ("Help", "Big outage in the news, should we worry? But our email is down too.", NOTHING),
]


@pytest.mark.parametrize(("subject", "description", "label"), CANCELS)
def test_what_cancels_the_dampener(subject, description, label):
    """`unless`: what the dampener's look-alike does not have cancels it."""
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), subject, description, 12, True)
    assert label not in dampeners, dampeners


NEGATED = [
    "Got a fake invoice email, I haven't clicked anything. Should I delete it?",
    "A scam text about a parcel. I didn't click the link or enter any details, just reporting it.",
]


@pytest.mark.parametrize("description", NEGATED)
def test_a_negated_act_leaves_it(description):
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), "Phishing", description, 1, False)
    assert REPORTED in dampeners, dampeners


IN_JEST = [
    "Think the office PC got hacked lol, the wallpaper is a cartoon now.",
    "My email signature changed to a silly font, have I been hacked? Haha, not really.",
]


@pytest.mark.parametrize("description", IN_JEST)
def test_hacked_in_jest(description):
    policy = default_policy()
    confidence, dampeners, _rules = one_ticket_rules(policy, "Hacked", description, 1, False)
    assert JEST in dampeners and confidence < policy.emergency.min_confidence, (confidence, dampeners)


ROUND_32 = [
    ("Our phone provider says scheduled maintenance tonight, lines may be unavailable.", MAINTENANCE),
    ("The antivirus licence expires in 3 weeks - can you renew it?", LAPSE),
    ("The bank's app is down in the news. Are we affected?", NOTHING),
]


@pytest.mark.parametrize(("description", "label"), ROUND_32)
def test_round_32s_dampeners_read_their_look_alike(description, label):
    """A supplier's announced window, something due to lapse weeks ahead, a worry about another's
    outage (round 32)."""
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), "Question", description, 12, False)
    assert label in dampeners, dampeners


PROVIDED_AS_A_CONDITION = [
    "A 'prize' email: a free holiday, provided I confirm my account credentials. I did not click.",
    "Message says my parcel is waiting provided I verify my login details. Didn't click anything.",
]


@pytest.mark.parametrize("description", PROVIDED_AS_A_CONDITION)
def test_provided_as_a_condition_is_no_credential_handed_over(description):
    """Round 33: "provided (that) I verify my credentials" is the lure's condition, not a credential
    handed over, so the negation wins when nobody acted."""
    called, _confidence, dampeners, rules = shipped_reading("Phishing", description)
    assert REPORTED in dampeners and "credentials given to a lure" not in rules, (dampeners, rules)
    assert not called


PROVIDED = ("Phishing", "The fake page looked real and I provided my password. I didn't reply to "
            "the email though.", 1, False)


def test_credentials_provided_stay_handed_over():
    _confidence, dampeners, rules = one_ticket_rules(default_policy(), *PROVIDED)
    assert "credentials given to a lure" in rules and REPORTED not in dampeners, (dampeners, rules)


NEPHEW = ("Tablet", "Two things: the printer is out of toner, and my nephew hacked my tablet so all "
          "the apps are in a folder I can't find.", 1, False)


def test_a_relative_hacking_a_personal_device_is_jest():
    """Round 33: "hacked" done by a child or relative to a personal device is a prank."""
    called, confidence, dampeners, _rules = shipped_reading(*NEPHEW)
    assert JEST in dampeners and not called, (confidence, dampeners)


ROUND_33 = [
    ("Supplier notice", "The GPS correction service emailed that its network has an outage in the "
     "north. We work in the south this month. Do we need to do anything?", NOTHING),
    ("New room", "Half the PCs in the new training room have no network, the floor boxes were never "
     "connected by the electricians.", NEVER),
    ("Updates", "Please do the server updates and restart at 7pm on Thursday, when there's nobody "
     "working. Last month the restart took the server down at lunchtime.", OUT_OF_DAY),
]


@pytest.mark.parametrize(("subject", "description", "label"), ROUND_33)
def test_round_33s_outage_look_alikes_are_dampened(subject, description, label):
    """Someone else's notice asked about, desks never connected, updates asked for an evening
    (round 33): firm, so a broad field does not undo them."""
    called, confidence, dampeners, _rules = shipped_reading(subject, description, 12)
    assert label in dampeners and not called, (confidence, dampeners)


ROUND_33_CANCELS = [
    ("The network sockets were never connected on the new floor, but the main office network went "
     "down this morning and nobody can work.", NEVER),
    ("The intranet has been slow for weeks, but since 9am today it is down for all of us.",
     "going on for weeks or months, work continuing"),
]


@pytest.mark.parametrize(("description", "label"), ROUND_33_CANCELS)
def test_what_cancels_round_33s_readings(description, label):
    """A network that stopped, or a fault with today's clock time, is a fault of now."""
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), "Network", description, 12, False)
    assert label not in dampeners, dampeners


BANK_HOLIDAY = ("After the burglary", "As you know we were burgled over the bank holiday; the "
                "replacement laptops have arrived, can you set them up?", 10, False)


def test_a_bank_holiday_is_no_company_data():
    """A break-in told by its date ("over the bank holiday") is not a device holding bank data."""
    _confidence, _dampeners, rules = one_ticket_rules(default_policy(), *BANK_HOLIDAY)
    assert "a lost or stolen device holding company data" not in rules, rules


rules_read_ahead = read_ahead_fixture([
    *((s, d, affected, declared) for s, d, affected, declared, _ in DECLARED),
    *((s, d, 12, True) for s, d, _ in CANCELS),
    *(("Phishing", d, 1, False) for d in NEGATED + PROVIDED_AS_A_CONDITION),
    *(("Hacked", d, 1, False) for d in IN_JEST),
    *(("Question", d, 12, False) for d, _ in ROUND_32),
    *((s, d, 12, False) for s, d, _ in ROUND_33),
    *(("Network", d, 12, False) for d, _ in ROUND_33_CANCELS),
    PROVIDED, NEPHEW, BANK_HOLIDAY])
