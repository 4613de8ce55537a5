"""evaluation/review_queue.py: the queue's reasons, the cells promoted or dropped, the queue counted."""

from __future__ import annotations

import pandas as pd

from evaluation.review_queue import decide, decomposition, queue, reasons


def _calls(rows: list[tuple]) -> pd.DataFrame:
    """(batch, ticket, kind, scope id, calibrated, vote, other vote, held, disagrees, rules, right)."""
    frame = pd.DataFrame(rows, columns=["batch", "ticket_id", "kind", "scope_id", "calibrated", "vote",
                                        "other_vote", "held", "disagrees", "rules", "right"])
    return frame.astype({"held": bool, "disagrees": bool, "rules": bool, "right": bool})


def test_each_call_not_confident_has_one_reason() -> None:
    calls = _calls([
        ("b1", "T1", "scope", "onsite", 0.9, 0.5, 0.0, False, False, True, True),
        ("b1", "T1", "scope", "procurement", 0.9, 0.0, 0.0, True, True, True, False),
        ("b1", "T2", "scope", "onsite", 0.7, 0.5, 0.0, False, False, True, True),
        ("b1", "T3", "emergency", "", 0.9, 0.1, 0.0, True, True, True, False),
        ("b1", "T4", "emergency", "", 0.7, 0.1, 0.0, False, True, True, True),
        ("b1", "T5", "emergency", "", 0.7, 0.5, 0.0, False, False, True, True)])
    assert list(reasons(calls, 0.8, 0.85)) == [
        "confident", "scope: held by a disagreeing vote", "scope: below scope_confident_at",
        "emergency: held (undeclared, vote disagrees)",
        "emergency: declared, vote disagrees, below confident_at",
        "emergency: undisputed, below emergency_confident_at"]


def test_a_cell_right_nine_times_in_ten_is_confident_and_an_id_held_wrong_is_dropped() -> None:
    # training: onsite below the bar with an agreeing vote right 30 of 30, procurement 15 of 30;
    # custom implementation's held calls right 0 of 20
    train = _calls(
        [("b1", f"O{i}", "scope", "onsite", 0.7, 0.5, 0.0, False, False, True, True) for i in range(30)]
        + [("b1", f"P{i}", "scope", "procurement", 0.7, 0.5, 0.0, False, False, True, i % 2 == 0)
           for i in range(30)]
        + [("b1", f"C{i}", "scope", "custom_implementation", 0.9, 0.0, 0.0, True, True, True, False)
           for i in range(20)])
    held = _calls([
        ("b2", "T1", "scope", "onsite", 0.7, 0.5, 0.0, False, False, True, True),
        ("b2", "T2", "scope", "procurement", 0.7, 0.5, 0.0, False, False, True, True),
        ("b2", "T3", "scope", "custom_implementation", 0.9, 0.0, 0.0, True, True, True, False),
        ("b2", "T4", "emergency", "", 0.9, 0.0, 0.0, False, False, False, True)])
    today = decide(train, held, "today", 0.8, 0.85)
    assert list(today["state"]) == ["needs review", "needs review", "needs review", "confident"]
    both = decide(train, held, "+ scope cells + drop", 0.8, 0.85)
    # the onsite cell is confident and shows its share (31/32); a vote-alone emergency call is not
    assert list(both["state"]) == ["confident", "needs review", "none", "needs review"]
    assert both["shown"].iloc[0] == 31 / 32
    scored = both.assign(variant="+ scope cells + drop")
    figures = queue(scored, {"b2": 10})
    assert (figures["queue"], figures["queue share"], figures["confident scope"]) == (2, 0.2, 1)
    assert figures["dropped (right)"] == "1 (0)"

def test_the_decomposition_counts_a_ticket_once_and_alone_only_with_one_reason() -> None:
    calls = _calls([
        ("b1", "T1", "scope", "onsite", 0.7, 0.5, 0.0, False, False, True, True),
        ("b1", "T1", "emergency", "", 0.9, 0.1, 0.0, True, True, True, False),
        ("b1", "T2", "scope", "procurement", 0.6, 0.5, 0.0, False, False, True, False)])
    scored = decide(calls, calls, "today", 0.8, 0.85).assign(variant="today")
    table = decomposition(scored).set_index("reason")
    assert table.loc["scope: below scope_confident_at", "tickets with it"] == 2
    assert table.loc["scope: below scope_confident_at", "tickets with it alone"] == 1
    assert table.loc["emergency: held (undeclared, vote disagrees)", "tickets with it alone"] == 0
