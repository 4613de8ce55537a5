"""evaluation/held_drop.py: dropping held scope calls, the rules chosen on other batches."""

from __future__ import annotations

import pandas as pd

from evaluation.held_drop import batch_figures, best_threshold, by_bar, dropped, macro_f1, one, per_id, todays


def _held(scope_id: str, calls: int, right: int, vote: float = 0.05) -> pd.DataFrame:
    return pd.DataFrame({"scope_id": scope_id, "right": [i < right for i in range(calls)], "vote": vote,
                         "held": True, "kind": "scope", "batch": "batch-01"})


def test_an_id_is_dropped_only_when_its_held_calls_were_rarely_right_and_there_were_enough() -> None:
    held = pd.concat([_held("onsite", 30, 3), _held("procurement", 30, 15), _held("custom_software", 10, 0)])
    assert by_bar(0.25, 0.1)(held) == {"onsite": 1.0}
    assert by_bar(0.05, 0.1)(held) == {}


def test_a_threshold_pays_only_when_the_wrong_calls_removed_outweigh_cost_times_the_right_lost() -> None:
    # below 0.05: 20 wrong, 2 right (gain 20 - 4 x 2 = 12); 0.05-0.125: 4 wrong, 2 right (gain -4)
    held = pd.concat([_held("onsite", 22, 2, vote=0.02), _held("onsite", 6, 2, vote=0.11)])
    assert best_threshold(held, 0.0) == 0.05
    assert per_id(0.0)(held) == {"onsite": 0.05}
    assert best_threshold(held, 0.05) == 0.05  # nothing above today's pays: keep it
    assert set(one(0.0)(held).values()) == {0.05}


def test_todays_drop_applies_only_to_batches_first_seen_before_it_was_on() -> None:
    calls = pd.concat([_held("onsite", 2, 0, vote=0.02).assign(batch=b) for b in ("batch-18", "batch-19")])
    assert list(todays(calls, 0.1)) == [True, True, False, False]
    assert list(dropped(calls, {"onsite": 0.01}, 0.0)) == [False] * 4


def test_macro_f1_counts_every_call_against_the_batch_truth() -> None:
    scope = pd.DataFrame({"scope_id": ["onsite", "onsite", "procurement"], "right": [True, False, True]})
    truth = {"T1": frozenset({"onsite"}), "T2": frozenset(), "T3": frozenset({"procurement", "onsite"})}
    f1, hit, positives = macro_f1(scope, truth)
    # onsite tp 1 fp 1 fn 1 -> 0.5; procurement tp 1 -> 1.0
    assert (round(f1, 6), hit, positives) == (0.75, 2, 3)


def test_a_dropped_call_takes_its_ticket_out_of_the_queue_only_when_it_was_its_last_unsure_call() -> None:
    calls = pd.DataFrame({
        "ticket_id": ["T1", "T2", "T2", "T3"], "kind": "scope",
        "scope_id": ["onsite", "onsite", "procurement", "procurement"],
        "held": [True, True, False, False], "calibrated": [0.9, 0.9, 0.5, 0.95],
        "right": [False, True, True, True], "vote": [0.05, 0.05, 0.5, 0.5]})
    truth = {"T1": frozenset(), "T2": frozenset({"onsite", "procurement"}), "T3": frozenset({"procurement"})}
    none = batch_figures(calls, pd.Series(False, index=calls.index), 3, truth, 0.8, 0.85)
    drop = dropped(calls, {"onsite": 0.1}, 0.0)
    after = batch_figures(calls, drop, 3, truth, 0.8, 0.85)
    assert (none["queue tickets"], after["queue tickets"]) == (2, 1)
    assert (after["dropped"], after["right lost"], after["wrong removed"]) == (2, 1, 1)
    # onsite: tp 1 fp 1 fn 0 -> 0.667, procurement 1.0; after: onsite tp 0 fn 1 -> 0
    assert after["held left"] == 0
    assert (round(none["macro-F1"], 3), after["macro-F1"]) == (0.833, 0.5)
