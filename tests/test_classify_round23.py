"""Round 23 (docs/classification.md, "Round 23: the review queue"): a held scope call is no call
(semantic.drop_below = veto_below), and an undisputed emergency call on the map's 0.826 step is
confident (emergency_confident_at 0.82)."""

import pytest

from logic.calibration import calibrate, confidence_map
from policy.config import PolicyConfig, default_policy
from tests.test_classify import shipped_data
from tests.test_classify_round14 import _calls, _policy, prepared  # noqa: F401

R3 = ("r3", "custom_implementation")  # a rule's call the word model reads at 0.23


def test_a_held_call_is_no_call_whatever_its_vote(prepared):  # noqa: F811
    semantic = default_policy().scope_classification.semantic
    assert semantic.drop_below >= semantic.veto_below  # every call the vote holds is dropped
    assert _calls(prepared, _policy())[R3] == "needs review"  # not held: the word model's 0.23

    def held_at(veto: float, drop: float) -> dict:
        data = shipped_data()
        data["scope_classification"]["semantic"].update(veto_below=veto, drop_below=drop)
        return _calls(prepared, PolicyConfig.model_validate(data))

    # held by a vote of 0.25: kept for review below it as round 14 did (drop 0.1), no call at drop = veto
    assert held_at(0.25, 0.1)[R3] == "needs review"
    assert R3 not in held_at(0.25, 0.25)


def test_an_undisputed_emergency_call_on_the_0_826_step_is_confident():
    policy = default_policy()
    cmap = confidence_map(policy, "emergency")
    at = policy.scope_classification.call_states.emergency_confident_at
    assert cmap is not None and cmap.held is not None
    step, held = calibrate([0.9, 0.9], [0.0, 0.0], cmap, [False, True])
    assert step == pytest.approx(0.826, abs=1e-3) and step >= at  # right 18 of 20 first seen, batch-31..36
    assert held < at  # a held call stays in review
