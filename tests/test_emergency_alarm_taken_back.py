"""Security look-alikes the writer takes back in the same ticket (policy section 4: explained, not
suspected): the alarm taken back ("oh wait", "ignore my last", "never mind, he has admitted it") and
a joke turned from to the real question ("Real question:", "On a serious note"), read through the
emergency rules alone; what cancels each (an act on a lure, a payment, a ransom, an alert's own
"if this was you, ignore this"); and a real incident only downplayed ("probably nothing") is still
read (docs/classification.md, "Round 34: security incidents told by their effect"). The texts are
my own, none a batch's.
"""

import pytest

from policy.config import default_policy
from tests.rule_matches import one_ticket_rules, read_ahead_fixture, shipped_reading

TAKEN_BACK = "a security alarm taken back in the same ticket"
JOKE = "a joke, then the real question"


TAKEN_BACK_OR_JOKES = [
    ("hacked?", "My Instagram logged me out, have I been hacked?? Oh wait, Priya says she changed the "
     "password this morning. My bad!", TAKEN_BACK),
    ("Approval request", "Ignore my last - the sign-in request was me on the new tablet. Sorry!",
     TAKEN_BACK),
    ("Hacked!", "I think my PC has been hacked, all my icons are upside down. Never mind, Sam has "
     "just owned up.", TAKEN_BACK),
    ("Printer hacked", "The printer has been hacked, it only prints cat pictures now. On a serious "
     "note, can you add Jo to the finance mailbox?", JOKE),
    ("Kettle", "Pretty sure the smart kettle has been hacked, it boils at 3am. Real question: how do I "
     "share my calendar with the new starter?", JOKE),
]


@pytest.mark.parametrize(("subject", "description", "label"), TAKEN_BACK_OR_JOKES)
def test_an_alarm_taken_back_or_a_joke_is_no_call(subject, description, label):
    called, confidence, dampeners, _rules = shipped_reading(subject, description)
    assert label in dampeners and not called, (confidence, dampeners)


CANCELLED = [
    # An act on a lure cancels both: the alarm was real whatever came after.
    ("Phishing", "Never mind the printer - I clicked the link in that delivery email and typed my "
     "password, and now I've been hacked.", TAKEN_BACK),
    # An alert's own wording is not the writer taking anything back.
    ("Sign-in alert", "Got an unusual sign-in alert from Brazil, I'm in Leeds. The email says if this "
     "was you, ignore this. It wasn't me.", TAKEN_BACK),
    ("Ransom", "Ha, real question: is this a joke? Every file on the server is encrypted and there's "
     "a ransom note.", JOKE),
]


@pytest.mark.parametrize(("subject", "description", "label"), CANCELLED)
def test_what_cancels_the_taking_back(subject, description, label):
    _confidence, dampeners, _rules = one_ticket_rules(default_policy(), subject, description)
    assert label not in dampeners, dampeners


DOWNPLAYED = [
    # Downplaying is not taking back: the incident stands.
    ("Probably nothing", "Probably nothing, but my mailbox has sent 300 emails I never wrote to all "
     "my contacts this morning."),
    ("Account", "Sorry to bother you, it's likely me being silly, but someone has got into my account "
     "and my password has been changed, it wasn't me."),
]


@pytest.mark.parametrize(("subject", "description"), DOWNPLAYED)
def test_a_real_incident_downplayed_is_still_called(subject, description):
    called, confidence, dampeners, _rules = shipped_reading(subject, description)
    assert called and TAKEN_BACK not in dampeners and JOKE not in dampeners, (confidence, dampeners)


rules_read_ahead = read_ahead_fixture([(s, d, 1, False) for s, d, _label in TAKEN_BACK_OR_JOKES + CANCELLED]
                                      + [(s, d, 1, False) for s, d in DOWNPLAYED])
