"""Round 28 (issue 19; docs/classification.md, "Round 28: the learned hold without a cliff"): the
learned emergency signal's hold grows smoothly with p. Below `hold_below` a call is multiplied by
`hold_factor`; from hold_below to `hold_full` the factor rises linearly to 1; above, no hold."""

import re

import duckdb
import pytest

from evaluation.datasets import fit_emergency_model_on_files
from logic.emergency import _hold
from policy.config import PolicyConfig, default_policy
from tests.test_emergency_model import ROWS, _policy, _reading, _write

# Declared false alarms: the supplier's own newsletter, labelled not an emergency, so the fitted
# signal reads a low p on a declared "clicked the link" text the rules call.
NEWSLETTER = [(f"D{i}", "Suspicious email", f"Clicked the link in the supplier newsletter {i},"
               " it was their real newsletter", "Email", 1, True, False) for i in range(4)]
TEXT = ("Suspicious newsletter", "I got a suspicious email and clicked the link, the supplier newsletter",
        True, "Email")


def _factors(policy: PolicyConfig, ps: list[float]) -> list[float]:
    """The hold's factor at each p under `policy` (1 where p is at or above where the hold ends)."""
    end, factor, _shown = _hold(policy)
    rows = duckdb.connect().execute(f"SELECT CASE WHEN p >= {end} THEN 1.0 ELSE {factor} END"
                                    " FROM unnest(?::DOUBLE[]) AS m(p)", [ps]).fetchall()
    return [r[0] for r in rows]


def _factor(policy: PolicyConfig, p: float) -> float:
    return _factors(policy, [p])[0]


def test_the_shipped_hold_has_no_cliff_in_p():
    policy = default_policy()
    lm = policy.emergency.learned_model
    assert (lm.hold_below, lm.hold_full, lm.hold_factor) == (0.1, 0.2, 0.5)
    # hold_factor below hold_below (as the step held), then linearly to 1 at hold_full ...
    assert _factor(policy, 0.0) == _factor(policy, 0.099) == 0.5
    assert _factor(policy, 0.15) == pytest.approx(0.75)
    assert _factor(policy, 0.2) == 1.0
    # ... so a refit moving p by 0.01 anywhere moves the factor by 0.05 at most (the step: 0.5).
    grid = [i / 1000 for i in range(0, 300)]
    factors = _factors(policy, grid)
    assert max(abs(b - a) for a, b in zip(factors, factors[1:], strict=False)) <= 0.005 + 1e-9
    assert factors == sorted(factors)


def test_without_hold_full_the_hold_is_the_step():
    shipped = default_policy()
    lm = shipped.emergency.learned_model
    step = shipped.model_copy(update={"emergency": shipped.emergency.model_copy(update={
        "learned_model": lm.model_copy(update={"hold_full": None})})})
    assert _factor(step, 0.099) == 0.5 and _factor(step, 0.1) == 1.0
    assert _hold(step)[2] == "' (x0.5)'"


def test_a_held_call_is_multiplied_by_the_factor_at_its_p(tmp_path):
    data = _write(tmp_path / "declared.csv", [*ROWS, *NEWSLETTER])
    model = fit_emergency_model_on_files(_policy(data), [data])
    before = _reading(_policy(data, enabled=False), None, *TEXT)
    assert before[0], before

    def ramp(full: float) -> tuple[float, float, float]:
        """(p as the evidence names it, the factor it names, the factor the reading shows)."""
        reading = _reading(_policy(data, hold_below=0.0, hold_full=full), model, *TEXT)
        read = re.search(r"emergency model (0\.\d\d) disagrees .*\(x(0\.\d+)\)", reading[2])
        assert read, reading[2]
        return float(read[1]), float(read[2]), reading[1] / before[1]

    # The signal reads the text low (p 0.01 as shown); with the ramp ending at 0.02, then at 0.04,
    # the factor is 0.5 + 0.5 p / hold_full: both readings imply the same p, the one the evidence names.
    (p, shown, near), (_, _, far) = ramp(0.02), ramp(0.04)
    implied = [(near - 0.5) * 2 * 0.02, (far - 0.5) * 2 * 0.04]
    assert implied[0] == pytest.approx(implied[1], abs=1e-3), implied
    assert abs(implied[0] - p) <= 0.005 and shown == pytest.approx(near, abs=0.006), (implied, p, shown)
    assert 0.5 < far < near < 1
    # Where p is below hold_below the factor is hold_factor, as the step's ...
    low = _reading(_policy(data, hold_below=0.5, hold_full=0.99), model, *TEXT)
    assert low[1] == pytest.approx(before[1] * 0.5, abs=2e-3) and "(x0.5)" in low[2], low
    # ... and where p reaches hold_full there is no hold (p >= 0.005: shown as 0.01).
    free = _reading(_policy(data, hold_below=0.001, hold_full=0.002), model, *TEXT)
    assert free[1] == pytest.approx(before[1], abs=2e-3) and "disagrees" not in free[2], free


def test_hold_full_is_validated(tmp_path):
    data = _write(tmp_path / "labelled.csv")
    with pytest.raises(Exception, match="hold_full: must be above hold_below"):
        _policy(data, hold_below=0.2, hold_full=0.2)
    with pytest.raises(Exception, match="hold_full"):
        _policy(data, hold_full=1.5)
    assert _policy(data, hold_below=0.1, hold_full=None).emergency.learned_model.hold_full is None
