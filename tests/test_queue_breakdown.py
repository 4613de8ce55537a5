"""evaluation/queue_breakdown.py: each call in review has one mechanism; the figures and state rules."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.queue_breakdown import (
    BELOW,
    EM_BELOW,
    EM_HELD,
    HELD,
    WEAK,
    decomposition,
    emergency_at,
    figures,
    macro_f1,
    mechanism,
    weak_none,
    with_setting,
)
from policy.config import default_policy


def _calls(rows: list[tuple]) -> pd.DataFrame:
    """(batch, ticket, kind, scope id, raw, calibrated, held, state, right, minutes)."""
    frame = pd.DataFrame(rows, columns=["batch", "ticket_id", "kind", "scope_id", "raw", "calibrated",
                                        "held", "state", "right", "minutes"])
    return frame.assign(setting="today", declared=False).astype({"held": bool, "right": bool})


CALLS = _calls([
    ("b1", "T1", "scope", "onsite", 0.95, 0.93, False, "confident", True, 60),
    ("b1", "T1", "scope", "procurement", 0.7, 0.64, True, "needs review", False, 60),
    ("b1", "T2", "scope", "structured_project", 0.46, 0.40, False, "needs review", False, 30),
    ("b1", "T3", "scope", "custom_software", 0.8, 0.67, False, "needs review", True, 90),
    ("b1", "T4", "emergency", "", 0.9, 0.9, True, "needs review", True, 15),
    ("b1", "T5", "emergency", "", 0.9, 0.826, False, "needs review", True, 15),
])
TRUTH = pd.DataFrame({"batch": "b1", "ticket_id": ["T1", "T2", "T3", "T4", "T5", "T6"],
                      "true_scope": [frozenset({"onsite"}), frozenset(), frozenset({"custom_software"}),
                                     frozenset(), frozenset(), frozenset({"onsite"})]})


def test_each_call_in_review_has_one_mechanism() -> None:
    assert list(mechanism(CALLS, default_policy())) == ["confident", HELD, WEAK, BELOW, EM_HELD, EM_BELOW]


def test_the_decomposition_counts_right_wrong_minutes_and_tickets() -> None:
    table = decomposition(CALLS, default_policy()).set_index("mechanism")
    assert table.loc[HELD, ["calls", "right", "wrong", "minutes wrong", "tickets with it alone"]].tolist() \
        == [1, 0, 1, 60, 1]
    assert table.loc[BELOW, ["right", "minutes right"]].tolist() == [1, 90]
    assert table.loc["confident", "tickets with it"] == 0


def test_macro_f1_counts_a_missed_id_and_not_a_call_that_is_none() -> None:
    # onsite: 1 right, 1 missed (T6) -> 2/3; procurement 1 wrong -> 0; structured project 1 wrong -> 0;
    # custom software 1 right -> 1
    assert macro_f1(CALLS, TRUTH) == pytest.approx((2 / 3 + 0 + 0 + 1) / 4)
    without_weak = CALLS.assign(state=weak_none(CALLS, default_policy()))
    assert without_weak["state"].tolist()[2] == "none"
    assert macro_f1(without_weak, TRUTH) == pytest.approx((2 / 3 + 0 + 1) / 3)


def test_the_queue_shrinks_by_the_tickets_a_state_rule_takes_out() -> None:
    policy = default_policy()
    assert figures(CALLS, TRUTH)["queue"] == 5  # T1 (a held call beside a confident one) .. T5
    assert figures(CALLS.assign(state=weak_none(CALLS, policy)), TRUTH)["queue"] == 4
    # a held emergency call stays in review whatever its confidence; the undisputed one at 0.826 is not
    lowered = CALLS.assign(state=emergency_at(0.82)(CALLS, policy))
    assert lowered["state"].tolist()[4:] == ["needs review", "confident"]
    assert figures(lowered, TRUTH)["confident emergency P"] == "1.0000 (0 of 1)"


def test_a_setting_changes_only_what_it_names() -> None:
    policy = default_policy()
    variant = with_setting(policy, {"drop_below": 0.05, "call_at_by_id": {"onsite": 0.4}})
    assert variant.scope_classification.semantic.drop_below == 0.05
    assert variant.scope_classification.call_at_by_id == {"onsite": 0.4}
    assert variant.scope_classification.semantic.veto_below == policy.scope_classification.semantic.veto_below
    assert policy.scope_classification.semantic.drop_below != 0.05  # the policy itself is untouched
