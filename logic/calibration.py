"""A call's calibrated confidence: the raw confidence and its semantic vote through a fitted map.

The map (`scope_classification.call_states.calibration`, fitted by `python -m evaluation.calibrate`
on the first-seen calls of the blind batches) says how often calls like it were right on text nobody
had seen. Its input is 1 - (1 - raw) x (1 - vote_weight x vote): monotone in both, so a higher raw
confidence or a stronger vote is never a lower calibrated confidence. The thresholds
`*_confident_at` apply to the result, and the marts (so the client report and the finance export)
show it; the call itself (which ids, emergency or not) still comes from the raw confidence. Round 15:
an emergency call held for review because its vote disagrees shows the share of such calls that
were right (they were right about half the time first seen, whatever their raw confidence).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from policy.classifiers import ConfidenceMap
from policy.config import PolicyConfig

Kind = Literal["scope", "emergency"]


def confidence_map(policy: PolicyConfig, kind: Kind) -> ConfidenceMap | None:
    """The policy's map for scope or emergency calls (None: no calibration, the raw confidence stands)."""
    calibration = policy.scope_classification.call_states.calibration
    return None if calibration is None else getattr(calibration, kind)


def calibrated_sql(raw: str, vote: str, cmap: ConfidenceMap | None, held: str | None = None) -> str:
    """SQL for the calibrated confidence of a call with raw confidence `raw` and semantic vote `vote`
    (SQL expressions; the vote 0 where the text was not embedded). `held`: a boolean expression, the
    call held for review by a disagreeing vote; such a call shows the map's `held` share (when it
    has one)."""
    if cmap is None:
        return raw
    if held is not None and cmap.held is not None:
        return f"(CASE WHEN {held} THEN {cmap.held!r} ELSE {calibrated_sql(raw, vote, cmap)} END)"
    x = f"(1 - (1 - {raw}) * (1 - {cmap.vote_weight!r} * coalesce({vote}, 0)))" if cmap.vote_weight else raw
    knots = list(zip(cmap.raw, cmap.calibrated, strict=True))
    cases = [f"WHEN {x} <= {knots[0][0]!r} THEN {knots[0][1]!r}"]
    for (r0, c0), (r1, c1) in zip(knots, knots[1:], strict=False):
        cases.append(f"WHEN {x} <= {r1!r} THEN {c0!r} + ({x} - {r0!r}) * {(c1 - c0) / (r1 - r0)!r}")
    return f"(CASE {' '.join(cases)} ELSE {knots[-1][1]!r} END)"


def map_input(raw: np.ndarray | list[float], vote: np.ndarray | list[float],
              vote_weight: float) -> np.ndarray:
    """The map's input: the raw confidence and the weighted vote as a noisy-or."""
    return 1 - (1 - np.asarray(raw, dtype=float)) * (1 - vote_weight * np.nan_to_num(np.asarray(vote, float)))


def calibrate(raw: np.ndarray | list[float], vote: np.ndarray | list[float],
              cmap: ConfidenceMap | None, held: np.ndarray | list[bool] | None = None) -> np.ndarray:
    """The same map in numpy (evaluation and fitting)."""
    if cmap is None:
        return np.asarray(raw, dtype=float)
    shown = np.interp(map_input(raw, vote, cmap.vote_weight), cmap.raw, cmap.calibrated)
    if held is not None and cmap.held is not None:
        shown = np.where(np.asarray(held, dtype=bool), cmap.held, shown)
    return shown
