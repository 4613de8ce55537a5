"""The forward-chaining harness's fold arithmetic (evaluation/forward_chain.py)."""

import pandas as pd

from evaluation.forward_chain import (
    Fold,
    bank_batches,
    later,
    parse_folds,
    pooled_macro_f1,
    scope_detail,
    table,
)
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


def test_scope_detail_pools_counts_and_takes_the_exact_macro_f1():
    """Per-id counts are summed over the folds before F1; an id with no tp, fp or fn does not count."""
    def per(a: tuple[int, int, int], b: tuple[int, int, int]) -> pd.DataFrame:
        return pd.DataFrame([{"scope_id": "onsite", "tp": a[0], "fp": a[1], "fn": a[2]},
                             {"scope_id": "procurement", "tp": b[0], "fp": b[1], "fn": b[2]},
                             {"scope_id": "custom_software", "tp": 0, "fp": 0, "fn": 0}])
    folds = [Fold("batch-01", 0.5, 1, 0, 0, [], per((1, 2, 0), (0, 0, 1)), 10, 3, 4, 3),
             Fold("batch-02", 0.5, 1, 0, 0, [], per((2, 0, 1), (3, 1, 0)), 10, 2, 6, 6)]
    summed = pd.DataFrame([{"tp": 3, "fp": 2, "fn": 1}, {"tp": 3, "fp": 1, "fn": 1}])
    exact = (6 / 9 + 6 / 8) / 2  # 0.708333...: the summed counts, not the folds' F1 averaged
    assert pooled_macro_f1(summed) == exact
    text = scope_detail(folds)
    assert f"pooled scope macro-F1 {exact:.4f}" in text
    assert "review queue 5 of 20 (25.0%)" in text and "confident scope P 0.9000 (1 wrong of 10)" in text
