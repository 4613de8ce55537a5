"""Round 43 (issue 19): a business starting to use a service it has chosen is platform
implementation, whatever the service is called.

One platform implementation rule (`scope_exclusions`, platform_implementation, "a service the
business has chosen to start using") reads the client saying it has chosen a service to start
using: signed up to it, picked or selected it, its board or committee approved it as its register
or database, it decided to go with it. The rules knew a new platform by its kind (a phone system,
a CRM, device management); a service named only by its own name was read as nothing, or as the
custom work or the migration beside it. Three registers (terse, rambling, careful non-native
English) each with a near ticket: the service already in use and failing, a date picked, a person
approved for a post. The near tickets are not called. The texts were written for this test, none
from a batch.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.shipped_calls import calls_fixture
from tests.test_classify import SHIPPED, _scope, _t, _variant, classify

CHOSEN = "a service the business has chosen to start using"
TICKETS = [
    # terse: signed up to a stock service, set it up on the tills and tablets
    _t("terse", "stock app", "signed up to Shelfwise for the stock. get it on both tills and the 3"
       " tablets, logins for the 9 of us. start 1st.", category="Software"),
    # near: the same service already in use, one till not syncing
    _t("terse_near", "shelfwise", "shelfwise on till 2 wont sync since tues. the 3 tablets fine.",
       category="Software"),
    # rambling: a bookings service picked, everyone to get a login
    _t("ramble", "Our new bookings thing!!", "Hiya, so after ages of going round in circles we've"
       " finally picked Bookaroo for the classes, Jess used it at her last place and loves it."
       " Would you be able to get it going for us? Everyone needs a login and we'd want the"
       " instructors to see their own timetables on their phones. No rush but ideally before the"
       " summer term, thanks a million!!", category="Software"),
    # near: a date picked for a party, a room booked
    _t("ramble_near", "Summer do!!", "Hiya, so after ages of going round in circles we've finally"
       " picked the date for the summer do, Friday 12th! Would you be able to put it in everyone's"
       " calendar and book the big room? Thanks a million!!", category="Other"),
    # careful non-native: a committee approved a visitor register for three sites
    _t("careful", "Request for new visitor software", "Dear Sir or Madam, our management committee"
       " has approved Gatekeep as our visitor register for the three sites. Kindly we ask you to"
       " prepare the accounts for reception staff and install it on the entrance tablets. Please"
       " inform us of the date it can be ready. Best regards", category="Software"),
    # near: a committee approved a person for a post, access asked for
    _t("careful_near", "Access for new finance manager", "Dear Sir or Madam, our management"
       " committee has approved Mrs Okafor as our finance manager from next month. Kindly we ask"
       " you to give her access to the accounts folder and the payroll mailbox. Best regards",
       category="Account"),
]
CALLED = ["terse", "ramble", "careful"]
NEAR = ["terse_near", "ramble_near", "careful_near"]


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy(SHIPPED)


def shipped_cases() -> dict[str, list]:
    """The module's tickets, classified with the other modules' cases (tests/shipped_calls.py)."""
    return {"shipped": TICKETS}


shipped = calls_fixture("shipped")


@pytest.fixture(scope="module")
def calls_without() -> dict:
    """The same tickets without the round-43 rule: what it moves."""
    def drop(d: dict) -> None:
        pi = _scope(d, "platform_implementation")
        pi["rules"] = [r for r in pi["rules"] if r["label"] != CHOSEN]
    scope, _ = classify(_variant(drop), TICKETS)
    return scope


def test_the_rule_is_in_the_shipped_policy(policy):
    pi = next(s for s in policy.scope_exclusions if s.id == "platform_implementation")
    assert CHOSEN in [r.label for r in pi.rules]


@pytest.mark.parametrize("tid", CALLED)
def test_a_service_chosen_to_start_using_is_platform_implementation(shipped, calls_without, tid):
    assert "platform_implementation" in shipped[tid]
    assert CHOSEN in shipped[tid]["platform_implementation"][1]
    assert "platform_implementation" not in calls_without[tid]
    # a new service set up the normal way is neither custom work nor a migration
    assert not {"custom_implementation", "custom_software", "major_migration"} & set(shipped[tid])


@pytest.mark.parametrize("tid", NEAR)
def test_a_service_in_use_a_date_or_a_person_chosen_is_not(shipped, calls_without, tid):
    assert "platform_implementation" not in shipped[tid]
    assert set(shipped[tid]) == set(calls_without[tid])
