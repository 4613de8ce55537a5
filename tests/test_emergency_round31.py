"""Round 31: emergencies told by their symptom or consequence (a domain showing a parking page, a lure
whose form was filled in, a site's connection down taking its systems with it, bookings no longer
passing between systems) are called, and look-alikes the policy names (someone else's outage while
ours works, a stranger's comment, a fault going on for years, a past storm's aftermath) are not; a
standing notice under the message is not read (docs/classification.md, "Round 31: emergency"). The
texts are my own, none a batch's or a noise block's.
"""

import duckdb
import pytest

from logic.message import message_sql
from policy.config import default_policy
from tests.rule_matches import one_ticket_rules
from tests.test_classify import _t

# (subject, description, affected users, declared an emergency)
REAL = [
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

# (subject, description, affected users, declared an emergency)
LOOK_ALIKES = [
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

CASES = ([_t(f"r{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(REAL)]
         + [_t(f"n{i:02d}", s, d, "Other", a, dec) for i, (s, d, a, dec) in enumerate(LOOK_ALIKES)])


def shipped_cases() -> dict[str, list]:
    """The round's texts, classified with the other modules' cases in the session's one call."""
    return {"round31": CASES}


@pytest.fixture(scope="module")
def emergency(shipped_calls) -> dict:
    """Ticket id -> (qualifies, confidence, evidence, state) under the shipped policy."""
    return shipped_calls.of(__name__)("round31")[1]


@pytest.mark.parametrize("i", range(len(REAL)), ids=[f"r{i:02d}" for i in range(len(REAL))])
def test_an_emergency_told_by_its_symptom_is_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"r{i:02d}"]
    assert qualifies, (REAL[i], confidence, evidence)


@pytest.mark.parametrize("i", range(len(LOOK_ALIKES)), ids=[f"n{i:02d}" for i in range(len(LOOK_ALIKES))])
def test_a_look_alike_the_policy_names_is_not_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"n{i:02d}"]
    assert not qualifies, (LOOK_ALIKES[i], confidence, evidence)


OURS_FINE = "nothing of ours broken or affected"
COMMENT = "someone else's public comment or review, not a compromise"
OVER = "over before the ticket, nothing asked now"
AFTERMATH = "a past incident's aftermath asked as work now"


@pytest.mark.parametrize(("description", "label"), [
    ("Outlook is down on the news and ours seems fine, but the phones are dead here.", OURS_FINE),
    ("Someone commented on our Facebook page and now our password doesn't work.", COMMENT),
    ("Just so you know the internet has gone and the card machines aren't working.", OVER),
    ("The storm last week knocked the line out and the phones are still down.", AFTERMATH),
])
def test_what_cancels_the_dampener(description, label):
    """`unless`: an outage of ours told beside it, a sign of takeover, down now, still down."""
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), "Help", description, 12, True)
    assert label not in dampeners, dampeners


@pytest.mark.parametrize("description", [
    "Can you check whether the domain we want for the new brand is for sale?",
    "Internet was slow at home last night, my phone was fine.",
    "We want a booking system so rooms stop being double-booked; can you quote?",
    "I filled in the form for the new starter's laptop.",
])
def test_the_new_rules_do_not_read_a_request(description):
    policy = default_policy()
    confidence, _dampeners, rules = one_ticket_rules(policy, "Question", description, 1, False)
    assert confidence < policy.emergency.min_confidence, (confidence, rules)


CLIENT = "The card machines at both shops say no connection and customers are queueing."
NOTICE = ("Fraud warning: our firm will not change its payment details by phone. If you are asked to"
          " pay a new account, ring the office on the number you know before paying anything.")


def _message(description: str) -> str:
    text = f"Cards . {description}"
    return duckdb.connect().execute(f"SELECT {message_sql('$t')}", {"t": text}).fetchall()[0][0]


def test_a_standing_notice_under_the_message_is_not_read():
    assert _message(f"{CLIENT}\n\n{NOTICE}") == f"Cards . {CLIENT}"


@pytest.mark.parametrize("last", [
    "Update: I've just checked and if you ring the shop they can read you the error.",
    "Note: if you can come before 2 we'll be open, can you?",
])
def test_the_clients_own_labelled_paragraph_stays(last):
    """Said in the first person or asking: the client's words, not a notice."""
    assert _message(f"{CLIENT}\n\n{last}").endswith(last)
