"""Fit the calibrated confidence (logic/calibration.py) on the blind batches' first-seen calls.

Per kind (scope, emergency), a monotone map from a call's raw confidence and its semantic vote to
the share of such calls that were right when first seen (evaluation/first_seen_calls.csv, rebuilt
by `python -m evaluation.first_seen`). The map's input is 1 - (1 - raw) x (1 - w x vote); for each w
of 0, 0.05, ..., 1 an isotonic regression (pool adjacent violators; blocks of fewer than MIN_CALLS
calls pooled with their neighbour; one knot per block: its mean input, its share right by the
rule of succession; linear between knots) is fitted, and the w whose fit has the highest
likelihood is kept (w = 0: the raw confidence alone). The vote counts only where something else (a
rule, the category, the time logged) read the call: a call on the vote alone has it in its raw
confidence already. For HELD_KINDS (emergency, round 15) the calls held for review by a
disagreeing vote are apart: their share right is the map's `held`, the knots are fitted on the
other calls. The knots are written into config/policy.yaml
(`scope_classification.call_states.calibration`).

    python -m evaluation.calibrate            # leave-one-batch-out check and the queue per threshold
    python -m evaluation.calibrate --write    # refit and write the knots into config/policy.yaml
    python -m evaluation.calibrate --check    # fails if config/policy.yaml's knots are not a refit's

The honest check is leave-one-first-seen-batch-out: fit on the other batches, bin the left-out
batch's calls by calibrated confidence, and compare each bin's share right with its confidence.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.evaluate import _table
from evaluation.first_seen import FIRST_SEEN, read_first_seen
from logic.calibration import calibrate, map_input
from policy.classifiers import Calibration, ConfidenceMap, FileDigest
from policy.config import PolicyConfig, default_policy
from policy.paths import PROJECT_ROOT

MIN_CALLS = 15  # a knot stands for at least this many first-seen calls
KINDS = ("scope", "emergency")
# Round 15: kinds whose held calls (the vote disagrees: needs review) get a share of their own.
# Emergency: held calls were right 30 of 65 first seen at every raw confidence, so through the
# knots they made the 0.8-0.9 band dishonest out of batch (83 of 119 right; 50 of 60 split).
HELD_KINDS = ("emergency",)
# Round 18 (calibration): with the map's `held_declared` (a choice kept in the policy, measured in
# docs/classification.md), the held share goes to every call the vote disagrees with, declared or
# not (the `disagrees` column): declared calls with a vote below emergency_review_below were right
# 0.67 first seen and through the knots made the 0.8-0.9 band 0.77 right out of batch.


def held_column(declared: bool) -> str:
    """The first-seen column that marks the calls given the held share."""
    return "disagrees" if declared else "held"


def stored_held_declared(policy: PolicyConfig | None = None) -> bool:
    """The policy's choice: does the emergency map give declared calls the held share too?"""
    stored = (policy or default_policy()).scope_classification.call_states.calibration
    return bool(stored and stored.emergency.held_declared)
BANDS = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01]
POLICY_FILE = PROJECT_ROOT / "config" / "policy.yaml"


def load_calls(path: Path = FIRST_SEEN) -> pd.DataFrame:
    """The first-seen calls, with the vote as the map reads it: only where something else (a rule,
    the category, the time logged) read the call - alone, the vote is the raw confidence already."""
    calls = read_first_seen(path)
    for column in ("right", "held", "rules", "disagrees"):
        calls[column] = calls[column].astype(str).str.lower().eq("true")
    calls["vote"] = calls["vote"].where(calls["rules"], 0.0)
    return calls


def fit_map(raw: np.ndarray, right: np.ndarray, min_calls: int = MIN_CALLS) -> ConfidenceMap:
    """Isotonic fit of `right` on `raw`: strictly increasing blocks of at least min_calls calls."""
    order = np.argsort(raw, kind="stable")
    raw, right = np.asarray(raw, float)[order], np.asarray(right, float)[order]
    blocks: list[list[float]] = []  # [sum raw, sum right, calls]; equal raw values share a block
    for x, y in zip(raw, right, strict=True):
        if blocks and blocks[-1][0] / blocks[-1][2] == x:
            blocks[-1] = [blocks[-1][0] + x, blocks[-1][1] + y, blocks[-1][2] + 1]
        else:
            blocks.append([x, y, 1.0])
        # pool while the share right does not rise (a higher confidence is never less often right)
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last, strict=True)]
    i = 0
    while len(blocks) > 1 and i < len(blocks):  # too few calls to stand alone: pool with a neighbour
        if blocks[i][2] >= min_calls:
            i += 1
            continue
        j = i + 1 if i + 1 < len(blocks) else i - 1
        lo, hi = min(i, j), max(i, j)
        blocks[lo:hi + 1] = [[a + b for a, b in zip(blocks[lo], blocks[hi], strict=True)]]
        i = 0
    # knots are stored to three decimals: two blocks whose mean confidences round alike are one knot
    i = 1
    while i < len(blocks):
        if round(blocks[i][0] / blocks[i][2], 3) == round(blocks[i - 1][0] / blocks[i - 1][2], 3):
            blocks[i - 1:i + 1] = [[a + b for a, b in zip(blocks[i - 1], blocks[i], strict=True)]]
        else:
            i += 1
    # each block's share right by the rule of succession ((right + 1) / (calls + 2)): a block whose
    # calls were all right is not shown as certain; never lower than the block below it
    shares = np.maximum.accumulate([(b[1] + 1) / (b[2] + 2) for b in blocks])
    return ConfidenceMap(raw=[round(float(b[0] / b[2]), 3) for b in blocks],
                         calibrated=[round(float(v), 3) for v in shares])


def fit_kind(calls: pd.DataFrame, held: bool = False, declared: bool = False) -> ConfidenceMap:
    """One kind's map: the vote's weight with the best likelihood, and the knots for it. With
    `held`, the held calls' share right (rule of succession) apart and the knots on the others;
    with `declared` too, every call the vote disagrees with counts as held."""
    column = held_column(declared)
    if held and calls[column].any():
        own = calls[calls[column]]
        share = round(float((own["right"].sum() + 1) / (len(own) + 2)), 3)
        return fit_kind(calls[~calls[column]]).model_copy(update={"held": share, "held_declared": declared})
    right = calls["right"].to_numpy(bool)
    best: tuple[float, ConfidenceMap] | None = None
    for w in np.round(np.arange(0, 1.001, 0.05), 2):
        cmap = fit_map(map_input(calls["raw_confidence"], calls["vote"], float(w)), right)
        cmap = ConfidenceMap(vote_weight=float(w), raw=cmap.raw, calibrated=cmap.calibrated)
        p = np.clip(calibrate(calls["raw_confidence"], calls["vote"], cmap), 1e-3, 1 - 1e-3)
        likelihood = float(np.sum(np.where(right, np.log(p), np.log(1 - p))))
        if best is None or likelihood > best[0] + 1e-9:  # ties: the smaller weight
            best = (likelihood, cmap)
    assert best is not None
    return best[1]


def fit(calls: pd.DataFrame, digest: FileDigest | None = None, declared: bool | None = None) -> Calibration:
    """Both maps from first-seen calls (columns kind, raw_confidence, vote, right). `declared`:
    the held share for declared calls too (None: as the policy's stored map chose)."""
    declared = stored_held_declared() if declared is None else declared
    maps = {kind: fit_kind(calls[calls["kind"] == kind], kind in HELD_KINDS, declared) for kind in KINDS}
    return Calibration(fitted_on=digest or file_digest(), calls=len(calls), **maps)


def file_digest() -> FileDigest:
    """The first-seen calls file, named relative to the project, with its sha256."""
    return FileDigest(file=str(FIRST_SEEN.relative_to(PROJECT_ROOT)),
                      sha256=hashlib.sha256(FIRST_SEEN.read_bytes()).hexdigest())


def calibrated_by(calls: pd.DataFrame, train: pd.DataFrame, declared: bool | None = None) -> pd.Series:
    """`calls`' calibrated confidence from maps fitted on the first-seen calls `train`."""
    maps = fit(train, FileDigest(file="-", sha256="0" * 64), declared)
    out = pd.Series(np.nan, index=calls.index)
    for kind in KINDS:
        mask = calls["kind"] == kind
        cmap = getattr(maps, kind)
        out[mask] = calibrate(calls.loc[mask, "raw_confidence"], calls.loc[mask, "vote"], cmap,
                              calls.loc[mask, held_column(cmap.held_declared)])
    return out


def out_of_batch(calls: pd.DataFrame, declared: bool | None = None) -> pd.DataFrame:
    """Each call with its calibrated confidence from maps fitted on the *other* batches."""
    parts = [own.assign(calibrated=calibrated_by(own, calls[calls["batch"] != batch], declared))
             for batch, own in calls.groupby("batch", sort=True)]
    return pd.concat(parts)


def band_table(calls: pd.DataFrame, column: str) -> pd.DataFrame:
    """Calls per band of `column` and the share right, per kind."""
    rows = []
    for kind in KINDS:
        k = calls[calls["kind"] == kind]
        for lo, hi in zip(BANDS[:-1], BANDS[1:], strict=True):
            band = k[(k[column] >= lo) & (k[column] < hi)]
            if len(band):
                rows.append({"kind": kind, "band": f"{lo:.1f}-{min(hi, 1.0):.1f}", "calls": len(band),
                             "mean confidence": round(float(band[column].mean()), 3),
                             "right": int(band["right"].sum()),
                             "share right": round(float(band["right"].mean()), 3)})
    return pd.DataFrame(rows)


def thresholds(calls: pd.DataFrame, column: str, kind: str, at: list[float]) -> pd.DataFrame:
    """For each threshold: the confident calls (not held) and how often they were right, and the
    calls left for review, over all first-seen batches."""
    k = calls[calls["kind"] == kind]
    rows = []
    for t in at:
        confident = k[(k[column] >= t) & ~k["held"]]  # the state: only undeclared calls are held
        rows.append({"kind": kind, "confident_at": t, "confident calls": len(confident),
                     "right": int(confident["right"].sum()),
                     "precision": round(float(confident["right"].mean()), 3) if len(confident) else 0.0,
                     "calls to review": len(k) - len(confident),
                     "wrong confident": int((~confident["right"]).sum())})
    return pd.DataFrame(rows)


def policy_text(calibration: Calibration, text: str) -> str:
    """config/policy.yaml with the calibration block's knots replaced (comments kept)."""
    c = calibration
    block = (f"    calibration:\n"
             f"      fitted_on: {{file: {c.fitted_on.file}, sha256: \"{c.fitted_on.sha256}\"}}\n"
             f"      calls: {c.calls}\n"
             + "".join(f"      {kind}:\n        vote_weight: {m.vote_weight}\n        raw: {m.raw}\n"
                       f"        calibrated: {m.calibrated}\n"
                       + (f"        held: {m.held}\n" if m.held is not None else "")
                       + ("        held_declared: true\n" if m.held_declared else "")
                       for kind, m in (("scope", c.scope), ("emergency", c.emergency))))
    pattern = re.compile(r"^    calibration:\n(?:^      .*\n)+", re.M)  # the block, to its end
    if not pattern.search(text):
        raise SystemExit(f"{POLICY_FILE}: no `calibration:` block under scope_classification.call_states")
    return pattern.sub(lambda _m: block, text, count=1)


def check(policy: PolicyConfig, calls: pd.DataFrame) -> list[str]:
    """What differs between the policy's calibration and a refit (empty: up to date)."""
    stored = policy.scope_classification.call_states.calibration
    refit = fit(calls)
    if stored is None:
        return ["scope_classification.call_states.calibration is missing"]
    return [f"calibration.{key}: stored {getattr(stored, key)} != refit {getattr(refit, key)}"
            for key in ("fitted_on", "calls", *KINDS) if getattr(stored, key) != getattr(refit, key)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true",
                        help="write the refitted knots into config/policy.yaml")
    parser.add_argument("--check", action="store_true", help="fail if config/policy.yaml is not a refit")
    parser.add_argument("--held-declared", choices=["yes", "no"], default=None,
                        help="the emergency map's held share for declared calls too (default: as stored)")
    args = parser.parse_args()
    declared = None if args.held_declared is None else args.held_declared == "yes"
    calls = load_calls()
    if args.check:
        problems = check(default_policy(), calls)
        print("\n".join(problems) or "calibration: up to date")
        sys.exit(1 if problems else 0)
    if args.write:
        POLICY_FILE.write_text(policy_text(fit(calls, declared=declared), POLICY_FILE.read_text()))
        print(f"wrote the calibration fitted on {len(calls)} first-seen calls into {POLICY_FILE}")
        return
    policy = default_policy()
    cal = policy.scope_classification.call_states
    print(f"# First-seen calls: {len(calls)} from {calls['batch'].nunique()} batches")
    print("\n## Raw confidence (as first seen)\n\n" + _table(band_table(calls, "raw_confidence")))
    lobo = out_of_batch(calls, declared)
    print("\n## Calibrated, leave-one-first-seen-batch-out (maps fitted on the other batches)\n\n"
          + _table(band_table(lobo, "calibrated")))
    for kind, current in (("scope", cal.scope_confident_at), ("emergency", cal.emergency_confident_at)):
        at = sorted({0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, current})
        print(f"\n## {kind}: confident calls per threshold (calibrated out of batch; raw for comparison)\n\n"
              + _table(thresholds(lobo, "calibrated", kind, at)) + "\n\n"
              + _table(thresholds(lobo, "raw_confidence", kind, at)))


if __name__ == "__main__":
    main()
