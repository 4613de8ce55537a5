"""The built-in exemplars' shortlists taken once per run (logic/shortlists.py) give every month the
votes of its whole bank: the same neighbours, the same equals in bank order, the same bits."""

import numpy as np
import pytest

import logic.shortlists as shortlists
from logic.embeddings import embed
from logic.nearest import run_cones
from logic.semantic import ExemplarBank, builtin_bank, votes
from logic.shortlists import builtin_shortlists, merge, split_bank
from policy.config import default_policy
from policy.paths import PROJECT_ROOT
from tests.vote_fixtures import bank_and_texts


@pytest.fixture(scope="module")
def policy():
    return default_policy(PROJECT_ROOT / "config" / "policy.yaml")


def _month(large: ExemplarBank, builtin: int, reviews: int) -> ExemplarBank:
    """The built-in exemplars and the first `reviews` review decisions (a month's bank)."""
    stop = builtin + reviews
    return ExemplarBank(large.ids[:stop], large.texts[:stop], large.described[:stop], large.sources[:stop],
                        large.labels[:stop], large.weights[:stop])


def _split_blocks(monkeypatch) -> list[int]:
    """The rows of each block voted with the held shortlists."""
    rows: list[int] = []
    top = shortlists.SplitBank.top

    def counted(self, block, held_rows):  # type: ignore[no-untyped-def]
        rows.append(len(block))
        return top(self, block, held_rows)

    monkeypatch.setattr(shortlists.SplitBank, "top", counted)
    return rows


# No review part, a review part smaller than a shortlist (zero columns added), a wide one with the
# run's cones (kept to its vectors).
@pytest.mark.parametrize(("reviews", "with_run_cones"), [(0, False), (3, False), (2000, True)])
def test_held_built_in_shortlists_give_the_whole_banks_votes(policy, monkeypatch, reviews, with_run_cones):
    large, texts = bank_and_texts(policy, 2000, 1200)
    builtin = len(builtin_bank(policy))
    month = _month(large, builtin, reviews)
    run = run_cones(embed(policy, large.texts)) if with_run_cones else None
    # Half the texts recur in the run (held), the others are the month's own (taken per month).
    held = builtin_shortlists(policy, large.texts[:builtin], texts[::2], run)
    assert held is not None
    split = _split_blocks(monkeypatch)
    vote, best = votes(policy, texts, month, cones_of_run=run, builtin=held)
    assert sum(split) > 0
    whole_vote, whole_best = votes(policy, texts, month, cones_of_run=run)
    assert np.array_equal(vote, whole_vote) and np.array_equal(best, whole_best)


def test_a_block_whose_whole_bank_product_is_small_takes_the_whole_bank(policy, monkeypatch):
    """One text (a matrix-vector product): the whole bank as before, and the same vote."""
    large, texts = bank_and_texts(policy, 300, 10)
    builtin = len(builtin_bank(policy))
    month = _month(large, builtin, 300)
    held = builtin_shortlists(policy, large.texts[:builtin], texts)
    split = _split_blocks(monkeypatch)
    for one in texts[-3:]:
        assert np.array_equal(votes(policy, [one], month, builtin=held)[0], votes(policy, [one], month)[0])
    assert split == []


def test_a_bank_that_does_not_start_with_the_built_in_exemplars_is_not_split(policy):
    large, texts = bank_and_texts(policy, 300, 10)
    builtin = len(builtin_bank(policy))
    held = builtin_shortlists(policy, large.texts[:builtin], texts)
    short = 4 * policy.scope_classification.semantic.neighbours
    assert split_bank(policy, large.texts, held, short, None) is not None
    assert split_bank(policy, large.texts[1:], held, short, None) is None
    assert split_bank(policy, large.texts, held, short - 1, None) is None


def test_the_merge_takes_equals_in_bank_order_across_the_parts():
    """Equal similarities: the built-in exemplar (the earlier in the bank) before the review one,
    and within a part the earlier first, as one shortlist of the whole bank orders them."""
    builtin = (np.array([[4, 2, 7]]), np.array([[0.9, 0.5, 0.5]], dtype=np.float32))
    review = (np.array([[11, 10, 12]]), np.array([[0.9, 0.7, 0.5]], dtype=np.float32))
    top, top_s = merge(builtin, review, 5)
    assert top.tolist() == [[4, 11, 10, 2, 7]]
    assert top_s[0].tolist() == pytest.approx([0.9, 0.9, 0.7, 0.5, 0.5])


def test_no_recurring_text_holds_nothing(policy):
    assert builtin_shortlists(policy, builtin_bank(policy).texts, []) is None


def test_a_month_with_few_held_texts_takes_the_whole_banks_products(policy, monkeypatch):
    """Below HELD_SHARE of a month's texts held (texts that do not recur): not split, the same votes."""
    large, texts = bank_and_texts(policy, 300, 400)
    builtin = len(builtin_bank(policy))
    month = _month(large, builtin, 300)
    held = builtin_shortlists(policy, large.texts[:builtin], texts[:5])
    split = _split_blocks(monkeypatch)
    vote, best = votes(policy, texts, month, builtin=held)
    assert split == []
    whole_vote, whole_best = votes(policy, texts, month)
    assert np.array_equal(vote, whole_vote) and np.array_equal(best, whole_best)
