"""evaluation/map_per_id.py: the calibration map per id, group or signal pattern, scored out of batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.calibrate import calibrated_by, fit_kind
from evaluation.map_per_id import VARIANTS, held_out, minutes_logged, pattern, recalibrated_map, recalibration


def _calls() -> pd.DataFrame:
    """Three batches; onsite calls at raw 0.6 were right 9 of 10, procurement's 5 of 10; both right
    at 0.95. Twenty emergency calls per batch."""
    rows = []
    for b in range(3):
        for scope_id, right_low in (("onsite", 9), ("procurement", 5)):
            for i in range(20):
                raw = 0.6 if i < 10 else 0.95
                right = i < right_low if i < 10 else True
                rows.append((f"batch-0{b + 1}", f"T{b}{scope_id[0]}{i}", "scope", scope_id, raw, right))
        rows += [(f"batch-0{b + 1}", f"E{b}{i}", "emergency", None, 0.6 if i < 10 else 0.9,
                  i % 2 == 0 or i >= 10) for i in range(20)]
    frame = pd.DataFrame(rows, columns=["batch", "ticket_id", "kind", "scope_id", "raw_confidence", "right"])
    return frame.assign(vote=0.0, other_vote=0.0, held=False, rules=True)


def test_the_signal_pattern_of_a_call() -> None:
    calls = pd.DataFrame({"held": [True, False, False, False], "vote": [0.9, 0.0, 0.3, 0.6],
                          "other_vote": [0.0, 0.2, 0.5, 0.1]})
    assert list(pattern(calls)) == ["held", "no vote", "contested", "agrees"]


def test_a_recalibration_lifts_an_id_whose_calls_were_right_more_often_than_the_map_said() -> None:
    p = np.full(200, 0.7)
    a, b = recalibration(p, (np.arange(200) < 190).astype(float))  # right 0.95 at 0.7
    whole = fit_kind(_calls()[lambda c: c["kind"] == "scope"])
    lifted = recalibrated_map(whole, a, b)
    assert a > 0 and b > 0
    assert lifted.raw == whole.raw and all(x >= y for x, y in zip(lifted.calibrated, whole.calibrated,
                                                                   strict=True))
    a, b = recalibration(p, (np.arange(200) < 140).astype(float))  # right 0.7 at 0.7: the identity
    assert abs(a) < 1e-6 and abs(b - 1) < 1e-6


def test_every_call_is_mapped_once_per_variant_and_the_one_map_is_todays() -> None:
    calls = _calls()
    mapped = held_out(calls)
    assert len(mapped) == len(calls) * len(VARIANTS)
    assert mapped["calibrated"].notna().all()
    one = mapped[mapped["variant"] == "one map"].reset_index(drop=True)
    expected = pd.concat([calibrated_by(own, calls[calls["batch"] != batch])
                          for batch, own in calls.groupby("batch", sort=True)]).reset_index(drop=True)
    assert np.allclose(one["calibrated"], expected)
    # a map per id tells the two ids' raw 0.6 calls apart; the one map cannot
    per_id = mapped[(mapped["variant"] == "map per id") & (mapped["raw_confidence"] == 0.6)]
    low = per_id.groupby("scope_id")["calibrated"].mean()
    assert low["onsite"] > low["procurement"] + 0.2
    assert one[one["raw_confidence"] == 0.6].groupby("scope_id")["calibrated"].nunique().max() == 1


def test_minutes_logged_sums_a_tickets_entries(tmp_path: Path) -> None:
    pd.DataFrame({"ticket_id": ["A", "B", "C"],
                  "time_entries": ["remote:90:notes;onsite:30", None, "remote:15"]}).to_csv(
        tmp_path / "batch-01.csv", index=False)
    got = minutes_logged(["batch-01"], tmp_path)
    assert dict(zip(got["ticket_id"], got["minutes"], strict=True)) == {"A": 120, "B": 0, "C": 15}
