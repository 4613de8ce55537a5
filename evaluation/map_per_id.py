"""Round 17: would a calibration map per scope id (or per group, or per signal pattern) shorten
the review queue? (issue 19, item 4)

Leave-one-first-seen-batch-out over evaluation/first_seen_calls.csv with the calibration code only
(no classifier refit): for each held batch, every variant's scope maps are fitted on the other 23
batches and map the held batch's calls; `scope_confident_at` and `emergency_confident_at` stay as
shipped and the emergency map is today's in every variant, so only the scope map differs. Where a
variant needs calibrated confidences of its training calls (to group ids, or to recalibrate the one
map per id), those come from an inner leave-one-batch-out, as honest as the held batch's.

Variants (fixed before the run; none chosen on the scored batches):
- `one map` - today's: one scope map (evaluation.calibrate.fit_kind).
- `map per id` - fit_kind on each id's own calls (knots of at least 15 calls).
- `map per id, 40-call knots` - the same with knots of at least 40 calls (fewer, steadier knots).
- `two groups` - ids whose confident training calls were right less often than their calibrated
  confidence said ("overstated") get one map, the others another.
- `map per signal pattern` - one map per pattern (`pattern`: held, no vote, the vote for another
  id at least as strong, the vote agrees).
- `one map, recalibrated per id` - today's map, then per id a logistic recalibration
  sigmoid(a + b logit(p)) fitted with a ridge pull towards the identity (a = 0, b = 1).

    python -m evaluation.map_per_id            # per batch, pooled, reliability per id, the queue
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.band_per_id import batch_tickets, confident, score, summary
from evaluation.calibrate import KINDS, calibrated_by, fit_kind, fit_map, load_calls
from evaluation.evaluate import BLIND, _table
from logic.calibration import calibrate, map_input
from policy.classifiers import ConfidenceMap
from policy.config import default_policy

RIDGE = 20.0  # the recalibration's pull towards the identity, in calls' worth of log-likelihood
EDGES = (0.0, 0.5, 0.8, 0.9, 1.01)  # reliability bands

Fitter = Callable[[pd.DataFrame], Callable[[pd.DataFrame], pd.Series]]


def pattern(calls: pd.DataFrame) -> pd.Series:
    """Each call's signal pattern: held (a disagreeing vote), no vote (the rules alone), the vote
    for another id at least as strong (contested), or the vote agrees."""
    return pd.Series(np.select(
        [calls["held"], calls["vote"] <= 0, calls["other_vote"] >= calls["vote"]],
        ["held", "no vote", "contested"], "agrees"), index=calls.index)


def _by_key(key: Callable[[pd.DataFrame], pd.Series], min_calls: int = 15) -> Fitter:
    """A fitter with one map per value of `key` (values with too few calls: the one map)."""
    def fitter(train: pd.DataFrame) -> Callable[[pd.DataFrame], pd.Series]:
        whole = fit_kind(train)
        maps = {k: _fit(own, min_calls) for k, own in train.groupby(key(train)) if len(own) >= 2 * min_calls}

        def apply(calls: pd.DataFrame) -> pd.Series:
            keys = key(calls)
            out = pd.Series(np.nan, index=calls.index)
            for k in keys.unique():
                mask = keys == k
                out[mask] = calibrate(calls.loc[mask, "raw_confidence"], calls.loc[mask, "vote"],
                                      maps.get(k, whole))
            return out
        return apply
    return fitter


def _fit(calls: pd.DataFrame, min_calls: int) -> ConfidenceMap:
    """fit_kind with knots of at least `min_calls` calls."""
    if min_calls == 15:
        return fit_kind(calls)
    best = fit_kind(calls)  # its vote weight, then the coarser knots at that weight
    knots = fit_map(map_input(calls["raw_confidence"], calls["vote"], best.vote_weight),
                    calls["right"].to_numpy(bool), min_calls)
    return ConfidenceMap(vote_weight=best.vote_weight, raw=knots.raw, calibrated=knots.calibrated)


def inner(train: pd.DataFrame) -> pd.Series:
    """The training scope calls' calibration by today's map, each fitted without its own batch."""
    out = pd.Series(np.nan, index=train.index)
    for batch, own in train.groupby("batch"):
        cmap = fit_kind(train[train["batch"] != batch])
        out[own.index] = calibrate(own["raw_confidence"], own["vote"], cmap)
    return out


def overstated(train: pd.DataFrame, calibrated: pd.Series, at: float = 0.8) -> set[str]:
    """Ids whose confident calls (calibrated >= `at`, not held) were right less often than their
    mean calibrated confidence."""
    sure = train[(calibrated >= at) & ~train["held"]].assign(p=calibrated)
    gap = sure.groupby("scope_id")["right"].mean() - sure.groupby("scope_id")["p"].mean()
    return set(gap[gap < 0].index)


def two_groups(train: pd.DataFrame) -> Callable[[pd.DataFrame], pd.Series]:
    """One map for the overstated ids, one for the others (grouped on inner out-of-batch calls)."""
    over = overstated(train, inner(train))
    return _by_key(lambda c: c["scope_id"].isin(over).map({True: "overstated", False: "other"}))(train)


def recalibration(p: np.ndarray, right: np.ndarray, ridge: float = RIDGE) -> tuple[float, float]:
    """(a, b) of sigmoid(a + b logit(p)) by Newton's method, penalised by ridge x (a^2 + (b-1)^2)."""
    x = np.log(np.clip(p, 1e-3, 1 - 1e-3) / (1 - np.clip(p, 1e-3, 1 - 1e-3)))
    design, theta, prior = np.column_stack([np.ones_like(x), x]), np.array([0.0, 1.0]), np.array([0.0, 1.0])
    for _ in range(50):
        q = 1 / (1 + np.exp(-design @ theta))
        grad = design.T @ (right - q) - ridge * (theta - prior)
        hess = design.T @ (design * (q * (1 - q))[:, None]) + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta = theta + step
        if np.abs(step).max() < 1e-8:
            break
    return float(theta[0]), max(float(theta[1]), 0.05)  # b > 0: the map stays monotone


def recalibrated_map(cmap: ConfidenceMap, a: float, b: float) -> ConfidenceMap:
    """`cmap` with each knot's share passed through sigmoid(a + b logit(share))."""
    c = np.clip(np.asarray(cmap.calibrated), 1e-3, 1 - 1e-3)
    shown = np.maximum.accumulate(np.round(1 / (1 + np.exp(-(a + b * np.log(c / (1 - c))))), 3))
    return ConfidenceMap(vote_weight=cmap.vote_weight, raw=cmap.raw, calibrated=[float(v) for v in shown])


def per_id_recalibrated(train: pd.DataFrame) -> Callable[[pd.DataFrame], pd.Series]:
    """Today's map, then each id's logistic recalibration (fitted on inner out-of-batch calls)."""
    whole, honest = fit_kind(train), inner(train)
    maps = {}
    for scope_id, own in train.groupby("scope_id"):
        maps[scope_id] = recalibrated_map(whole, *recalibration(honest[own.index].to_numpy(),
                                                                own["right"].to_numpy(float)))

    def apply(calls: pd.DataFrame) -> pd.Series:
        out = pd.Series(np.nan, index=calls.index)
        for scope_id, own in calls.groupby("scope_id"):
            out[own.index] = calibrate(own["raw_confidence"], own["vote"], maps.get(scope_id, whole))
        return out
    return apply


VARIANTS: dict[str, Fitter] = {
    "one map": _by_key(lambda c: pd.Series("all", index=c.index)),
    "map per id": _by_key(lambda c: c["scope_id"]),
    "map per id, 40-call knots": _by_key(lambda c: c["scope_id"], min_calls=40),
    "two groups": two_groups,
    "map per signal pattern": _by_key(pattern),
    "one map, recalibrated per id": per_id_recalibrated,
}


def held_out(calls: pd.DataFrame, variants: dict[str, Fitter] = VARIANTS) -> pd.DataFrame:
    """Each call once per variant, its calibrated confidence from maps fitted on the other batches
    (emergency: today's map)."""
    parts = []
    for batch, held in calls.groupby("batch", sort=True):
        train = calls[calls["batch"] != batch]
        emergency = calibrated_by(held, train)
        scope_train, scope = train["kind"] == "scope", held["kind"] == "scope"
        for name, fitter in variants.items():
            shown = emergency.copy()
            if scope.any():
                shown[scope] = fitter(train[scope_train])(held[scope])
            parts.append(held.assign(variant=name, calibrated=shown))
    return pd.concat(parts, ignore_index=True)


def per_batch(mapped: pd.DataFrame, tickets: dict[str, int], scope_at: float,
              emergency_at: float) -> pd.DataFrame:
    """Queue and confident scope figures per held batch and variant."""
    rows = []
    for (variant, batch), calls in mapped.groupby(["variant", "batch"], sort=False):
        rows.append({"batch": batch, "variant": variant,
                     **score(calls, confident(calls, {}, scope_at, emergency_at), tickets[str(batch)])})
    return pd.DataFrame(rows)


def reliability(mapped: pd.DataFrame) -> pd.DataFrame:
    """Per variant, scope id and band of calibrated confidence: calls, mean confidence, share right."""
    scope = mapped[mapped["kind"] == "scope"]
    band = pd.cut(scope["calibrated"], list(EDGES), right=False,
                  labels=[f"{lo:.1f}-{min(hi, 1.0):.1f}" for lo, hi in zip(EDGES, EDGES[1:], strict=False)])
    out = scope.assign(band=band).groupby(["variant", "scope_id", "band"], observed=True, sort=False).agg(
        calls=("right", "size"), confidence=("calibrated", "mean"), right=("right", "mean"))
    out["gap"] = out["right"] - out["confidence"]
    return out.round(3).reset_index()


def honesty(mapped: pd.DataFrame, rel: pd.DataFrame, min_calls: int = 20) -> pd.DataFrame:
    """Per variant: the scope calls' log-loss and Brier score, and over the id bands from 0.8 up
    with at least `min_calls` calls, how many are off their confidence by more than 0.05, the
    calls-weighted mean gap and the worst."""
    scope = mapped[mapped["kind"] == "scope"]
    p = np.clip(scope["calibrated"].to_numpy(float), 1e-3, 1 - 1e-3)
    y = scope["right"].to_numpy(float)
    loss = pd.DataFrame({"variant": scope["variant"].to_numpy(),
                         "log": -(y * np.log(p) + (1 - y) * np.log(1 - p)), "brier": (p - y) ** 2})
    rows = []
    for variant, own in loss.groupby("variant", sort=False):
        bands = rel[(rel["variant"] == variant) & rel["band"].isin(["0.8-0.9", "0.9-1.0"])
                    & (rel["calls"] >= min_calls)]
        worst = bands.loc[bands["gap"].abs().idxmax()]
        rows.append({"variant": variant, "log-loss": f"{own['log'].mean():.4f}",
                     "brier": f"{own['brier'].mean():.4f}", "id bands": len(bands),
                     "off by > 0.05": int((bands["gap"].abs() > 0.05).sum()),
                     "mean |gap|": f"{np.average(bands['gap'].abs(), weights=bands['calls']):.3f}",
                     "worst": f"{worst['scope_id']} {worst['band']}: {worst['right']:.2f} right at "
                              f"{worst['confidence']:.2f} ({worst['calls']})"})
    return pd.DataFrame(rows)


def frontier(mapped: pd.DataFrame, tickets: dict[str, int], emergency_at: float,
             at: tuple[float, ...] = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)) -> pd.DataFrame:
    """Per variant and scope threshold, pooled: tickets to review against wrong confident scope
    calls (the trade-off each map offers; no threshold is chosen here)."""
    rows = []
    for t in at:
        figures = summary(per_batch(mapped, tickets, t, emergency_at))
        rows.append(figures[["variant", "queue tickets", "wrong confident scope",
                             "confident scope precision"]].assign(scope_at=t))
    table = pd.concat(rows)
    table["cell"] = table["queue tickets"].astype(str) + " / " + table["wrong confident scope"].astype(str)
    return table.pivot(index="scope_at", columns="variant", values="cell")[
        list(dict.fromkeys(table["variant"]))].reset_index()


def batch_changes(figures: pd.DataFrame, base: str = "one map") -> pd.DataFrame:
    """Per variant, against `base`: in how many batches the queue (tickets) is shorter or longer,
    and wrong confident scope calls fewer or more."""
    ref = figures[figures["variant"] == base].set_index("batch")
    rows = []
    for variant, own in figures[figures["variant"] != base].groupby("variant", sort=False):
        d = own.set_index("batch")[["queue tickets", "wrong confident scope"]] - ref[
            ["queue tickets", "wrong confident scope"]]
        rows.append({"variant": variant, "queue shorter": int((d["queue tickets"] < 0).sum()),
                     "queue longer": int((d["queue tickets"] > 0).sum()),
                     "wrong fewer": int((d["wrong confident scope"] < 0).sum()),
                     "wrong more": int((d["wrong confident scope"] > 0).sum())})
    return pd.DataFrame(rows)


def minutes_logged(batches: list[str], folder: Path = BLIND) -> pd.DataFrame:
    """Minutes logged per blind ticket (evaluation/blind/<batch>.csv `time_entries`: the amount a
    call would bill, before the client's rate)."""
    frames = []
    for batch in batches:
        own = pd.read_csv(folder / f"{batch}.csv", usecols=["ticket_id", "time_entries"])
        minutes = own["time_entries"].fillna("").str.findall(r"(?:^|;)[^:;]*:(\d+)")
        frames.append(pd.DataFrame({"batch": batch, "ticket_id": own["ticket_id"],
                                    "minutes": minutes.map(lambda m: sum(int(v) for v in m))}))
    return pd.concat(frames, ignore_index=True)


def review_queue(mapped: pd.DataFrame, variant: str, scope_at: float) -> pd.DataFrame:
    """The scope calls left for review under `variant`, by id and signal pattern and by calibrated
    confidence: how often they were right (what a reviewer's time goes to)."""
    scope = mapped[(mapped["variant"] == variant) & (mapped["kind"] == "scope")]
    queue = scope[(scope["calibrated"] < scope_at) | scope["held"]].assign(pattern=pattern)
    queue = queue.assign(level=pd.cut(queue["calibrated"], [0, 0.5, 0.65, 0.8, 1.01], right=False,
                                      labels=["<0.5", "0.5-0.65", "0.65-0.8", ">=0.8 (held)"]))
    minutes = minutes_logged(sorted(queue["batch"].unique()))
    queue = queue.merge(minutes, on=["batch", "ticket_id"], how="left")
    return queue.assign(logged=pd.cut(queue["minutes"], [-1, 0, 60, 180, 480, 10**6],
                                      labels=["none", "up to 1 h", "1-3 h", "3-8 h", "over 8 h"]))


def main() -> None:
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    cal = default_policy().scope_classification.call_states
    calls = load_calls()
    assert set(calls["kind"]) <= set(KINDS)
    mapped = held_out(calls)
    figures = per_batch(mapped, batch_tickets(), cal.scope_confident_at, cal.emergency_confident_at)
    batches = sorted(calls["batch"].unique())
    print(f"# Calibration map per id: {len(calls)} first-seen calls, {len(batches)} batches, "
          f"scope at {cal.scope_confident_at}, emergency at {cal.emergency_confident_at}")
    print("\n## Pooled\n\n" + _table(summary(figures)))
    print(f"\n## Newest 6 ({batches[-6]}..{batches[-1]})\n\n" + _table(summary(figures, batches[-6:])))
    print("\n## Per batch, against the one map\n\n" + _table(batch_changes(figures)))
    print("\n## Per batch\n\n" + _table(figures.drop(columns=["tickets"])))
    print("\n## Tickets to review / wrong confident scope per threshold, pooled\n\n"
          + _table(frontier(mapped, batch_tickets(), cal.emergency_confident_at)))
    rel = reliability(mapped)
    print("\n## Honesty of the scope maps\n\n" + _table(honesty(mapped, rel)))
    high = rel[rel["band"].isin(["0.8-0.9", "0.9-1.0"])].sort_values(["scope_id", "band", "variant"])
    print("\n## Reliability per id (0.8 and up)\n\n" + _table(high))
    queue = review_queue(mapped, "one map", cal.scope_confident_at)
    for by in ("scope_id", "pattern", "level", "logged"):
        table = queue.groupby(by, observed=True)["right"].agg(calls="size", right="sum", share="mean")
        print(f"\n## Review queue (one map) by {by}\n\n" + _table(table.round(3).reset_index()))
    cells = queue.groupby(["scope_id", "pattern"], observed=True)["right"].agg(
        calls="size", right="sum", share="mean").round(3).reset_index()
    print("\n## Review queue (one map) by id and pattern, 10 calls or more\n\n"
          + _table(cells[cells["calls"] >= 10].sort_values("share")))


if __name__ == "__main__":
    main()
