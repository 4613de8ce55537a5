"""A compromised mailbox told by its effect (policy section 4: suspected account compromise):
contacts receiving mail from the writer's (or a colleague's) mailbox that they did not send - a
personal mailbox named by its provider, "I haven't sent anything", "an email from her ... she never
sent" - read through the emergency rules alone, also as one question among others; and mail that
was sent by the writer is not (docs/classification.md, "Round 34: security incidents told by their
effect"). The texts are my own, none a batch's.
"""

import pytest

from tests.rule_matches import read_ahead_fixture, shipped_reading

SENT_IN_NAME = "mail sent in someone's name that they did not write"


SENT_IN_NAME_CASES = [
    ("odd emails", "Some of my customers have had emails from my gmail asking them to open a 'payment "
     "file'. I haven't sent anything like that. Also can you renew the antivirus?"),
    ("Treasurer", "Members keep ringing about an email from him about a 'late fee'. He says he hasn't "
     "sent a thing and has been away all week."),
    ("Dr Shah", "Patients are replying to an email from her with a 'shared document' link that she "
     "never sent."),
]


@pytest.mark.parametrize(("subject", "description"), SENT_IN_NAME_CASES)
def test_mail_from_a_mailbox_its_owner_did_not_send_is_called(subject, description):
    called, confidence, _dampeners, rules = shipped_reading(subject, description)
    assert SENT_IN_NAME in rules and called, (confidence, rules)


SENT_BY_OWNER = [
    ("Sending from gmail", "Can I send invoices from my gmail? I haven't set up the new mailbox yet."),
    ("Her email", "I got an email from her about the rota yesterday, can you forward it to Sam?"),
    ("Draft", "I haven't sent the newsletter yet, can you check the mailing list works?"),
]


@pytest.mark.parametrize(("subject", "description"), SENT_BY_OWNER)
def test_mail_sent_or_not_yet_sent_by_its_owner_is_not_read_as_sent_in_their_name(subject, description):
    _called, confidence, _dampeners, rules = shipped_reading(subject, description)
    assert SENT_IN_NAME not in rules, (confidence, rules)


rules_read_ahead = read_ahead_fixture([(s, d, 1, False) for s, d in SENT_IN_NAME_CASES + SENT_BY_OWNER])
