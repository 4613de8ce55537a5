"""Round 41 (emrec41, issue 19): data exposures and a lost device the rules did not read (policy
section 4: a suspected security incident, data exposed; config/policy.yaml, the round 41 rules,
term sets and dampeners; docs/decisions.md, "One message sent to the wrong person").

- a person's health or care record (notes, results, a care plan, a clinical letter) sent to
  someone it was not meant for, told by who got it or "by mistake";
- the personal details of the people a client serves found public (a page, a gallery, titles);
- a device that holds business data left somewhere and not there when its owner went back.

Each with near tickets of its limits: a misdirected message contained (its recipient deleted it,
recalled before it was opened, only a colleague got it), a business document sent to the wrong
client, a publication planned or asked about, a laptop left at home, a phone got back. Every
look-alike goes through the whole classifier (the final call). The texts are my own, none a batch's.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.dampener_look_alikes import RuleLookAlikes, missing_term_set_refused
from tests.shipped_calls import calls_fixture

RECORD = "a health or care record sent to someone it was not meant for"
PUBLIC = "personal details of the people we serve made public"
DEVICE = "a lost or stolen device holding company data"
CONTAINED = "a misdirected message contained"
PLANNED = "publishing people's details planned or asked about, nothing out yet"
# Round 41's rules joining emergency.learned_model.by_nature (pinned in tests/test_emergency_round21.py)
ROUND_41_BY_NATURE = [RECORD, PUBLIC]

# (rule, subject, description, affected users): each must be called, on the rule named
CALLED = [
    (RECORD, "Session notes", "I emailed a client's counselling session notes to the wrong client this "
     "morning, two people with the same first name. Can you get it back?", 1),
    (RECORD, "Results", "Our receptionist accidentally sent a patient's blood test results to another "
     "patient's email address. That patient phoned to tell us.", 1),
    (PUBLIC, "Gallery", "A parent rang to say the photo gallery on our website is visible to anyone and "
     "the captions show pupils' names and their home addresses. We thought that gallery was private.", 1),
    (DEVICE, "Tablet", "I left the team tablet in a cafe after a client visit. Went back after lunch and "
     "they don't have it. It has the customer spreadsheets and my email on it.", 1),
]

# (rule, subject, description, affected users): each must not be called
NOT_CALLED = [
    # the wrong recipient has deleted it
    (RECORD, "Therapy notes", "I emailed a client's therapy notes to the wrong client by mistake, but she "
     "rang straight away and has deleted it. Anything else we should do?", 1),
    # recalled before it was opened
    (RECORD, "Care plan", "Sent a care plan to the wrong family by mistake but I recalled it before they "
     "opened it. Do I need to log it?", 1),
    # only a colleague got it
    (RECORD, "Discharge summary", "I sent a patient's discharge summary to the wrong colleague in our own "
     "team, she has passed it on to the right nurse.", 1),
    # a business document, no person's record
    (RECORD, "Quote", "I emailed our fee quote to the wrong client by mistake. Can you recall it?", 1),
    # a publication planned and asked about, nothing out yet
    (PUBLIC, "Members page", "We'd like a page on our website with our members' names for the "
     "anniversary, visible to everyone. Is that allowed?", 1),
    # a laptop left at home, not lost
    (DEVICE, "Laptop at home", "I left my work laptop at home today, it has my email on it. Can I get "
     "remote access from the spare PC?", 1),
    # a phone left at a bar and got back
    (DEVICE, "Phone", "Left my phone at the bar after drinks but went back and they had it behind the "
     "counter, got it back. It has work email on it.", 1),
]

LOOK_ALIKES = RuleLookAlikes("rq", CALLED, NOT_CALLED)


def shipped_cases() -> dict[str, list]:
    """The cases, classified with the other modules' cases in the session's one call."""
    return {"round41_recall": LOOK_ALIKES.tickets()}


emergency = calls_fixture("emergency", "round41_recall", part="emergency")

# The two tests of the shape (tests/dampener_look_alikes.py), under this module's names.
test_an_exposure_or_a_lost_device_is_called, test_a_near_ticket_is_not_called = LOOK_ALIKES.tests()


test_the_limits_are_what_lowers_the_contained_and_the_planned = LOOK_ALIKES.limits_test(
    [(0, CONTAINED), (1, CONTAINED), (4, PLANNED)])


def test_the_new_rules_name_the_exposure_by_its_nature():
    assert set(ROUND_41_BY_NATURE) <= set(default_policy().emergency.learned_model.by_nature)


test_a_rule_naming_a_missing_term_set_is_refused = missing_term_set_refused([
    "care_record", "served_details", "made_public",
])


@pytest.mark.parametrize("label", [CONTAINED, PLANNED])
def test_a_limit_read_only_with_an_unknown_term_set_is_refused(label):
    data = default_policy().model_dump()
    limit = next(d for d in data["emergency"]["dampeners"] if d["label"] == label)
    limit["only_with_sets"] = ["no_such_set"]
    with pytest.raises(Exception, match="no_such_set"):
        PolicyConfig.model_validate(data)
