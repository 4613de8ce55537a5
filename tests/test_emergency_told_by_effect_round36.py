"""Security incidents and data exposures told by their effect (policy section 4; docs/classification.md,
"Round 36: security incidents and data exposures told by their effect"), read through the emergency
rules alone: personal data sent by mistake to the wrong people, a lapsed domain told by a strange page
on our site and mail bouncing, a certificate warning on our public page reported by the people who
use it, a sign-in its owner denies, a message posing as ours asking our customers to pay. Each with
near tickets that must not meet the rule. The texts are my own, none a batch's.
"""

import re
from pathlib import Path

import pytest

from policy.config import PolicyConfig, default_policy
from tests.rule_matches import read_ahead_fixture, shipped_reading

SENT = "personal data sent by mistake to the wrong people"
DOMAIN = "website showing a strange page and mail bouncing (a lapsed domain)"
CERT = "a certificate warning on our public page, reported by its users"
SIGNIN = "a sign-in its owner denies, at a named time or place"
POSING = "a message posing as ours asking our customers to pay"
ROUND_36 = [SENT, DOMAIN, CERT, SIGNIN, POSING]

CALLED = [
    (SENT, "Wrong attachment", "I meant to send the new brochure to the designers but attached the "
     "customer database instead - names, home addresses and dates of birth for about 2,000 people. "
     "It went ten minutes ago."),
    (SENT, "Tenants email", "I emailed the rent reminder to all 40 tenants with everyone in CC instead "
     "of BCC, and the arrears spreadsheet with everyone's phone numbers was attached by accident."),
    (SENT, "wrong Chris", "Autocomplete picked the wrong Chris and our staff list with passport numbers "
     "went to somebody outside the company. Can it be pulled back?"),
    # an apology ("my mistake") for the slip is not an alarm taken back
    (SENT, "Sorry", "My mistake - I forwarded the volunteers' contact list with home addresses to the "
     "wrong person outside the firm."),
    (DOMAIN, "Web address", "Our web address now shows a 'domain expired' page and none of the emails "
     "from customers are coming in."),
    (DOMAIN, "Site and mail", "Since this morning our website only shows a page from the hosting "
     "company and customers say their emails to us come back undelivered."),
    (CERT, "Warning on the booking page", "Customers keep ringing us to say our booking page shows a "
     "'not secure' warning and they won't go any further. I see it here too."),
    (SIGNIN, "Login alert", "My phone showed a login from another country at 3am last night. I was "
     "asleep and didn't sign in. I haven't touched the alert in case it's a trick."),
    (POSING, "Fake texts", "Three of our customers have had a text that looks just like ours asking "
     "them to pay a booking fee through a link. One of them paid before ringing us."),
]


@pytest.mark.parametrize(("label", "subject", "description"), CALLED)
def test_an_incident_told_by_its_effect_is_called(label, subject, description):
    called, confidence, _dampeners, rules = shipped_reading(subject, description)
    assert label in rules and called, (confidence, rules)


NOT_MET = [
    # one colleague's mail to the wrong colleague inside the firm
    (SENT, "Wrong Sarah", "I sent my holiday request to the wrong Sarah in accounts by mistake. Can you "
     "recall it?"),
    # a document with no personal data sent to the wrong supplier
    (SENT, "Wrong supplier", "I emailed our price list to the wrong supplier by mistake. Nothing "
     "confidential, just checking whether it can be recalled."),
    # a recall asked about a mail with nothing sensitive
    (SENT, "Recall please", "Can you recall the email I sent to the whole office by accident? It was "
     "just the lunch menu with a typo."),
    # personal data lost, not sent anywhere
    (SENT, "Deleted list", "I deleted the customer list by accident this morning. Is there a backup?"),
    (DOMAIN, "Bounce", "One email to a supplier bounced because I typed the address wrong. Also can you "
     "change the opening hours on our website?"),
    (DOMAIN, "Old price", "Our website shows the old price on the events page. Can you update it?"),
    (CERT, "Certificate warning", "My laptop says 'your connection is not private' on our website but "
     "it works for everyone else. Maybe my clock is wrong?"),
    # a lure reported and not clicked: no sign-in happened
    (SIGNIN, "Phishing?", "Got an email saying my mailbox is full and I need to log in to keep it. "
     "Didn't click, deleted it."),
    # a sign-in alert its owner explains as their own
    (SIGNIN, "Sign-in alert", "Had a new sign-in alert from abroad on Saturday - that was me on my "
     "trip, just checking it's fine."),
    (POSING, "Reminder texts", "Can we set up our reminder texts so customers can pay their deposit "
     "by link?"),
    # a lure that looks like someone else's message, sent to staff, not customers
    (POSING, "Scam mail", "I got an email that looks like our bank's asking me to confirm card details. "
     "Didn't click."),
]


@pytest.mark.parametrize(("label", "subject", "description"), NOT_MET)
def test_a_near_ticket_does_not_meet_the_rule(label, subject, description):
    _called, confidence, _dampeners, rules = shipped_reading(subject, description)
    assert label not in rules, (confidence, rules)


def test_the_new_rules_name_the_incident_by_its_nature():
    # a low p of the learned signal does not hold their call (learned_model.by_nature)
    assert set(ROUND_36) <= set(default_policy().emergency.learned_model.by_nature)


def test_a_rule_naming_a_missing_term_set_is_refused():
    data = default_policy().model_dump()
    del data["emergency"]["term_sets"]["signin_when"]
    with pytest.raises(Exception, match="signin_when"):
        PolicyConfig.model_validate(data)


rules_read_ahead = read_ahead_fixture([(s, d, 1, False) for _label, s, d in CALLED + NOT_MET])


# Round 36: bar_spares_by_nature (round 35's open question, B56-007's kind): a reading the rules
# dampened as one user's, on a text that met a rule naming the incident by its nature, is raised
# at raise_at, not at the higher bar. Told in my own words: a supplier's new bank details, one user.
DIVERSION = ("New bank details", "A supplier emailed me new bank details and asked us to pay this "
             "month's invoice to the new account. Just me dealing with it, haven't paid yet.")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    """test_emergency_model's small labelled file, written once for this module."""
    from tests.test_emergency_model import _write

    return _write(tmp_path_factory.mktemp("labelled") / "labelled.csv")


def test_the_bar_spares_a_rule_naming_the_incident_by_its_nature(labelled):
    from tests.test_emergency_model import _fit, _policy, _reading

    def variant(spares: bool) -> PolicyConfig:
        return _policy(labelled, raise_at=0.01, raise_at_dampened=1.0, dampened_by=["single-user issue",
                       "reported, not acted on"], bar_spares_by_nature=spares)

    model = _fit(variant(False), [labelled])
    barred, spared = _reading(variant(False), model, *DIVERSION), _reading(variant(True), model, *DIVERSION)
    assert "payment diversion (changed bank details)" in barred[2] and "dampened:" in barred[2], barred
    # barred: the rules' reading stands; spared: raised to p (raise_at 0.01 here, so any p)
    p = float(re.search(r"emergency model (0\.\d+)", spared[2]).group(1))
    assert barred[1] == pytest.approx(0.24) and spared[1] == pytest.approx(p, abs=0.005), (barred, spared)


def test_bar_spares_by_nature_refuses_a_bad_value():
    data = default_policy().model_dump()
    data["emergency"]["learned_model"]["bar_spares_by_nature"] = "sometimes"
    with pytest.raises(Exception, match="bar_spares_by_nature"):
        PolicyConfig.model_validate(data)
    data["emergency"]["learned_model"].update({"bar_spares_by_nature": True, "by_nature": []})
    with pytest.raises(Exception, match="bar_spares_by_nature"):
        PolicyConfig.model_validate(data)
