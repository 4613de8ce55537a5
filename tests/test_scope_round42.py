"""Round 42 (issue 19): custom implementation told by what the client wants of a product it already
has; kit disposed of is not a data migration.

Two custom implementation rules read the client's own words (`scope_exclusions`,
custom_implementation): the product the client already has is said to do it already ("the supplier
says it can do this", "apparently it supports that") and the client wants it set up; or the
product has its own builder or designer for what is wanted (a report builder, a forms module).
Nothing is written and nothing new bought: an existing product tailored. Their near tickets ask
whether the product could do it, or report the builder failing: not called. A major migration
dampener: kit taken away and disposed of (a disposal certificate, recycling) is the end of the
hardware, not data carried between systems; its near ticket moves the files left on the kit into
the cloud first, and stays a migration. The texts were written for this test, none from a batch.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.shipped_calls import calls_fixture
from tests.test_classify import SHIPPED, _scope, _t, _variant, classify

SAID = "the client's existing product is said to do it already"
BUILDER = "the existing product's own builder or designer"
DISPOSED = "kit disposed of, no data moved"
TICKETS = [
    # the supplier says the product the client has can do it: set it up for us
    _t("said", "Member prices at the counter",
       "Could members get their discount at the counter when they show their card, and staff see"
       " which level they are on? The counter software company says it can do this, it just needs"
       " setting up on our side.", category="Software"),
    # near: asking whether it could, before choosing; nothing to set up yet
    _t("said_near", "Member prices at the counter",
       "Is our counter software able to give members a discount when they show their card, or"
       " would we need a different one? Just asking before the contract renewal.",
       category="Software"),
    # the product has its own designer for what is wanted
    _t("builder", "Weekly overdue list",
       "Our job system has a report builder and the fields are all there. Could we get a weekly"
       " list of jobs overdue by more than ten days, by engineer?", category="Software"),
    # near: the builder itself failing
    _t("builder_near", "Weekly overdue list",
       "The report builder in our job system crashes every time I open it since Monday.",
       category="Software"),
]
KIT = [
    # kit taken away and disposed of: not a data migration
    _t("disposed", "Decommissioned server",
       "Our old NAS is decommissioned now. Can you send someone to remove it and dispose of it"
       " properly, drives shredded?", category="Hardware"),
    # near: the files left on it moved into the cloud before it is recycled: still a migration
    _t("disposed_near", "Old server collection",
       "The old file server in the cupboard still has the shared drive on it. Could you move all"
       " the files onto SharePoint for everyone, then take the server away and have it recycled?",
       category="Hardware"),
]


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy(SHIPPED)


def shipped_cases() -> dict[str, list]:
    """The module's tickets, classified with the other modules' cases (tests/shipped_calls.py)."""
    return {"shipped": TICKETS + KIT}


shipped = calls_fixture("shipped")


@pytest.fixture(scope="module")
def calls_without() -> dict:
    """The same tickets without the round-42 rules and dampener: what they move."""
    def drop(d: dict) -> None:
        ci = _scope(d, "custom_implementation")
        ci["rules"] = [r for r in ci["rules"] if r["label"] not in (SAID, BUILDER)]
        mm = _scope(d, "major_migration")
        mm["dampeners"] = [x for x in mm["dampeners"] if x["label"] != DISPOSED]
    scope, _ = classify(_variant(drop), TICKETS + KIT)
    return scope


@pytest.mark.parametrize(("tid", "label"), [("said", SAID), ("builder", BUILDER)])
def test_an_existing_product_set_up_for_the_client_is_custom_implementation(shipped, calls_without,
                                                                            tid, label):
    assert "custom_implementation" in shipped[tid]
    assert label in shipped[tid]["custom_implementation"][1]
    assert "custom_implementation" not in calls_without[tid]
    assert "custom_software" not in shipped[tid]


@pytest.mark.parametrize("tid", ["said_near", "builder_near"])
def test_asking_whether_it_could_or_the_builder_failing_is_not(shipped, calls_without, tid):
    assert "custom_implementation" not in shipped[tid]
    assert set(shipped[tid]) == set(calls_without[tid])


def test_kit_disposed_of_is_not_a_data_migration(shipped, calls_without):
    assert "major_migration" not in shipped["disposed"]
    assert "major_migration" in calls_without["disposed"]


def test_files_moved_off_the_kit_first_stay_a_migration(shipped, calls_without):
    assert "major_migration" in shipped["disposed_near"]
    assert set(shipped["disposed_near"]) == set(calls_without["disposed_near"])
