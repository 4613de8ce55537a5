"""A data exposure by its nature (policy section 4, a suspected security incident): someone outside
(a client, a parent, a patient) sees data that is not theirs, told without security words, through
the emergency rules alone; and what is not one (one's own file missing, a request about who may see
what, staff seeing their own firm's folders). The texts are my own, none a batch's or a noise
block's (docs/classification.md, "Round 33: security incidents told in passing or by their effect").
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import read_ahead_fixture, shipped_reading

EXPOSURE = "someone outside seeing data that is not theirs"


EXPOSURES = [
    "A customer rang: when she logs in to the portal she can see invoices that belong to a "
    "different customer.",
    "One of the tenants says the app shows him repair reports for a flat that isn't his.",
    "Since the update, a patient opened her records online and saw another patient's test results.",
    "Members can now open other members' statements, not just their own.",
]


@pytest.mark.parametrize("description", EXPOSURES)
def test_someone_else_seeing_data_that_is_not_theirs_is_called(description):
    called, confidence, _dampeners, rules = shipped_reading("Portal", description)
    assert EXPOSURE in rules and called, (confidence, rules)
    assert EXPOSURE in default_policy().emergency.learned_model.by_nature


NOT_EXPOSURES = [
    "I can't find my own invoices in the portal since this morning, can you look?",
    "Can you set the portal up so each customer only sees their own documents?",
    "Please give Sam access to the shared folder with the other team's reports.",
    "The documents folder is empty on my laptop, other customers' orders still come in fine.",
]


@pytest.mark.parametrize("description", NOT_EXPOSURES)
def test_a_request_or_ones_own_data_is_not_an_exposure(description):
    _called, confidence, _dampeners, rules = shipped_reading("Portal", description)
    assert EXPOSURE not in rules, (confidence, rules)


# Round 34 (docs/classification.md, "Round 34: security incidents told by their effect"): other
# people's details reaching the people a client serves - in a message that went out, or on a screen
# they log in to - told by what those people got or saw, without a security word.
SENT_OUT = "other people's details sent out or shown to the wrong people"


SENT_OUT_CASES = [
    ("Reminder texts", "Two customers say the reminder text they received this morning had someone "
     "else's name and delivery slot on it. More go out at 4."),
    ("Newsletter", "Parents are emailing the office: the newsletter that went out last night had other "
     "families' addresses in it."),
    ("Portal", "Members say when they log in they can see someone else's booking history."),
    ("Statements", "- a tenant got a statement with another tenant's name and balance\n- the batch "
     "ran overnight\n- need to know if the rest are safe to post"),
]


@pytest.mark.parametrize(("subject", "description"), SENT_OUT_CASES)
def test_other_peoples_details_sent_out_or_shown_are_called(subject, description):
    called, confidence, _dampeners, rules = shipped_reading(subject, description)
    assert SENT_OUT in rules and called, (confidence, rules)
    assert SENT_OUT in default_policy().emergency.learned_model.by_nature


NOT_SENT_OUT_CASES = [
    # One mail sent to the wrong address by the writer: no one else's details named (a judgement
    # call left to the vote and the learned signal: docs/decisions.md).
    ("Wrong email", "I sent the quote to the wrong person by mistake this morning, can I recall it?"),
    # A device still showing its last user's name to its new user: nobody outside sees anything.
    ("Desk phone", "The desk phone still shows someone else's name since I swapped desks."),
    # A request about what the messages should carry.
    ("Reminder texts", "Can the reminder texts include the customer's name and appointment time?"),
    ("Courier", "A customer got someone else's parcel from the courier, can you check the label printer?"),
]


@pytest.mark.parametrize(("subject", "description"), NOT_SENT_OUT_CASES)
def test_a_misaddressed_mail_a_device_or_a_request_is_not_read_as_sent_out(subject, description):
    _called, confidence, _dampeners, rules = shipped_reading(subject, description)
    assert SENT_OUT not in rules, (confidence, rules)


rules_read_ahead = read_ahead_fixture([("Portal", d, 1, False) for d in EXPOSURES + NOT_EXPOSURES]
                                      + [(s, d, 1, False) for s, d in SENT_OUT_CASES + NOT_SENT_OUT_CASES])
