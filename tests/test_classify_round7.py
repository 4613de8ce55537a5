"""Round 7 (docs/classification.md): mechanisms measured leave-one-batch-out, tested on tickets of our own."""

import pytest
import yaml

from policy.config import PolicyConfig, load_policy
from tests.test_classify import SHIPPED, _bank_of, _t, classify


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return load_policy(SHIPPED)


def _variant(change) -> PolicyConfig:
    data = yaml.safe_load(SHIPPED.read_text())
    change(data)
    return PolicyConfig.model_validate(data)


# A planned move whose text reads like an outage to the emergency rules: what must not go down.
MOVE = ("Accounts server move", "Please move our accounts database and server onto the new hosted "
        "platform. The system will be down for everyone while it moves, so it has to be done over a "
        "weekend.")


def test_planned_project_work_read_by_the_neighbours_is_not_an_emergency(policy):
    # The neighbours know the text as a major migration and say nothing about emergencies.
    bank = _bank_of(policy, [("M1", " . ".join(MOVE), {"major_migration"}, None)])
    tickets = [_t("p1", *MOVE, affected=15)]
    off = _variant(lambda d: d["emergency"]["planned_work"].update(factor=1.0))
    _, before = classify(off, tickets, bank)
    assert before["p1"][0], before  # the old reading: an emergency
    _, after = classify(policy, tickets, bank)
    qualifies, _, evidence, state = after["p1"]
    assert not qualifies and state == "none", after
    assert ("dampened: reads as planned work (semantic vote 1.0 for major migration: like ticket M1"
            in evidence)


def test_an_outage_whose_neighbours_read_no_planned_work_stays_an_emergency(policy):
    outage = ("Accounts server down", "The accounts server is down for everyone since nine and nobody "
              "can post invoices.")
    bank = _bank_of(policy, [("M1", " . ".join(MOVE), {"major_migration"}, None),
                             ("O1", " . ".join(outage), set(), True)])
    _, emergency = classify(policy, [_t("o1", *outage, affected=15)], bank)
    qualifies, _, evidence, _ = emergency["o1"]
    assert qualifies and "reads as planned work" not in evidence, emergency


def test_planned_work_config_is_validated():
    with pytest.raises(Exception, match="unknown scope exclusion id"):
        _variant(lambda d: d["emergency"]["planned_work"].update(scope_ids=["migrations"]))
    with pytest.raises(Exception, match="planned_work"):
        _variant(lambda d: d["emergency"]["planned_work"].update(factor=0))
