"""Round 9 (docs/classification.md): mechanisms measured leave-one-batch-out, tested on tickets of our own."""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.test_classify import SHIPPED, _bank_of, _t, _variant, classify


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy(SHIPPED)


# Two strong procurement rules at once (source and buy a number of laptops, order them): 0.98.
STRONG = ("Kit for the new team", "Can you source and buy 12 new laptops for us, please supply a quote "
                                  "and order them.")
# One procurement rule (order laptops and docks): 0.8.
MODERATE = ("Laptops for the new team", "Please order six laptops and six docking stations for the new "
                                        "team and have them delivered.")


def _states(policy: PolicyConfig, tickets, bank) -> dict[tuple[str, str], tuple[float, str, str]]:
    """(ticket, scope id) -> (confidence, evidence, call state)."""
    rows: list[tuple] = []
    classify(policy, tickets, bank, scope_rows=rows)
    return {(t, sid): (c, ev, st) for t, sid, c, ev, st in rows}


def _disagreeing(policy: PolicyConfig):
    """A bank whose exemplars are the same texts, labelled standard support (the vote disagrees)."""
    return _bank_of(policy, [("N1", " . ".join(STRONG), set(), False),
                             ("N2", " . ".join(MODERATE), set(), False)])


# Classifies under a policy or bank of its own (several seconds): `make test` runs it.
@pytest.mark.slow
def test_strong_rules_are_not_held_by_a_disagreeing_vote(policy):
    tickets = [_t("s1", *STRONG), _t("m1", *MODERATE)]
    bank = _disagreeing(policy)
    # The neighbours' vote alone: the word model (on since round 13) is a vote too (as_vote) and
    # reads both orders as procurement, so it holds neither (checked at the end).
    shipped = policy
    # The hold itself, not round 14's drop of a held call on a weak vote (semantic.drop_below 0).
    policy = _variant(lambda d: (d["scope_classification"]["word_model"].update(enabled=False),
                                 d["scope_classification"]["semantic"].update(drop_below=0.0)))
    old = _variant(lambda d: (d["scope_classification"]["semantic"].update(hold_below=1.0, drop_below=0.0),
                              d["scope_classification"]["word_model"].update(enabled=False)))
    before = _states(old, tickets, bank)
    assert before[("s1", "procurement")][2] == "needs review", before  # rounds 6-8: held
    after = _states(policy, tickets, bank)
    confidence, evidence, state = after[("s1", "procurement")]
    assert confidence >= policy.scope_classification.semantic.hold_below, after
    assert confidence == before[("s1", "procurement")][0]  # the call itself is unchanged
    assert state == "confident" and "disagrees" not in evidence, after
    # a single rule the neighbours disagree with still waits for a reviewer
    confidence, evidence, state = after[("m1", "procurement")]
    assert confidence < policy.scope_classification.semantic.hold_below
    assert state == "needs review" and "semantic vote disagrees (needs review)" in evidence, after
    words = _states(shipped, tickets, bank)
    assert not any("disagrees" in words[(t, "procurement")][1] for t in ("s1", "m1")), words


@pytest.mark.parametrize("value", [0.0, 1.5])
def test_the_strong_rule_threshold_is_validated(value):
    accepted = _variant(lambda d: d["scope_classification"]["semantic"].update(hold_below=0.95))
    assert accepted.scope_classification.semantic.hold_below == 0.95
    with pytest.raises(ValueError, match=r"hold_below\n.*(greater|less) than"):
        _variant(lambda d: d["scope_classification"]["semantic"].update(hold_below=value))


# No rule word fires on either text; the exemplar is near (cosine about 0.79), not a near-duplicate.
BANKED = ("Henderson kit for the Leeds lot", "Same Henderson kit as last spring for the Leeds lot please")
ASKED = ("Henderson gear for the Leeds team", "Same Henderson gear as last spring for the Leeds team please")


# Classifies under a policy or bank of its own (several seconds): `make test` runs it.
@pytest.mark.slow
def test_a_fairly_near_neighbour_votes_fully(policy):
    from logic.embeddings import embed

    sv = policy.scope_classification.semantic
    vectors = embed(policy, [" . ".join(BANKED), " . ".join(ASKED)])
    similarity = float(vectors[0] @ vectors[1])
    assert sv.full_similarity <= similarity < 0.85, similarity  # between round 9's scale and the old one
    bank = _bank_of(policy, [("X1", " . ".join(BANKED), {"procurement"}, False)])
    old = _variant(lambda d: d["scope_classification"]["semantic"].update(full_similarity=0.85))
    assert "procurement" not in classify(old, [_t("n1", *ASKED)], bank)[0]["n1"]  # vote 0.88 x 0.5: no call
    states = _states(policy, [_t("n1", *ASKED)], bank)
    confidence, evidence, state = states[("n1", "procurement")]
    # a full vote alone is a call at the threshold, for a reviewer: never confident on its own
    assert confidence == pytest.approx(sv.scope_weight) and state == "needs review", states
    assert 'semantic vote 1.00: like ticket X1' in evidence


def test_the_vote_thresholds_are_on_the_vote_s_scale(policy):
    # The vote is share x strength; strength is rescaled by full_similarity, so are the thresholds
    # on it (the same share of neighbours): 0.15 and 0.3 on the old scale of 0.35-0.85.
    sv = policy.scope_classification.semantic
    scale = (0.85 - sv.min_similarity) / (sv.full_similarity - sv.min_similarity)
    assert sv.veto_below == pytest.approx(0.15 * scale, abs=0.01)
    assert sv.emergency_review_below == pytest.approx(0.15 * scale, abs=0.01)
    assert policy.emergency.planned_work.min_vote == pytest.approx(0.3 * scale, abs=0.01)
