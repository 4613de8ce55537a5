"""Round 18 (docs/classification.md, "Round 18: scope on forward chaining"): an id's own weight for
the word model's evidence (scope_classification.word_model.weight_by_id)."""

import pytest
from pydantic import ValidationError

from logic.classify import scope_hits_sql
from policy.config import PolicyConfig
from tests.test_classify import _t, matched_texts, prepared_cases, shipped_data

# Unseen tickets: the whole of a piece of work described by its parts (a site opened, a phone
# platform for every office), and a one-person request.
TICKETS = [
    _t("w1", "Second clinic", "We open the second clinic in March. Please get it all ready: PCs for"
       " the six consulting rooms, the phones, the Wi-Fi and the booking system for the new staff.",
       "Request", 12),
    _t("w2", "Phones everywhere", "We have decided to move all three offices to a cloud phone system, with"
       " handsets for everyone, call queues and the numbers ported across.", "Request", 30),
    _t("w3", "Signature", "Can you change my email signature to show my new job title?", "Request", 1),
]


def _policy(weight_by_id: dict | None = None) -> PolicyConfig:
    data = shipped_data()
    # Round 30: beside a found platform implementation, structured project counts only its own rules
    # (own_evidence_beside), so w2's structured project candidate has no word evidence there; the
    # word weight is tested on its own (tests/test_scope_round30.py tests the round 30 reading).
    data["scope_classification"]["own_evidence_beside"] = {}
    if weight_by_id is not None:
        data["scope_classification"]["word_model"]["weight_by_id"] = weight_by_id
    return PolicyConfig.model_validate(data)


@pytest.fixture(scope="module")
def prepared():
    return prepared_cases(_policy(), TICKETS)


def _candidates(prepared, policy: PolicyConfig) -> dict[tuple[str, str], tuple[float, str]]:
    con, reading = prepared
    rows = con.execute(scope_hits_sql(policy, reading, floor=0.0,
                                      matched=matched_texts(con, policy))).fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


WEIGHTS = {"structured_project": 0.9, "platform_implementation": 0.9}


@pytest.fixture(scope="module")
def candidates(prepared) -> dict[str, tuple[PolicyConfig, dict]]:
    """The candidates without an id's own weight ("off") and with WEIGHTS ("on"), each with its
    policy: read by both tests below (each statement takes a second or more on 2 cores)."""
    return {name: (policy, _candidates(prepared, policy))
            for name, policy in (("off", _policy({})), ("on", _policy(WEIGHTS)))}


def test_an_ids_own_word_weight_raises_that_id_alone(candidates):
    off, on = candidates["off"][1], candidates["on"][1]
    raised = {k for k in on if on[k][0] > off.get(k, (0.0, ""))[0] + 1e-9}
    assert raised, "the word model reads a project or a platform into the first two"
    assert {sid for _, sid in raised} <= {"structured_project", "platform_implementation"}
    assert all("word model" in on[k][1] for k in raised)
    # every other id's candidate is as it was
    assert {k: v for k, v in on.items() if k[1] not in {"structured_project", "platform_implementation"}} == {
        k: v for k, v in off.items() if k[1] not in {"structured_project", "platform_implementation"}}
    # nothing is raised on the one-person request
    assert not any(t == "w3" for t, _ in raised)


def test_a_raised_candidate_is_a_call_exactly_when_it_reaches_its_ids_call_threshold(prepared, candidates):
    # Round 18 wrote this on w2 (a phone platform for every office, word model p 0.4 then: no
    # call at weight 0.7, a call for review at 0.9). Round 19's refit (batch-27/28 in the bank)
    # reads w2 at p 0.34, under the call either way, so the test states the rule itself: the weight
    # moves the candidate's confidence and the id's call_at_by_id alone decides whether it is a call.
    con, reading = prepared
    for policy, found in candidates.values():
        weights = policy.scope_classification.word_model.weight_by_id
        calls = {(r[0], r[1]) for r in con.execute(scope_hits_sql(
            policy, reading, matched=matched_texts(con, policy))).fetchall()}
        for key, (confidence, _) in found.items():
            call_at = policy.scope_classification.call_at_by_id.get(
                key[1], policy.scope_classification.min_confidence)
            assert (key in calls) == (confidence >= call_at - 1e-9), (weights, key, confidence)
    shipped = _policy()
    # The shipped weights are WEIGHTS (test_the_shipped_policy_weighs_the_whole_of_the_work_higher):
    # their candidates are read again only if the shipped policy differs.
    on = candidates["on"][1] if shipped == candidates["on"][0] else _candidates(prepared, shipped)
    off = candidates["off"][1][("w2", "structured_project")][0]
    assert off < on[("w2", "structured_project")][0] < shipped.scope_classification.call_at_by_id[
        "structured_project"]


def test_the_shipped_policy_weighs_the_whole_of_the_work_higher():
    wm = _policy().scope_classification.word_model
    assert wm.weight_by_id == {"structured_project": 0.9, "platform_implementation": 0.9}
    assert wm.weight == 0.7


@pytest.mark.parametrize("weight_by_id", [{"not_an_exclusion": 0.9}, {"structured_project": 1.5}])
def test_weight_by_id_is_validated(weight_by_id):
    with pytest.raises(ValidationError):
        _policy(weight_by_id)
