"""The forward-chaining harness's fold arithmetic (evaluation/forward_chain.py)."""

from evaluation.forward_chain import Fold, bank_batches, later, parse_folds, table
from policy.config import default_policy


def test_folds_are_parsed_as_ranges_and_lists():
    assert parse_folds("27-32") == [27, 28, 29, 30, 31, 32]
    assert parse_folds("23,25,27-28") == [23, 25, 27, 28]


def test_fold_k_takes_batch_k_and_every_later_batch_out_of_the_bank():
    policy = default_policy()
    banked = bank_batches(policy)
    out = later(policy, 27)
    assert out and all(int(f.stem.split("-")[1]) >= 27 for f in out)
    assert [f for f in banked if f not in out] == [f for f in banked if int(f.stem.split("-")[1]) < 27]


def test_pooled_figures_are_counted_over_the_folds_not_averaged():
    folds = [Fold("batch-01", None, 9, 1, 1, []), Fold("batch-02", None, 1, 0, 9, [])]
    pooled = table(folds).iloc[-1]
    assert (pooled["found"], pooled["false"], pooled["missed"]) == (10, 1, 10)
    assert pooled["P"] == "0.909" and pooled["R"] == "0.500"
