"""Round 24 (issue 19 item 5): an account's recovery details changed by someone else, told in plain
words (docs/classification.md, "Round 24: emergency").

The round also shipped three rules (vouchers bought and their codes passed on; a password typed
into a page a mail asked for, then doubted; the machine the site's work runs on dead) and a firm
quiet-time dampener; the review's own texts showed the rules calling routine tickets and the
dampener silencing real outages, so they were taken out (policy 2026.12.66). The review's texts stay
here: its real outages that name a weekend, an evening or nobody being in must keep the rules'
call, and its routine texts must not be raised by the rules.

Every text here was written for this test or by the review from the policy's section 4 ideas, not
taken from a batch.
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import one_ticket_rules, read_ahead_fixture, read_alone

RECOVERY = "recovery details changed by someone else"

# The real kind: an account's recovery phone or address changed, and the user did not do it.
REAL = [
    ("codes", "I keep getting sign-in codes by text and today an email said my recovery email was changed to"
     " an address I don't know."),
    ("account", "Our bookkeeper's backup phone number has been changed and she didn't change it; now the"
     " verification texts go to a number none of us know."),
    ("weird email", "Got a notice that the security email on my account was updated. It wasn't me, and I"
     " don't recognise the address."),
]

# One user changing or asking about their own recovery details.
LOOK_ALIKES = [
    ("Recovery phone", "I changed my recovery phone number, is that OK?"),
    ("New phone", "I have a new mobile, how do I update my recovery number for my email?"),
    ("Backup email", "Can you change the backup email on my account to my new address please?"),
    ("Codes", "I typed my password wrong three times and now it wants a code sent to my phone."),
    ("MFA", "My security number was updated when IT set up my new phone, all working now."),
    ("Reset", "I didn't get the reset code on my phone, can you send it to my email instead?"),
    ("Details", "Our recovery details were changed by the IT team last week as part of the clean-up; just"
     " checking that was you."),
    ("Which number", "What recovery email should staff use, their personal one or a shared one?"),
    ("Leaver", "Please remove the recovery phone of the person who left, we don't know her new one."),
    ("Sign-in", "I can't remember which recovery phone I set up, I don't know if it's the old one."),
]

# Real emergencies that name a weekend, an evening or nobody being in (the round's helper's and the
# review's), declared for 30 users: the rules call each of them.
REAL_WITH_QUIET_WORDS = [
    ("Server down", "The server crashed on Saturday and nobody can open any files this morning."),
    ("Email", "Email has been down for the whole company since Sunday evening; we have clients waiting."),
    ("Tills", "All the tills went offline this evening and customers are queueing; we open all weekend."),
    ("Internet", "The internet is down for everyone. Please come this evening if you can't do it now."),
    ("Network", "No one can connect to the network; we work weekends and nobody can do anything."),
    ("Phones", "The phone system is dead for all staff and we have the Saturday rush coming."),
    ("Booking", "The booking system is down for everyone on a Sunday, our busiest day; we can't take any"
     " bookings."),
    ("Ransomware", "Files on the server are encrypted and there's a note in every folder; nobody was in over"
     " the weekend."),
    ("Payments", "Card payments stopped at every shop this evening; we can only take cash."),
    ("Everything", "Everything is down since the power cut on Sunday night; no one can work."),
    ("Morning", "The server crashed at nine when everyone is in and nobody can open a file."),
    ("Busy day", "While everyone is working in the office today the phones are dead for all staff."),
    ("Booking system", "We're a weekend business: the booking system went down Saturday morning for all"
     " staff, please do it this weekend, we can't wait until Monday."),
    ("Network", "Please do it this evening if you can't come now - the whole network is down and nobody can"
     " work."),
    ("No internet", "Whole site has no internet and the card machines are offline. Please arrange it for"
     " Saturday morning before we open, we can't trade without it."),
    ("Server", "Our server crashes every night when nobody is in, and this morning it didn't come back:"
     " nobody can log in."),
    ("Card machines", "We trade only on weekends, never on weekdays: today the card machines are all offline"
     " and customers can't pay."),
]

# The review's routine texts that the round's taken-out rules raised (one user, undeclared): the
# rules leave each below the emergency threshold.
ROUTINE = [
    ("Raffle", "We bought 20 Amazon vouchers for the staff raffle and I emailed the codes to the winners,"
     " can you check the mail went out?"),
    ("Thank-you packs", "I've bought the gift cards for the client thank-you packs; can you send me the"
     " client list so I can text them the codes?"),
    ("Team vouchers", "We've bought iTunes vouchers for the team and I sent them the codes by WhatsApp, how"
     " do they redeem on a work iPhone?"),
    ("Xero", "The Xero email said my subscription expires; I logged in on xero.com and entered my password,"
     " then noticed the price had gone up."),
    ("Solicitor", "An email asked me to sign in to view a document; I typed my password, then realised it"
     " was the genuine one from our solicitor, all fine."),
    ("Packing line", "The PC that runs the packing line is dead again, production stopped for lunch anyway,"
     " no rush, look at it tomorrow."),
]

# The round-23 review's texts and the round-22 mend's (docs/classification.md): none meets the
# round-24 rule.
REVIEWED = [
    ("Laptop", "I think I left my laptop in the meeting room, can someone lock it in the cupboard? It has"
     " client files on it."),
    ("Phone", "I might have left my phone at home today, how do I use Find My iPhone to check?"),
    ("Delivery", "Not sure where my new laptop is, the courier says delivered. Can you track it?"),
    ("Internet", "The internet is down for the whole office, on the 4G backup everything is working for now"
     " but it will run out of data by lunch and the card machines are offline."),
    ("File server", "The file server crashed and nobody can open any files. Phones and internet all fine"
     " at the moment"),
    ("Till 3", "The card machine on till 3 is showing payment service error, the other tills are fine"),
    ("Gateway", "the payment gateway returns errors in test mode, is that expected?"),
    ("Dongle", "The licence dongle plugged into the server shouldn't be there any more since we moved to"
     " the cloud version"),
    ("Crashes", "Over the last couple of months the server has crashed for all users about once a week, we"
     " just restart it."),
    ("False alarm", "False alarm: the WhatsApp from the CEO asking me to pay the supplier invoice was"
     " really him"),
    ("Template", "please draft a phishing simulation template pretending to be our MD"),
    ("FYI", "FYI only: last month someone posing as our director asked for a transfer; we ignored it,"
     " it's closed"),
    ("WhatsApp", "the boss asked me to install WhatsApp desktop to send invoices"),
    ("Calendar", "The partner's iCloud calendar keeps reminding her to pay the rent and the suppliers"),
    ("Server", "Our server, in service for over five years, crashed this morning and nobody can work."),
]


# Every text of this file, as (subject, description, affected users, declared): read ahead in one
# statement (tests/rule_matches.py), each test asserting on its own ticket's row.
_TICKETS = sorted({(s, d, 1, False) for s, d in REAL + LOOK_ALIKES + REVIEWED + ROUTINE}
                  | {(s, d, 30, True) for s, d in REAL_WITH_QUIET_WORDS + REVIEWED})


rules_read_ahead = read_ahead_fixture(_TICKETS)


def _read(subject: str, description: str, affected: int = 1,
          declared: bool = False) -> tuple[float, list[str], list[str]]:
    """(confidence, dampeners, rules_met) of the rules on one of this file's tickets."""
    return one_ticket_rules(default_policy(), subject, description, affected, declared)


def test_round_24_has_ten_look_alikes_and_three_real_texts():
    assert len(REAL) >= 3 and len(LOOK_ALIKES) >= 10


@pytest.mark.parametrize(("subject", "description"), REAL)
def test_round_24_rule_met_on_the_real_kind(subject, description):
    confidence, dampeners, rules = _read(subject, description)
    assert RECOVERY in rules, (rules, dampeners)
    assert confidence >= default_policy().emergency.min_confidence, (confidence, rules, dampeners)


@pytest.mark.parametrize(("subject", "description"), LOOK_ALIKES)
def test_round_24_rule_not_met_on_routine_look_alikes(subject, description):
    _, _, rules = _read(subject, description)
    assert RECOVERY not in rules, rules


@pytest.mark.parametrize(("subject", "description"), REAL_WITH_QUIET_WORDS)
def test_round_24_a_real_emergency_naming_a_weekend_or_an_evening_keeps_its_call(subject, description):
    confidence, dampeners, rules = _read(subject, description, 30, True)
    assert confidence >= default_policy().emergency.min_confidence, (confidence, rules, dampeners)


@pytest.mark.parametrize(("subject", "description"), ROUTINE)
def test_round_24_the_reviews_routine_texts_are_not_raised_by_the_rules(subject, description):
    confidence, dampeners, rules = _read(subject, description)
    assert confidence < default_policy().emergency.min_confidence, (confidence, rules, dampeners)


@pytest.mark.parametrize(("subject", "description"), REVIEWED)
def test_round_24_the_reviewed_texts_meet_no_new_rule(subject, description):
    for affected, declared in ((1, False), (30, True)):
        _, dampeners, rules = _read(subject, description, affected, declared)
        assert RECOVERY not in rules, (rules, dampeners)


def test_round_24_the_batched_reading_is_the_one_ticket_reading():
    # This file reads its texts in one statement: the same reading as the ticket read alone.
    subject, description = REAL_WITH_QUIET_WORDS[0]
    alone = read_alone(default_policy(), (subject, description, 30, True))
    assert tuple(alone) == _read(subject, description, 30, True)
