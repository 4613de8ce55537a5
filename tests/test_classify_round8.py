"""Round 8 (docs/classification.md): mechanisms measured leave-one-batch-out, tested on tickets of our own."""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.test_classify import SHIPPED, _bank_of, _t, _variant, classify


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy(SHIPPED)


# The outage rules read this as a core system down for many users (affected_users from the field).
OUTAGE = ("Booking system", "The booking system is down and unavailable for everyone in the office.")


def _neighbours(policy: PolicyConfig, emergency: bool):
    """A bank whose one exemplar is the same text, labelled an emergency or not."""
    return _bank_of(policy, [("N1", " . ".join(OUTAGE), set(), emergency)])


UNDECLARED = _t("u1", *OUTAGE, affected=20)
DECLARED = _t("d1", *OUTAGE, affected=20, declared=True)


@pytest.fixture(scope="module")
def disagreeing(policy: PolicyConfig) -> dict:
    """The emergency calls of UNDECLARED and DECLARED under the shipped policy, their one
    neighbour labelled no emergency: one classification (the rule SQL again, 1-2 s), each ticket's
    call reading its own text and fields."""
    return classify(policy, [UNDECLARED, DECLARED], _neighbours(policy, False))[1]


# Classifies under a policy or bank of its own (several seconds): `make test` runs it.
@pytest.mark.slow
def test_an_undeclared_rules_only_emergency_the_neighbours_disagree_with_is_held(policy, disagreeing):
    tickets = [UNDECLARED]
    bank = _neighbours(policy, False)
    off = _variant(lambda d: d["scope_classification"]["semantic"].update(emergency_review_below=0.0))
    _, before = classify(off, tickets, bank)
    assert before["u1"][0] and before["u1"][3] == "confident", before  # old: confident, billed
    after = disagreeing
    qualifies, confidence, evidence, state = after["u1"]
    # still a call at the same confidence (recall unchanged), but a reviewer decides
    assert qualifies and confidence == before["u1"][1], after
    assert state == "needs review", after
    assert "not declared and the semantic vote disagrees (needs review)" in evidence


# Classifies under a policy or bank of its own (several seconds): `make test` runs it.
@pytest.mark.slow
def test_a_declared_or_agreed_emergency_stays_confident(policy, disagreeing):
    em = disagreeing
    assert em["d1"][0] and em["d1"][3] == "confident", em  # the client's word is the second signal
    agreed = [_t("a1", *OUTAGE, affected=20)]
    _, em = classify(policy, agreed, _neighbours(policy, True))
    assert em["a1"][0] and em["a1"][3] == "confident", em
    assert "needs review" not in em["a1"][2]


def test_the_hold_threshold_is_validated():
    with pytest.raises(ValueError, match="emergency_review_below"):
        _variant(lambda d: d["scope_classification"]["semantic"].update(emergency_review_below=1.5))


ADVICE = {
    "q1": ("Printer for the office", "What printer model would you recommend for a small office? "
                                     "Budget is about 300 each."),
    "q2": ("Monitor opinion", "What monitor would you recommend for long spreadsheets? Just an opinion, "
                              "thanks."),
}
ASKED_TO_BUY = ("New laptops", "Please order five laptops for the new starters and have them delivered "
                               "to the office.")


def shipped_cases() -> dict[str, list]:
    """The tickets below, classified under the shipped policy with the other modules' (conftest's
    `shipped_calls`: a ticket's call reads its own text only, and each classification prepares
    the rule SQL again, about a second)."""
    return {"advice": [_t(tid, *texts) for tid, texts in {**ADVICE, "b1": ASKED_TO_BUY}.items()]}


@pytest.fixture(scope="module")
def shipped(shipped_calls) -> dict:
    """The scope calls of the tickets below under the shipped policy."""
    return shipped_calls.of(__name__)("advice")[0]


@pytest.mark.parametrize("tid", sorted(ADVICE))
def test_asking_which_model_to_buy_is_advice_not_procurement(shipped, tid):
    # Procurement is the provider sourcing and buying; a recommendation is a question.
    assert "procurement" not in shipped[tid], (ADVICE[tid], shipped[tid])


def test_asking_the_provider_to_buy_is_still_procurement(shipped):
    assert "procurement" in shipped["b1"], shipped["b1"]
