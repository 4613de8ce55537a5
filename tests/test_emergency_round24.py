"""Round 24 (issue 19 item 5): security incidents acted on and told in plain words, the one machine
a site's work runs on, and planned changes asked for a quiet time (docs/classification.md,
"Round 24: emergency").

Every text here was written for this test from the policy's section 4 ideas, not taken from a batch.
Each rule is met on texts of the real kind and not met on ten or more routine look-alikes of one
user that use its words; the dampener is met on planned changes and not on real emergencies that
name a weekend, an evening or nobody being in.
"""

import functools

import duckdb
import pytest

from logic.emergency import emergency_rules_sql
from policy.config import PolicyConfig, default_policy
from tests.rule_matches import one_ticket_rules

VOUCHERS = "vouchers bought and their codes passed on"
RECOVERY = "recovery details changed by someone else"
TYPED = "a password typed into a page a mail asked for, then doubted"
MACHINE = "the machine the site's work runs on dead, the work stopped"
QUIET = "a change asked for a weekend, an evening or when nobody is in"

REAL = [
    (VOUCHERS, "Urgent", "A message came from the owner's new mobile asking me to get six Apple gift cards"
     " for a client. I bought three and texted him the codes, then he walked in and knew nothing about it."),
    (VOUCHERS, "vouchers", "Our office manager had an email from the director asking for £500 of Amazon"
     " vouchers; she has purchased them and emailed the codes back. The director never sent it."),
    (VOUCHERS, "is this ok", "Finance got a WhatsApp from 'Raj' asking for Steam cards for a customer. We"
     " bought four and sent photos of the cards. Raj says it wasn't him."),
    (RECOVERY, "codes", "I keep getting sign-in codes by text and today an email said my recovery email was"
     " changed to an address I don't know."),
    (RECOVERY, "account", "Our bookkeeper's backup phone number has been changed and she didn't change it;"
     " now the verification texts go to a number none of us know."),
    (RECOVERY, "weird email", "Got a notice that the security email on my account was updated. It wasn't me,"
     " and I don't recognise the address."),
    (TYPED, "Oops", "An email saying my password expires today asked me to click and confirm. I typed my"
     " password into the page and it looked a bit odd afterwards. Is that bad?"),
    (TYPED, "shared document", "Two of the nurses got a text asking them to log in to view a shared file."
     " Both entered their details before a colleague said it looked fake."),
    (TYPED, "voicemail email", "The email said I had a voicemail and asked me to sign in to hear it. I put my"
     " password in, then realised the address was wrong. Should I be worried?"),
    (MACHINE, "Kiln down", "The PC that controls the kiln has died and won't boot. Production is stopped and"
     " the whole firing for tomorrow's order is waiting."),
    (MACHINE, "Press", "The computer which runs the print press crashed this morning and will not start; the"
     " press is idle and nobody can run the job."),
    (MACHINE, "CNC", "The laptop that drives the router is dead, we can't run the machine and the line is at"
     " a standstill."),
]

LOOK_ALIKES = [
    # the gift-card scam acted on: vouchers, buying and codes in one user's ordinary question
    (VOUCHERS, "Vouchers", "My boss asked me to buy vouchers for the staff party, which card should I use?"),
    (VOUCHERS, "Vouchers", "We bought gift vouchers for the staff awards; can you print the certificates?"),
    (VOUCHERS, "Codes", "The voucher codes on our website checkout are not applying the discount."),
    (VOUCHERS, "Gift cards", "How do I add the company card to Amazon so I can buy gift cards for clients?"),
    (VOUCHERS, "Expenses", "I bought the Christmas vouchers for the team on my own card, how do I claim it?"),
    (VOUCHERS, "Raffle", "Please can you set up a form so the raffle winners get their voucher by email?"),
    (VOUCHERS, "iTunes", "My iTunes card won't redeem on my work iPad, it says the code is invalid."),
    (VOUCHERS, "Loyalty", "Customers say the vouchers we sent them last week show the wrong expiry date."),
    (VOUCHERS, "Printer", "We purchased a new printer with the gift voucher from the supplier,"
     " please set it up."),
    (VOUCHERS, "Budget", "The director wants a report of how much we spent on gift cards this year."),
    (VOUCHERS, "Texts", "Can the booking system text customers their voucher numbers automatically?"),
    # the recovery details: one user changing or asking about their own
    (RECOVERY, "Recovery phone", "I changed my recovery phone number, is that OK?"),
    (RECOVERY, "New phone", "I have a new mobile, how do I update my recovery number for my email?"),
    (RECOVERY, "Backup email", "Can you change the backup email on my account to my new address please?"),
    (RECOVERY, "Codes", "I typed my password wrong three times and now it wants a code sent to my phone."),
    (RECOVERY, "MFA", "My security number was updated when IT set up my new phone, all working now."),
    (RECOVERY, "Reset", "I didn't get the reset code on my phone, can you send it to my email instead?"),
    (RECOVERY, "Details", "Our recovery details were changed by the IT team last week as part of the"
     " clean-up; just checking that was you."),
    (RECOVERY, "Which number", "What recovery email should staff use, their personal one or a shared one?"),
    (RECOVERY, "Leaver", "Please remove the recovery phone of the person who left, we don't know"
     " her new one."),
    (RECOVERY, "Sign-in", "I can't remember which recovery phone I set up, I don't know if it's"
     " the old one."),
    # a password typed in: one user's ordinary sign-in trouble
    (TYPED, "Password", "I typed my password wrong three times and now it looks odd, it says locked."),
    (TYPED, "New portal", "IT sent an email asking us to log in to the new HR portal; I entered my password"
     " but it says wrong. How do I reset it?"),
    (TYPED, "Expiry", "I got the email saying my password expires, I changed it on the proper"
     " page. Fine now."),
    (TYPED, "Wi-Fi", "I entered the Wi-Fi password and the screen looks weird, is the guest network down?"),
    (TYPED, "Teams", "The Teams invite email asked me to sign in; I typed my details and it worked, thanks."),
    (TYPED, "Training", "Please send the phishing training email asking staff to click, for next week."),
    (TYPED, "Banking", "The bank's email asked me to verify the payee; I entered the PIN in the app."),
    (TYPED, "Reset", "The reset email said to click the link; I entered my new password and now it works."),
    (TYPED, "Printer", "I entered my PIN on the printer and the display looked wrong, can you check it?"),
    (TYPED, "Question", "Is it safe to type my password into the Outlook app on my phone?"),
    # the machine the work runs on: one spare, a question, a plan, or no work stopped
    (MACHINE, "Till", "The spare till is dead, we use the other two."),
    (MACHINE, "Press PC", "The PC that runs the press is slow in the mornings; it still works."),
    (MACHINE, "Quote", "Can we get a quote for a new computer which controls the kiln? The old one is fine."),
    (MACHINE, "Upgrade", "We plan to replace the PC that runs the line at the weekend, please confirm."),
    (MACHINE, "Line", "The phone line is down at my desk at home, I use my mobile for now."),
    (MACHINE, "Office PC", "The old office PC won't boot, nobody uses it any more; can you recycle it?"),
    (MACHINE, "Training", "Can you show the new starter how the computer that runs the oven works?"),
    (MACHINE, "Backup", "Please back up the laptop that drives the cutter before the engineer visits."),
    (MACHINE, "Monitor", "The monitor on the machine that runs the lathe flickers but the lathe is fine."),
    (MACHINE, "Printer", "My label printer at my desk crashed, I can use the one next to it."),
]

# Planned changes asked for a quiet time, declared for many users: the dampener holds them.
PLANNED = [
    ("Server update", "The server needs its updates. Please do it on Sunday when nobody is in."),
    ("Switch swap", "Please arrange it for a Saturday: the new switch replaces the old one and the"
     " network will be down for everyone while you do it."),
    ("System upgrade", "The vendor must upgrade the booking system for all staff. Not during working hours"
     " please; nobody will be in on Sunday."),
    ("Firewall", "Please schedule the firewall firmware this evening when the office is closed; the"
     " internet will be down for everyone for an hour."),
]

# Real emergencies that name a weekend, an evening or nobody being in: not dampened, still a call.
REAL_WITH_QUIET_WORDS = [
    ("Server down", "The server crashed on Saturday and nobody can open any files this morning."),
    ("Email", "Email has been down for the whole company since Sunday evening; we have clients waiting."),
    ("Tills", "All the tills went offline this evening and customers are queueing; we open all weekend."),
    ("Internet", "The internet is down for everyone. Please come this evening if you can't do it now."),
    ("Network", "No one can connect to the network; we work weekends and nobody can do anything."),
    ("Phones", "The phone system is dead for all staff and we have the Saturday rush coming."),
    ("Booking", "The booking system is down for everyone on a Sunday, our busiest day; we can't take"
     " any bookings."),
    ("Ransomware", "Files on the server are encrypted and there's a note in every folder; nobody was in"
     " over the weekend."),
    ("Payments", "Card payments stopped at every shop this evening; we can only take cash."),
    ("Everything", "Everything is down since the power cut on Sunday night; no one can work."),
    ("Morning", "The server crashed at nine when everyone is in and nobody can open a file."),
    ("Busy day", "While everyone is working in the office today the phones are dead for all staff."),
]

# The round-23 review's texts and the round-22 mend's (docs/classification.md): none meets a
# round-24 part, so their reading is the rules' reading before this round.
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

ROUND_24 = {VOUCHERS, RECOVERY, TYPED, MACHINE}


# Every text of this file, as (subject, description, affected users, declared): read in one
# statement per policy (the rules' SQL is about 1 MB: compiling it per text would take minutes).
_TICKETS = sorted({(s, d, a, dec) for *_, s, d in REAL + LOOK_ALIKES for a, dec in ((1, False),)}
                  | {(s, d, 30, True) for s, d in PLANNED + REAL_WITH_QUIET_WORDS + REVIEWED}
                  | {(s, d, 1, False) for s, d in REVIEWED})


@functools.cache
def _readings(quiet: bool = True) -> dict[tuple[str, str, int, bool], tuple[float, list[str], list[str]]]:
    """(confidence, dampeners, rules_met) of every text of this file: the shipped policy's rules,
    or (quiet False) the same policy without the quiet-time dampener."""
    policy = default_policy() if quiet else _without_quiet(default_policy())
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE clf_tickets (ticket_id VARCHAR, subject VARCHAR, description VARCHAR,"
                " category VARCHAR, declared_emergency BOOLEAN, affected_users INTEGER)")
    con.executemany("INSERT INTO clf_tickets VALUES (?, ?, ?, 'Other', ?, ?)",
                    [(str(i), s, d, dec, a) for i, (s, d, a, dec) in enumerate(_TICKETS)])
    rows = dict(con.execute(f"SELECT ticket_id, (confidence, dampeners, rules_met)"
                            f" FROM ({emergency_rules_sql(policy)})").fetchall())
    return {key: tuple(rows[str(i)]) for i, key in enumerate(_TICKETS)}


def _read(subject: str, description: str, affected: int = 1, declared: bool = False,
          quiet: bool = True) -> tuple[float, list[str], list[str]]:
    """(confidence, dampeners, rules_met) of the rules on one of this file's tickets."""
    return _readings(quiet)[(subject, description, affected, declared)]


def _without_quiet(policy: PolicyConfig) -> PolicyConfig:
    """The policy without the quiet-time dampener (and so without it in broad_field.firm)."""
    em = policy.emergency
    return policy.model_copy(update={"emergency": em.model_copy(update={
        "dampeners": [d for d in em.dampeners if d.label != QUIET],
        "broad_field": em.broad_field.model_copy(update={
            "firm": [f for f in em.broad_field.firm if f != QUIET]})})})


def test_round_24_has_ten_look_alikes_and_three_real_texts_per_rule():
    for label in ROUND_24:
        assert sum(1 for lab, *_ in REAL if lab == label) >= 3
        assert sum(1 for lab, *_ in LOOK_ALIKES if lab == label) >= 10


@pytest.mark.parametrize(("label", "subject", "description"), REAL)
def test_round_24_rule_met_on_the_real_kind(label, subject, description):
    confidence, dampeners, rules = _read(subject, description)
    assert label in rules, (rules, dampeners)
    assert confidence >= default_policy().emergency.min_confidence, (confidence, rules, dampeners)


@pytest.mark.parametrize(("label", "subject", "description"), LOOK_ALIKES)
def test_round_24_rule_not_met_on_routine_look_alikes(label, subject, description):
    _, _, rules = _read(subject, description)
    assert not ROUND_24 & set(rules), rules


@pytest.mark.parametrize(("subject", "description"), PLANNED)
def test_round_24_a_planned_change_for_a_quiet_time_is_not_an_emergency(subject, description):
    # Declared for 30 users: without the dampener the field and the outage words make a call.
    policy = default_policy()
    confidence, dampeners, _ = _read(subject, description, 30, True)
    before, _, _ = _read(subject, description, 30, True, quiet=False)
    assert QUIET in dampeners
    assert before >= policy.emergency.min_confidence > confidence, (before, confidence)


@pytest.mark.parametrize(("subject", "description"), REAL_WITH_QUIET_WORDS)
def test_round_24_a_real_emergency_naming_a_weekend_keeps_its_call(subject, description):
    policy = default_policy()
    confidence, dampeners, _ = _read(subject, description, 30, True)
    before, _, _ = _read(subject, description, 30, True, quiet=False)
    assert QUIET not in dampeners
    assert confidence == before >= policy.emergency.min_confidence


@pytest.mark.parametrize(("subject", "description"), REVIEWED)
def test_round_24_the_reviewed_texts_meet_no_new_part(subject, description):
    for affected, declared in ((1, False), (30, True)):
        _, dampeners, rules = _read(subject, description, affected, declared)
        assert not ROUND_24 & set(rules) and QUIET not in dampeners, (rules, dampeners)


def test_round_24_the_quiet_time_dampener_is_firm_and_the_machine_rule_undampened():
    em = default_policy().emergency
    assert QUIET in em.broad_field.firm
    rules = {r.label: r for c in em.criteria for r in c.rules}
    assert rules[MACHINE].undampened and not rules[VOUCHERS].undampened


def test_round_24_the_batched_reading_is_the_one_ticket_reading():
    # This file reads its texts in one statement: the same reading as the shared one-ticket helper.
    subject, description = PLANNED[0]
    single = one_ticket_rules(default_policy(), subject, description, 30, True)
    assert tuple(single) == _read(subject, description, 30, True)
