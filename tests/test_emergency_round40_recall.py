"""Round 40 (emrec40, issue 19): security and data incidents told by their effect, with no alarm word
(policy section 4: a security incident, data exposed, money at risk; config/policy.yaml, the
round 40 rules, term sets and dampeners).

- a device that holds or opens business data taken off a desk or counter, fallen from a pocket or
  reported to the police; a card machine or payment device stolen;
- personal data in a mailing that should not have carried it; identity documents open to anyone
  through a link or a search engine;
- a key card or fob opening someone else's room;
- a system selling at a zero price with sales already taken.

Each with near tickets of its limits (a device found again, a question about what to do if, a test
send to ourselves, a price typo noticed before anyone bought). Every look-alike goes through the
whole classifier (the final call). The texts are my own, none a batch's.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.dampener_look_alikes import RuleLookAlikes, missing_term_set_refused
from tests.shipped_calls import calls_fixture
from tests.test_classify import _t

DEVICE = "a lost or stolen device holding company data"
PAYMENT = "a card machine or payment device stolen"
MAILING = "personal data in a mailing that should not have carried it"
PUBLIC = "personal documents open to anyone through a link or a search engine"
DOOR = "a key or pass opening a room that is someone else's"
PRICE = "selling at a zero or wrong price, sales already taken"
ROUND_40 = [PAYMENT, MAILING, PUBLIC, DOOR, PRICE]

# (rule, subject, description, affected users): each must be called, on the rule named
CALLED = [
    (DEVICE, "Office tablet", "Someone walked in while we were at lunch and took the office tablet off "
     "the front desk. It's logged in to the shared mailbox and our customer accounts.", 1),
    (DEVICE, "Phone on the train", "My work mobile must have slipped out of my coat on the train home. "
     "It has my email and all the client contacts on it, and no passcode.", 1),
    (PAYMENT, "Card reader", "Our portable card reader disappeared from the bar during the busy spell "
     "last night and we've reported it to the police. What do we need to do now?", 1),
    (MAILING, "Monthly update", "Our monthly update went out to about 800 members this afternoon and "
     "the file attached was the full membership export with home addresses. It was never meant to be "
     "in there.", 1),
    (PUBLIC, "Passport online", "A tenant told us that searching her name on Google brings up a copy of "
     "her passport from one of our shared folders.", 1),
    (DOOR, "Key cards", "The guest in room 8 says her key card unlocked room 9 as well and she walked "
     "into another family's room. Could the other cards be wrong too?", 2),
    (PRICE, "Gift boxes", "Since the update the online shop is selling the gift boxes for 0.00 and "
     "twelve orders have come in already. Please sort it.", 1),
]

# (rule, subject, description, affected users): each must not be called
NOT_CALLED = [
    # a device found again and handed back
    (DEVICE, "Laptop on the train", "I left my work laptop on the train this morning but the station "
     "staff found it and I've got it back. It has our client files on it, anything I should check?", 1),
    # a question about what to do if
    (DEVICE, "Lost phones", "If one of the staff phones with email on it is ever stolen, what should we "
     "do? Could you write us a short procedure for it?", 1),
    # a card machine that works badly, nothing taken
    (PAYMENT, "Card machine", "The card machine at the bar keeps losing its signal and dropping "
     "payments halfway, can someone look at it this week?", 1),
    # a test send to ourselves
    (MAILING, "Newsletter test", "The test copy of the newsletter only went to me, with the customer "
     "list attached that shouldn't have been there. Can you take it off before the real send tomorrow?", 1),
    # a question about public links, nothing exposed
    (PUBLIC, "Upload page", "Can you set up a secure upload page so customers can send us their passport "
     "scans? We don't want to keep using email for it.", 1),
    # a public link to a page about passports, no document's copy
    (PUBLIC, "Renewal link", "Can you send me a public link to the passport renewal page for the "
     "staff newsletter?", 1),
    # a copy of a bill from a search company, no identity document
    (PUBLIC, "Invoice", "Can you send me a copy of our Google bill for last month? The accountant "
     "needs it.", 1),
    # one's own card not opening one's own door
    (DOOR, "Key card", "My key card won't open my own office door this morning, can you reset it?", 1),
    # a free event people booked, not a wrong price
    (PRICE, "Webinar", "We're running a free webinar next week; the website shows it for free and 20 "
     "people have booked already. Can you add a calendar link?", 1),
    # a price typo noticed before anyone bought
    (PRICE, "Room rate", "The new room rate shows as 0.00 on the booking site. I spotted it before anyone "
     "booked, can you correct it?", 1),
]

# Round 40, emergency.later_ask.holds_against: the learned hold is spared a later ask's reading again
# (round 39's merge took it back); a job asked for a weekend when nobody is in is read over the
# whole text as work outside the working day. (subject, description, affected users, called)
LATER = [
    # a routine first ask, then the office's internet and card payments lost now
    ("Two things", "Could you set up an email login for our new receptionist starting Monday? Since "
     "about ten the internet in the office has gone off, the card machine is down and none of us can "
     "get on the booking system.", 1, True),
    # a planned swap whose second sentence takes the servers down on a quiet day
    ("Old battery unit", "The battery unit under the server rack keeps beeping and is ten years old, "
     "please replace it, the quote is fine. The servers will be down for an hour or two, so do it on a "
     "Saturday morning, nobody will be in.", 40, False),
]

# The round 40 merge mend: `publicly_found` reads something found through a search, not a search
# engine named (a browser hijack beside a passport scan is not documents open to anyone).
NAMED_ONLY = ("Start page", "Our shared PC now opens on a search engine none of us picked and shows "
              "pop-up adverts, ever since someone installed a free tool to shrink photos of passports "
              "for the visa files. Everything else runs normally. Is it a virus?", 1)

LOOK_ALIKES = RuleLookAlikes("rr", CALLED, NOT_CALLED)
TICKETS = LOOK_ALIKES.tickets()
TICKETS += [_t(f"rl{i:02d}", subject, description, "Other", affected, False)
            for i, (subject, description, affected, _called) in enumerate(LATER)]
TICKETS += [_t("rs00", NAMED_ONLY[0], NAMED_ONLY[1], "Security", NAMED_ONLY[2], False)]


def shipped_cases() -> dict[str, list]:
    """The cases, classified with the other modules' cases in the session's one call."""
    return {"round40_recall": TICKETS}


emergency = calls_fixture("emergency", "round40_recall", part="emergency")

# The two tests of the shape (tests/dampener_look_alikes.py), under this module's names.
test_an_incident_told_by_its_effect_is_called, test_a_near_ticket_is_not_called = LOOK_ALIKES.tests()


@pytest.mark.parametrize("i", range(len(LATER)))
def test_a_later_ask_is_spared_the_hold_but_a_weekend_job_is_not_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"rl{i:02d}"]
    assert qualifies == LATER[i][3], (LATER[i], confidence, evidence)


def test_the_new_rules_name_the_incident_by_its_nature():
    # a low p of the learned signal does not hold their call (learned_model.by_nature)
    assert set(ROUND_40) <= set(default_policy().emergency.learned_model.by_nature)


test_a_rule_naming_a_missing_term_set_is_refused = missing_term_set_refused([
    "payment_device", "not_meant", "mailing_reach", "identity_document", "publicly_found",
    "door_credential", "opened_other", "price_wrong", "sales_taken",
])


def test_the_found_again_dampener_must_name_a_criterion():
    data = default_policy().model_dump()
    label = "a lost or taken device found again"
    found = next(d for d in data["emergency"]["dampeners"] if d["label"] == label)
    found["applies_to"] = ["no_such_criterion"]
    with pytest.raises(Exception, match="no_such_criterion"):
        PolicyConfig.model_validate(data)


def test_a_search_engine_named_is_not_documents_found_through_one(emergency):
    assert PUBLIC not in emergency["rs00"][2], emergency["rs00"]
    assert any(PUBLIC in emergency[f"rr{i:02d}"][2] for i, case in enumerate(CALLED) if case[0] == PUBLIC)
