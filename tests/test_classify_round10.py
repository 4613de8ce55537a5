"""Round 10 (docs/classification.md): mechanisms measured leave-one-batch-out, tested on our own tickets."""

import pytest

from policy.config import PolicyConfig
from tests.test_classify import _bank_of, _t, _variant, classify, without_emergency_signal


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    # Round 10's vote on its own: the learned emergency signal (round 13) holds these made-up texts.
    return _variant(without_emergency_signal)


# No emergency rule reads this text; its neighbours do: three of four near-duplicates were
# emergencies, so the vote is about 0.75 (0.45 at the vote's usual weight 0.6, 0.525 at 0.7).
TEXT = ("Quince ledger oddity", "The quince ledger for Arbroath looked different this morning.")
BANK_ROWS = [("Q1", "Quince ledger oddity . The quince ledger for Arbroath looked different this morning.",
              set(), True),
             ("Q2", "Quince ledger oddity . The quince ledger for Arbroath looked different this week.",
              set(), True),
             ("Q3", "Quince ledger oddity . The quince ledger at Arbroath looked different this morning.",
              set(), True),
             ("Q4", "Quince ledger oddity . The quince ledger for Arbroath looks different this morning.",
              set(), False)]


# Classifies under a policy or bank of its own (several seconds): `make test` runs it.
@pytest.mark.slow
def test_the_vote_weighs_more_where_security_incidents_are_reported(policy):
    sr = policy.emergency.security_reading
    assert "email" in sr.categories and sr.vote_weight > policy.scope_classification.semantic.emergency_weight
    bank = _bank_of(policy, BANK_ROWS)
    tickets = [_t("mail", *TEXT, category=" EMAIL "), _t("kit", *TEXT, category="Hardware")]
    off = _variant(lambda d: (without_emergency_signal(d),
                              d["emergency"]["security_reading"].update(categories=[])))
    _, before = classify(off, tickets, bank)
    assert not before["mail"][0] and not before["kit"][0], before  # round 9: no call on either
    assert before["mail"][1] == before["kit"][1]
    _, after = classify(policy, tickets, bank)
    qualifies, confidence, evidence, state = after["mail"]
    assert qualifies and state == "needs review", after  # 0.5-0.8: a reviewer decides
    assert confidence > before["mail"][1]
    assert "a security category" in evidence, evidence
    assert after["kit"] == before["kit"], after  # other categories: unchanged


def test_the_security_categories_are_read_like_priority_values():
    variant = _variant(lambda d: d["emergency"]["security_reading"].update(
        categories=[" Security ", "E-mail", "security", ""]))
    assert variant.emergency.security_reading.categories == ["e-mail", "security"]
    with pytest.raises(ValueError, match=r"vote_weight"):
        _variant(lambda d: d["emergency"]["security_reading"].update(vote_weight=1.5))
