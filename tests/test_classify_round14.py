"""Round 14 (docs/classification.md, "Round 14: scope"): a held call on a weak vote is no call
(semantic.drop_below), and an id's own call threshold (scope_classification.call_at_by_id)."""

import pytest

from logic.classify import scope_hits_sql
from policy.config import PolicyConfig
from tests.test_classify import _t, matched_texts, prepared_cases, shipped_data

# Tickets no labelled file holds. A rule reads an exclusion into each (a quantity of phones, a
# policy document, "set it up so"); the neighbours disagree. For the first two the word model does
# too (p below 0.1); for the third it gives 0.14: held for review, not dropped.
WEAK = [
    _t("r1", "Phones", "We want the 3 desk phones on reception to ring at the same time,"
       " can you change that?"),
    _t("r2", "Form", "The document has been completed and signed, can you scan it into the HR"
       " folder for me?"),
    _t("r3", "Screens", "Can you set it up so my second screen is on the left instead of the right?"),
]
# A platform bought and to be configured for the business: only the word model reads it.
PLATFORM = _t("r4", "Booking system", "We have bought a new booking platform and need it configured for our"
              " three branches with users, roles and the integration to our website.", "Software", 10)
EXPECTED = {("r1", "procurement"), ("r2", "compliance_documentation")}
KEPT = ("r3", "custom_implementation")


def _policy(drop_below: float | None = None, call_at_by_id: dict | None = None) -> PolicyConfig:
    data = shipped_data()
    sc = data["scope_classification"]
    if drop_below is not None:
        sc["semantic"]["drop_below"] = drop_below
    if call_at_by_id is not None:
        sc["call_at_by_id"] = call_at_by_id
    return PolicyConfig.model_validate(data)


@pytest.fixture(scope="module")
def prepared():
    """The tickets' votes, word model and emergency reading, once (they do not depend on either setting)."""
    return prepared_cases(_policy(), [*WEAK, PLATFORM])


def _calls(prepared, policy: PolicyConfig) -> dict[tuple[str, str], str]:
    con, reading = prepared
    return {(r[0], r[1]): r[4] for r in con.execute(scope_hits_sql(
        policy, reading, matched=matched_texts(con, policy))).fetchall()}


def test_a_held_call_on_a_weak_vote_is_no_call(prepared):
    off = _calls(prepared, _policy(drop_below=0.0, call_at_by_id={}))
    assert {k: off.get(k) for k in [*EXPECTED, KEPT]} == dict.fromkeys([*EXPECTED, KEPT], "needs review")
    on = _calls(prepared, _policy(drop_below=0.1, call_at_by_id={}))
    assert not EXPECTED & set(on)
    assert on[KEPT] == "needs review"
    # nothing else changes
    assert {k: v for k, v in off.items() if k not in EXPECTED} == on
    # the shipped policy drops them too
    assert not EXPECTED & set(_calls(prepared, _policy()))


def _confidence(prepared, policy: PolicyConfig, key: tuple[str, str]) -> float:
    con, reading = prepared
    return {(r[0], r[1]): r[2] for r in con.execute(scope_hits_sql(
        policy, reading, matched=matched_texts(con, policy))).fetchall()}[key]


def test_an_ids_own_call_threshold(prepared):
    # Where the word model puts r4 moves with each refit (0.45 on a bank of 18 batches), so the
    # thresholds are set around the confidence it has now: the id's own threshold decides the call
    # on either side of it, in place of min_confidence.
    key = ("r4", "platform_implementation")
    confidence = _confidence(prepared, _policy(call_at_by_id={"platform_implementation": 0.05}), key)
    below, above = round(confidence - 0.01, 3), round(confidence + 0.01, 3)
    assert key not in _calls(prepared, _policy(call_at_by_id={"platform_implementation": above}))
    assert _calls(prepared, _policy(call_at_by_id={"platform_implementation": below}))[key] == "needs review"
    with pytest.raises(Exception, match="unknown scope exclusion id"):
        _policy(call_at_by_id={"platform_implementations": 0.4})
