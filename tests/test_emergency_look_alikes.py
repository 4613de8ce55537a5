"""Emergency look-alikes the policy names (section 4) and real emergencies told with their words or
by their symptom, read through the whole classifier (the session's one shipped classification);
what the emergency rules read of such texts (breadth, a request) through the rules alone. The
texts are my own, none a batch's or a noise block's (docs/classification.md, "Round 29: emergency
look-alikes the policy names", "Round 30: emergency look-alikes by mechanism", "Round 31:
emergency", "Round 32: emergency"); the dampeners they meet: tests/test_emergency_dampeners.py.
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import one_ticket_rules, read_ahead_fixture, shipped_reading
from tests.test_classify import _t

# Every list: (subject, description, affected users, declared an emergency).

# Round 29, by their nature: a drill or exercise where nothing has happened, someone else's outage
# with nothing of ours broken, a prank by a colleague, a lure reported and not acted on, "every
# time I email one" read as everyone; real emergencies told with the same words.
REAL_29 = [
    ("NOT A DRILL", "This is not a drill: the server room is flooding and the file server has gone "
     "off, nobody can open anything.", 20, True),
    ("Internet and phones", "During this morning's fire drill someone unplugged the comms cabinet and "
     "now the internet and phones are down for the whole office.", 15, False),
    ("Cable cut", "The builders were drilling in the hall and went through the cable: the internet is "
     "down across the whole office and the card machines are offline.", 12, False),
    ("Email", "Microsoft 365 is having an outage according to the news and none of us can send or "
     "receive email, the whole company is stuck.", 25, True),
    ("Link", "I clicked the link in the invoice email and typed my password into the page it opened. "
     "Nothing really happened after that, is that bad?", 1, False),
    ("Website", "Not a test: our website has been replaced by a casino page and customers are asking "
     "what is going on.", 1, False),
    ("Bookings", "The practice management system is down for all of us and patients are waiting at "
     "reception.", 8, False),
    ("Facebook", "Someone has hacked our Facebook page and is posting adverts. It isn't a prank, "
     "customers are messaging us about it.", 1, False),
    ("Ransom", "This isn't a joke: a ransom note is on every PC and the files on the shared drive "
     "have been renamed.", 12, True),
    ("Internet", "Our provider has a major outage in the area and our internet is down in all three "
     "offices, nobody can work.", 30, True),
    ("Password", "Someone changed my password overnight, it wasn't me and I'm locked out. Nothing "
     "else seems broken but I'm worried they're reading my mail.", 1, False),
]

LOOK_ALIKES_29 = [
    ("Fire drill", "Reminder: fire drill at 11 today, everyone will be out of the building for 20 "
     "minutes. Should we shut the PCs down first?", 30, True),
    ("Tabletop", "Tabletop exercise next week: imagine our file server has been encrypted by "
     "ransomware. Which numbers would we call? Nothing has actually happened.", 10, True),
    ("Teams outage?", "Saw on the news that Microsoft Teams has an outage in the US. Nothing broken "
     "here, is it likely to reach us?", 20, False),
    ("Insurer", "Our insurer wants a simulated breach exercise on paper: pretend the accounts mailbox "
     "was hacked and tell them how quickly you would respond.", 12, True),
    ("Wallpaper", "Someone changed the office manager's desktop wallpaper to a cat as a prank while "
     "she was at lunch, can you set it back and make screens lock?", 1, False),
    ("Till", "The apprentice 'hacked' the till display as a joke, it now says Happy Birthday Dave. "
     "Please put it back.", 1, False),
    ("Bank app", "Heard the bank's app is down nationally today. None of our systems are affected, "
     "just letting you know in case staff ask.", 15, False),
    ("Test", "This is a test ticket to check the new support address works, please ignore.", 5, True),
]

# Round 30, by mechanism: "hacked" said in jest, an outage over before the ticket, work carrying
# on another way, work asked for outside the working day, a past incident's aftermath asked as
# work now; real emergencies told with the same words.
REAL_30 = [
    ("Internet", "The internet went down at 9, came back for ten minutes and is down again now. "
     "Nobody in the office can work.", 12, True),
    ("Power cut", "Power is back on now but nothing works: no network on any PC and the phones are "
     "dead for the whole office.", 20, True),
    ("Mailbox hacked", "Our mailbox got hacked lol, but seriously: it sent an invoice link to all our "
     "customers and Jo typed her password into the page before we noticed.", 6, True),
    ("Card machines", "We're working from the other office fine, but the shop can't take payments "
     "and customers are queuing at the counter.", 10, False),
    ("Server", "The file server crashed again this morning, a week after the flood. Nobody can open "
     "any files.", 15, True),
]

LOOK_ALIKES_30 = [
    ("Laptop hacked haha", "I think my laptop got hacked haha, the screensaver now shows a cartoon "
     "with my name on it. Pretty sure it was someone in the office. Can you set it back?", 1, False),
    ("Booking system earlier", "The booking system was unavailable for everyone for half an hour "
     "this morning. It's back up now, nothing needed, just for your records.", 15, False),
    ("North office internet", "Internet is down at the north office. The team have gone over to the "
     "main office and are working from there fine. The provider is sending an engineer tomorrow.",
     10, True),
    ("Accounts update", "Please install the accounts package update on all PCs. Staff can't be "
     "logged out during the working day, so any evening this week.", 40, False),
    ("Mailbox review", "Following last month's compromise we'd like a full review of every "
     "mailbox's rules and sign-in settings, and the old app passwords removed.", 30, False),
]

# Round 31: emergencies told by their symptom or consequence (a domain showing a parking page, a
# lure whose form was filled in, a site's connection down taking its systems with it, bookings no
# longer passing between systems); look-alikes: someone else's outage while ours works, a
# stranger's comment, a fault going on for years, a past storm's aftermath.
REAL_31 = [
    ("Web page odd", "A customer rang: when she types our web address she gets a page saying the "
     "domain is parked with the registrar. Our shop orders stopped at lunchtime.", 1, False),
    ("Odd invoice email", "Three customers got an email that looks like it's from us asking them to "
     "confirm card details for an order. The sender is ours with one letter changed. One customer "
     "says he completed the form.", 2, False),
    ("Branch down", "The broadband is dead at the Mill Road branch: the tills and the phones have gone "
     "with it and the booking system won't load either. Queue out the door.", 1, False),
    ("Stock on the web shop", "Since the update last night the stock levels aren't syncing to the web "
     "shop, and we've oversold a dozen orders already this morning.", 4, False),
    ("Storage full email", "Ali got a message saying her mailbox storage was full and typed her "
     "password into the page it opened. She told me an hour later.", 1, False),
]

LOOK_ALIKES_31 = [
    ("Teams in the news", "Heard on the radio that Teams is down for half the country. Are we "
     "affected? Ours looks fine so far, just checking before the staff meeting.", 30, False),
    ("Hacked!!", "Someone has left a review on our Google listing calling us cowboys. Can we get it "
     "removed and find out who wrote it?", 1, True),
    ("Printer server", "The print server has been throwing failures every night since 2021 and "
     "nobody looked at it. Can you replace it this quarter?", 20, False),
    ("After the storm", "The storm took out the yard camera a fortnight ago and we're on the backup "
     "recorder; the aftermath is a pile of dead kit. Please rebuild the camera network and document "
     "it.", 15, False),
]

# Round 32, by mechanism: an expired certificate told by what users see (the browser will not let
# them through), mail copied wholesale to an outside address nobody recognises; look-alikes: a
# supplier's announced maintenance window, a worry about someone else's outage, a past fire's
# rebuild told "three weeks ago", a licence due to lapse in a fortnight.
REAL_32 = [
    ("Not a big deal probably", "Customers say our booking site shows that the certificate has "
     "expired and their browser won't let them through to pay. No panic, just wondering.", 1, False),
    ("Outlook setting?", "While I was changing my signature I spotted something in Outlook that copies "
     "all my email to an outside address I don't recognise. Is that one of yours?", 1, False),
]

LOOK_ALIKES_32 = [
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

ROUNDS = {"round29": (REAL_29, LOOK_ALIKES_29), "round30": (REAL_30, LOOK_ALIKES_30),
          "round31": (REAL_31, LOOK_ALIKES_31), "round32": (REAL_32, LOOK_ALIKES_32)}

# Limits found by these texts (round 29, the same on main 2026.12.80): round29-n01's undampened "files
# encrypted (already happened)" rule reads a tabletop's "imagine ... has been encrypted", which no
# dampener can lower. Strict: a change that fixes one fails here and it joins its list. Round 44
# (emrec44): round29-r10 ("changed my password ..., it wasn't me", read 0 since round 29) is called
# by "an act on our account its owners disown" and left the list. round29-r01 (a fire drill that
# unplugged the comms cabinet, internet and phones down for the office) is read 0.30 by the rules
# (the drill's dampener) and was called by the learned signal; since round 44's refit (batch-77/78
# banked) the learned signal holds it (0.35, x0.3): the learned signal's limit, not a rule's.
LIMITS = {"round29-n01": "a limit of the rules found this round (docs, round 29)",
          "round29-r01": "the rules read the drill (0.30); the learned signal holds it since round 44"}


def _cases(real: list[tuple], look_alikes: list[tuple]) -> list:
    return ([_t(f"r{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(real)]
            + [_t(f"n{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(look_alikes)])


def shipped_cases() -> dict[str, list]:
    """Each round's texts, classified with the other modules' cases in the session's one call."""
    return {name: _cases(real, look_alikes) for name, (real, look_alikes) in ROUNDS.items()}


@pytest.fixture(scope="module")
def emergency(shipped_calls) -> dict:
    """"<round>-<ticket id>" -> (qualifies, confidence, evidence, state) under the shipped policy."""
    calls = shipped_calls.of(__name__)
    return {f"{name}-{tid}": row for name in ROUNDS for tid, row in calls(name)[1].items()}


def _params(real: bool) -> list:
    """(case id, its text) of every round's real emergencies or look-alikes; a limit marked."""
    kind, which = ("r", 0) if real else ("n", 1)
    params = []
    for name, lists in ROUNDS.items():
        for i, text in enumerate(lists[which]):
            case = f"{name}-{kind}{i:02d}"
            marks = [pytest.mark.xfail(strict=True, reason=LIMITS[case])] if case in LIMITS else []
            params.append(pytest.param(case, text, id=case, marks=marks))
    return params


@pytest.mark.parametrize(("case", "text"), _params(real=True))
def test_a_real_emergency_is_called(emergency, case, text):
    """Told with the look-alikes' words (rounds 29, 30) or by its symptom (round 31)."""
    qualifies, confidence, evidence, _state = emergency[case]
    assert qualifies, (text, confidence, evidence)


@pytest.mark.parametrize(("case", "text"), _params(real=False))
def test_a_look_alike_the_policy_names_is_not_called(emergency, case, text):
    qualifies, confidence, evidence, _state = emergency[case]
    assert not qualifies, (text, confidence, evidence)


EVERY = [
    ("Every time I email one customer it bounces back, their mailbox is full.", False),
    ("Every time the user logs in it fails once then works.", False),
    ("The internet is down on every single PC in the office.", True),
    ("Every member of staff is locked out of email this morning.", True),
]


@pytest.mark.usefixtures("rules_read_ahead")
@pytest.mark.parametrize(("description", "broad"), EVERY)
def test_every_reads_breadth_not_frequency(description, broad):
    policy = default_policy()
    confidence, _dampeners, rules = one_ticket_rules(policy, "Email", description, 1, False)
    several = {"core system down for several users", "something down for several users",
               "one system lost for all of its users"}
    assert bool(several & set(rules)) == broad, (confidence, rules)


REQUESTS = [
    "Can you check whether the domain we want for the new brand is for sale?",
    "Internet was slow at home last night, my phone was fine.",
    "We want a booking system so rooms stop being double-booked; can you quote?",
    "I filled in the form for the new starter's laptop.",
    "Can you set up a rule that forwards the invoices to the accounts mailbox?",
    "Our certificate expires next month, can you renew it before then?",
    "The app won't let me change my profile picture.",
    "A small question: can the portal send a copy of each booking to the office?",
]


@pytest.mark.usefixtures("rules_read_ahead")
@pytest.mark.parametrize("description", REQUESTS)
def test_the_symptom_rules_do_not_read_a_request(description):
    """The symptom rules of rounds 31 and 32 (a parked domain, a form filled in, a site's connection,
    bookings not passing, a service that will not let its users through, mail copied to an outside
    address) do not read the same words in a request."""
    policy = default_policy()
    confidence, _dampeners, rules = one_ticket_rules(policy, "Question", description, 1, False)
    assert confidence < policy.emergency.min_confidence, (confidence, rules)


# Round 33 (docs/classification.md, "Round 33: security incidents told in passing or by their
# effect"): the policy's security incidents told in passing under another request, or by what a
# tool or a customer saw, through the rules alone.
IN_PASSING = [
    ("Scanner is jamming again. Also my phone buzzed with sign in requests all evening, 25 of them, "
     "so I tapped approve just to make them stop. Scanner is the main thing though.",
     "a sign-in prompt approved that nobody started"),
    ("There's an Outlook rule called '..' on the accounts mailbox that deletes everything from one "
     "supplier. None of us made it.", "a mailbox rule nobody set"),
    ("The antivirus emailed to say the reception PC was connecting to a known malicious server. "
     "Reception is fine otherwise.", "a device talking to a malicious host"),
    ("A customer sent us a picture of our checkout page: it isn't our usual page and it asks for "
     "their card details again.", "a page posing as ours asking for card or login details"),
]


@pytest.mark.usefixtures("rules_read_ahead")
@pytest.mark.parametrize(("description", "label"), IN_PASSING)
def test_an_incident_told_in_passing_is_called(description, label):
    called, confidence, _dampeners, rules = shipped_reading("Other", description)
    assert label in rules and called, (confidence, rules)


NOT_IN_PASSING = [
    "The authenticator asks me to approve every time I open Outlook, I approve it, it is annoying.",
    "Can you add a rule that moves the newsletters into a folder?",
    "Is our payment page secure? A customer asked before paying.",
    "The firewall blocks a few sites we need, can you allow them?",
]


@pytest.mark.usefixtures("rules_read_ahead")
@pytest.mark.parametrize("description", NOT_IN_PASSING)
def test_the_same_words_without_the_incident_are_not_called(description):
    called, confidence, _dampeners, rules = shipped_reading("Question", description)
    assert not called, (confidence, rules)


# The tickets the tests above read through the rules alone, in one statement (after their lists).
rules_read_ahead = read_ahead_fixture([("Email", d, 1, False) for d, _ in EVERY]
                                      + [("Question", d, 1, False) for d in REQUESTS + NOT_IN_PASSING]
                                      + [("Other", d, 1, False) for d, _ in IN_PASSING], autouse=False)
