"""evaluation/band_per_id.py: the per-id threshold choice and the queue it is scored by."""

from __future__ import annotations

import pandas as pd

from evaluation.band_per_id import choose, confident, nested, score


def _calls(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["batch", "ticket_id", "kind", "scope_id", "raw_confidence",
                                        "vote", "held", "right"])
    return frame.astype({"held": bool, "right": bool})


def test_an_id_whose_lower_band_was_right_gets_a_lower_threshold_and_a_noisy_one_does_not() -> None:
    # onsite calls at 0.7 were right 10 of 10; procurement calls at 0.7 right 5 of 10
    train = pd.DataFrame(
        [("onsite", 0.7, True)] * 10 + [("onsite", 0.9, True)] * 5
        + [("procurement", 0.7, i % 2 == 0) for i in range(10)] + [("procurement", 0.9, True)] * 5,
        columns=["scope_id", "calibrated", "right"]).assign(held=False)
    at = choose(train, cost=7.0, single=0.8)
    assert at["onsite"] <= 0.7
    assert at["procurement"] == 0.8  # ties with 0.75 and 0.85 go to the single threshold


def test_the_queue_counts_tickets_with_any_call_not_confident_and_held_calls_never_confident() -> None:
    calls = pd.DataFrame({
        "ticket_id": ["T1", "T1", "T2", "T3"], "kind": ["scope", "emergency", "scope", "scope"],
        "scope_id": ["onsite", None, "procurement", "onsite"], "calibrated": [0.75, 0.9, 0.79, 0.95],
        "held": [False, False, False, True], "right": [True, True, False, True]})
    single = confident(calls, {}, 0.8, 0.85)
    per_id = confident(calls, {"onsite": 0.7}, 0.8, 0.85)
    assert list(single) == [False, True, False, False]
    assert list(per_id) == [True, True, False, False]
    assert score(calls, single, tickets=5)["queue tickets"] == 3
    assert score(calls, per_id, tickets=5) == {
        "queue calls": 2, "queue tickets": 2, "tickets": 5, "confident scope": 1,
        "wrong confident scope": 0, "wrong confident emergency": 0}


def test_nested_scores_every_batch_at_the_single_threshold_and_per_cost() -> None:
    rows = []
    for b in range(4):
        for i in range(60):
            raw = 0.5 + 0.008 * i
            rows.append((f"batch-{b}", f"B{b}-{i}", "scope", "onsite" if i % 2 else "procurement", raw,
                         0.0, False, raw > 0.7 or i % 3 == 0))
        for i in range(40):
            rows.append((f"batch-{b}", f"B{b}-E{i}", "emergency", None, 0.6 + 0.01 * i, 0.0, False, i > 10))
    calls = _calls(rows)
    out = nested(calls, {f"batch-{b}": 100 for b in range(4)}, costs=(7.0,), singles=(0.7,))
    assert len(out) == 4 * 3
    assert set(out["variant"]) == {"0.8 everywhere", "0.7 everywhere (reference)", "per id, cost 7"}
    assert (out["queue tickets"] <= out["queue calls"]).all()
