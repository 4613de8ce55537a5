"""Round 21 (issue 19 item 5): emergencies by their nature told without security or outage words.

A lost or stolen device holding company data, one account's takeover signs acted on (a sign-in
prompt approved, a link's sign-in page used and then mail sent in the user's name, mail vanishing
before anyone sees it) and card payments or tills stopped where customers pay
(docs/classification.md, "Round 21: emergency").
"""

import pytest

from logic.emergency import emergency_rules_sql
from logic.emergency_model import emergency_model
from policy.config import PolicyConfig, default_policy
from tests.rule_matches import hold_ahead, one_ticket_rules, read_ahead
from tests.test_emergency_model import (
    ROUND_18_BY_NATURE,
    ROUND_20_BY_NATURE,
    ROUND_21_BY_NATURE,
    ROUND_31_BY_NATURE,
    ROUND_33_BY_NATURE,
    ROUND_34_BY_NATURE,
    ROUND_35_BY_NATURE,
    ROUND_36_BY_NATURE,
    ROUND_40_BY_NATURE,
    _reading,
    _ticket,
)
from tests.test_emergency_round41_recall import ROUND_41_BY_NATURE
from tests.test_emergency_round42_recall import ROUND_42_BY_NATURE
from tests.test_emergency_round43_recall import ROUND_43_BY_NATURE
from tests.test_emergency_round44_recall import ROUND_44_BY_NATURE

# Written here from the policy's section 4 ideas, not taken from any batch.
MET = [
    ("a lost or stolen device holding company data", "Lost work phone",
     "I lost my work phone on the bus yesterday; it has my email and our customer contacts on it."),
    ("a lost or stolen device holding company data", "Break-in",
     "Our office was burgled overnight and the tablet with the client records was taken from the desk."),
    ("a sign-in prompt approved that nobody started", "Prompts",
     "My authenticator app kept asking me to approve a sign-in and I accidentally approved one."),
    ("signed in through a link, then mail sent in the user's name", "Shared file",
     "I clicked a link to a shared file, signed in with my Microsoft password and now the same message"
     " has gone out from my account to all my contacts."),
    ("mail vanishing before anyone sees it", "Missing mail",
     "Suppliers say they emailed me twice but the messages never arrive; they are not in junk or deleted"
     " items either."),
    ("card payments or tills stopped where customers pay", "Card machines",
     "Every card machine in the shop says declined, we are cash only and customers are leaving."),
]

NOT_MET = [
    ("a lost or stolen device holding company data", "Keyboard",
     "The @ key on my laptop is missing so I can't type email addresses."),
    ("a lost or stolen device holding company data", "No code",
     "I left my phone at home today, can I get my sign-in code another way for my email?"),
    ("a sign-in prompt approved that nobody started", "New phone",
     "Please set up the authenticator app on my new phone, I have the sign-in prompt ready."),
    ("mail vanishing before anyone sees it", "Newsletter",
     "Can you help me design a newsletter email for our customers?"),
    ("card payments or tills stopped where customers pay", "New shop",
     "Please quote for two card machines and a till for the new shop opening in March."),
    # The review of round 21: routine texts the first phrasing met.
    ("a lost or stolen device holding company data", "Charger",
     "I lost my laptop charger, can you order a new one? My files are all on it."),
    ("a lost or stolen device holding company data", "Power",
     "My laptop lost power during the update and now my documents won't open."),
    ("a lost or stolen device holding company data", "Lost property",
     "We found a laptop in lost property, can you tell whose it is from the login screen?"),
    ("a sign-in prompt approved that nobody started", "Outlook",
     "I got the Authenticator prompt and accepted it, but Outlook keeps asking for my password."),
    ("signed in through a link, then mail sent in the user's name", "New phone",
     "I logged in with my password on the new phone and emails are sent from my account with the old"
     " signature."),
    ("mail vanishing before anyone sees it", "Outbound",
     "Our newsletter emails never reach some customers, and they are not in their spam either."),
    ("card payments or tills stopped where customers pay", "One payment",
     "I can't take the payment on the phone for a customer, the card keeps being refused."),
]


@pytest.fixture(scope="module", autouse=True)
def rules_read_ahead() -> None:
    """Every one-ticket reading of this module in one statement (tests/rule_matches.py): each test
    still asserts on its own ticket's row; the MET tickets' rules relation as `_reading` reads it
    too (`hold_ahead`)."""
    read_ahead(default_policy(), [(s, d, 1, False) for _, s, d in MET + NOT_MET])
    hold_ahead(emergency_rules_sql(default_policy()), [_ticket(s, d, category="Other") for _, s, d in MET])


def _rules_met(policy: PolicyConfig, subject: str, description: str) -> list[str]:
    return one_ticket_rules(policy, subject, description)[2]


def test_round_21_labels_join_by_nature():
    assert default_policy().emergency.learned_model.by_nature == (
        ROUND_18_BY_NATURE + ROUND_20_BY_NATURE + ROUND_21_BY_NATURE + ROUND_31_BY_NATURE
        + ROUND_33_BY_NATURE  # round 33: a data exposure, a page posing as ours
        + ROUND_34_BY_NATURE  # round 34: other people's details sent out
        + ROUND_35_BY_NATURE  # round 35: a mailbox rule and a miner told by their effect
        + ROUND_36_BY_NATURE  # round 36: data sent by mistake, domain, certificate, sign-in, posing as us
        + ROUND_40_BY_NATURE  # round 40: a payment device, a mailing, public documents, a key, a zero price
        + ROUND_41_BY_NATURE  # round 41: a health or care record sent wrongly, people's details made public
        + ROUND_42_BY_NATURE  # round 42: a leaver's login, a stranger let in, an idle machine
        + ROUND_43_BY_NATURE  # round 43: an account of someone who has left used since
        + ROUND_44_BY_NATURE)  # round 44: none (its two rules held out of by_nature)


@pytest.mark.parametrize(("label", "subject", "description"), MET)
def test_round_21_the_incident_is_read_by_its_nature_and_not_held_by_p(label, subject, description):
    # The rule is met; with a hold at 0.99 (every call held by p) and a vote that disagrees, the
    # text is still a call through the by-nature exemption. With round 20's policy (before the
    # new rules) the same text is no call.
    shipped = default_policy()
    assert label in _rules_met(shipped, subject, description)
    lm = shipped.emergency.learned_model
    policy = shipped.model_copy(update={"emergency": shipped.emergency.model_copy(update={
        "learned_model": lm.model_copy(update={"hold_below": 0.99})})})
    qualifies, confidence, evidence, _state = _reading(policy, emergency_model(shipped), subject,
                                                       description, category="Other", vote=0.1)
    assert qualifies and confidence >= 0.5, (confidence, evidence)
    assert "not held: the incident by its nature" in evidence or "emergency model" not in evidence, evidence


@pytest.mark.parametrize(("label", "subject", "description"), NOT_MET)
def test_round_21_routine_text_does_not_meet_the_new_rules(label, subject, description):
    assert label not in _rules_met(default_policy(), subject, description)
