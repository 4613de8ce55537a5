"""Round 43 (issue 19): a business starting to use a service it has chosen is platform
implementation, whatever the service is called.

One platform implementation rule (`scope_exclusions`, platform_implementation, "a service the
business has chosen to start using") reads the client saying it has chosen a service to start
using: signed up to it, picked or selected it, its board or committee approved it as its register
or database, it decided to go with it. The rules knew a new platform by its kind (a phone system,
a CRM, device management); a service named only by its own name was read as nothing, or as the
custom work or the migration beside it. Three registers (terse, rambling, careful non-native
English) each with a near ticket: the service already in use and failing, a date picked, a person
approved for a post. The near tickets are not called.

A whole-call dampener on custom implementation and custom software (`scope_classification.
dampeners`, "a service chosen to start using, set up the normal way") reads the same wording: a
chosen service set up the normal way (accounts, approvals, its usual links) is the platform being
implemented, not custom work. Unless the client asks for a custom set-up, its own rules, the
service wired into another system or work done automatically: the near tickets stay custom
implementation. The texts were written for this test, none from a batch.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.shipped_calls import calls_fixture
from tests.test_classify import SHIPPED, _scope, _t, _variant, classify

CHOSEN = "a service the business has chosen to start using"
NORMAL_WAY = "a service chosen to start using, set up the normal way"
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
# a chosen service set up the normal way, which the vote and the word model read as custom work
NORMAL = [
    _t("ci_terse", "leave app", "signed up to Leavebase. set up the 14 staff, holiday requests approved"
       " by their manager, connect it to the outlook calendars. go live 1st.", category="Software"),
    _t("ci_ramble", "cleaners app!!", "Hiya! So after loads of back and forth we've chosen Jobjar for"
       " the cleaners' jobs, everyone's really excited. Could you get it going? The cleaners need"
       " logins on their phones, each job approved by the supervisor before it's paid, and the jobs"
       " connected to the office calendar. Ideally before Easter, thanks a million!!",
       category="Software"),
    _t("ci_careful", "Setup of new HR software", "Dear Sir or Madam, our directors have selected"
       " Staffly as the HR software for the company. Kindly we ask you to create the accounts of all"
       " employees, configure the leave approval and connect it with our email calendars. Please"
       " inform us of the effort. Best regards", category="Software"),
    # near: the chosen service wired into another system, checked automatically by the client's
    # own rules, a custom warning: custom implementation stays
    _t("ci_near", "rota app rules", "We've signed up to Rotagram. Could you wire it into the till so"
       " each shift's hours are checked automatically against our own break rules, with a custom"
       " warning to the manager when someone works more than six hours without a break?",
       category="Software"),
    _t("ci_careful_near", "Connection of HR software to payroll", "Dear Sir or Madam, our directors"
       " have selected Staffly as the HR software. Kindly we ask you to make it send the hours"
       " automatically to our payroll program, calculated by our own overtime rules for night work."
       " Best regards", category="Software"),
]
NORMAL_HELD = ["ci_terse", "ci_careful"]  # custom implementation called without the dampener
CUSTOM_NEAR = ["ci_near", "ci_careful_near"]
CALLED = ["terse", "ramble", "careful"]
NEAR = ["terse_near", "ramble_near", "careful_near"]


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy(SHIPPED)


def shipped_cases() -> dict[str, list]:
    """The module's tickets, classified with the other modules' cases (tests/shipped_calls.py)."""
    return {"shipped": TICKETS + NORMAL}


shipped = calls_fixture("shipped")


@pytest.fixture(scope="module")
def calls_undampened() -> dict:
    """The same tickets without the round-43 dampener: what it moves."""
    def drop(d: dict) -> None:
        sc = d["scope_classification"]
        sc["dampeners"] = [x for x in sc["dampeners"] if x["label"] != NORMAL_WAY]
    scope, _ = classify(_variant(drop), TICKETS + NORMAL)
    return scope


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


@pytest.mark.parametrize("tid", NORMAL_HELD)
def test_a_chosen_service_set_up_the_normal_way_is_not_custom_work(shipped, calls_undampened, tid):
    assert "custom_implementation" in calls_undampened[tid]
    assert "custom_implementation" not in shipped[tid]
    assert "custom_software" not in shipped[tid]


def test_the_rambling_one_is_a_platform_and_no_custom_work(shipped):
    assert "platform_implementation" in shipped["ci_ramble"]
    assert not {"custom_implementation", "custom_software"} & set(shipped["ci_ramble"])


@pytest.mark.parametrize("tid", CUSTOM_NEAR)
def test_a_chosen_service_wired_in_by_the_clients_own_rules_stays_custom(shipped, calls_undampened,
                                                                          tid):
    assert "custom_implementation" in shipped[tid]
    assert NORMAL_WAY not in shipped[tid]["custom_implementation"][1]
    assert set(shipped[tid]) == set(calls_undampened[tid])


def test_a_wrong_factor_is_refused():
    def wrong(d: dict) -> None:
        damp = next(x for x in d["scope_classification"]["dampeners"] if x["label"] == NORMAL_WAY)
        damp["factor"] = 1.5
    with pytest.raises(ValueError):
        _variant(wrong)
