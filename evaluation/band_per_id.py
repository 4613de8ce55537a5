"""Round 16: would a confident threshold per scope id shorten the review queue? (issue 19, item 4)

Nested leave-one-first-seen-batch-out over evaluation/first_seen_calls.csv, with the calibration
code only (no classifier refit): for each held-out batch, the calibration map is fitted on the other
batches; on those batches each call's calibrated confidence comes from a map fitted without its own
batch too (inner leave-one-batch-out), so the per-id thresholds are chosen on confidences as honest
as the held batch's. An id's threshold is the one on the grid with the least
`calls to review + cost x wrong confident calls` over its training calls (ties: nearest to the
single threshold). The held batch is scored at the single threshold and at the chosen ones;
emergency calls keep `emergency_confident_at` in both. A ticket is in the queue when any of its
calls is not confident (as in `python -m evaluation.calibrate`).

    python -m evaluation.band_per_id            # per batch and pooled, each cost on the grid
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from evaluation.calibrate import calibrated_by, load_calls, out_of_batch
from evaluation.evaluate import _table
from policy.config import default_policy
from policy.paths import PROJECT_ROOT

GRID = tuple(float(t) for t in np.round(np.arange(0.5, 0.951, 0.05), 2))
COSTS = (4.0, 7.0, 10.0, 20.0)  # tickets in review one wrong charge is worth
SINGLES = (0.7, 0.75, 0.85)  # other single thresholds, for the queue against wrong charges


def choose(train: pd.DataFrame, cost: float, single: float) -> dict[str, float]:
    """Per scope id, the grid threshold with the least review calls + cost x wrong confident calls
    on `train` (columns scope_id, calibrated, held, right; scope calls only)."""
    chosen = {}
    for scope_id, own in train.groupby("scope_id", sort=True):
        best: tuple[float, float, float] | None = None
        for t in GRID:
            confident = (own["calibrated"] >= t) & ~own["held"]
            loss = float((~confident).sum() + cost * (confident & ~own["right"]).sum())
            key = (loss, abs(t - single), t)
            if best is None or key < best:
                best = key
        assert best is not None
        chosen[str(scope_id)] = best[2]
    return chosen


def confident(calls: pd.DataFrame, scope_at: dict[str, float], single: float,
              emergency_at: float) -> pd.Series:
    """Whether each call is confident: scope at its id's threshold (else `single`), emergency at
    `emergency_at`; a held call never."""
    at = np.where(calls["kind"] == "scope", calls["scope_id"].map(scope_at).fillna(single), emergency_at)
    return (calls["calibrated"] >= at) & ~calls["held"]


def score(calls: pd.DataFrame, is_confident: pd.Series, tickets: int) -> dict[str, float]:
    """Queue (calls, tickets), wrong confident scope calls and their precision for one batch."""
    scope = calls["kind"] == "scope"
    queue_tickets = calls.loc[~is_confident, "ticket_id"].nunique()
    conf_scope = is_confident & scope
    return {"queue calls": int((~is_confident).sum()), "queue tickets": int(queue_tickets),
            "tickets": tickets, "confident scope": int(conf_scope.sum()),
            "wrong confident scope": int((conf_scope & ~calls["right"]).sum()),
            "wrong confident emergency": int((is_confident & ~scope & ~calls["right"]).sum())}


def nested(calls: pd.DataFrame, tickets: dict[str, int], costs: tuple[float, ...] = COSTS,
           single: float = 0.8, emergency_at: float = 0.85,
           singles: tuple[float, ...] = SINGLES) -> pd.DataFrame:
    """Per held-out batch and cost: the single threshold's figures and the nested per-id choice's
    (and, for reference, other single thresholds: none of them chosen on the held batch)."""
    rows = []
    for batch, held in calls.groupby("batch", sort=True):
        train = calls[calls["batch"] != batch].copy()
        train["calibrated"] = out_of_batch(train)["calibrated"]
        held = held.copy()
        held["calibrated"] = calibrated_by(held, train)
        base = score(held, confident(held, {}, single, emergency_at), tickets[str(batch)])
        rows.append({"batch": batch, "variant": f"{single} everywhere", **base})
        for other in singles:
            figures = score(held, confident(held, {}, other, emergency_at), tickets[str(batch)])
            rows.append({"batch": batch, "variant": f"{other} everywhere (reference)", **figures})
        scope_train = train[train["kind"] == "scope"]
        for cost in costs:
            at = choose(scope_train, cost, single)
            figures = score(held, confident(held, at, single, emergency_at), tickets[str(batch)])
            rows.append({"batch": batch, "variant": f"per id, cost {cost:g}", **figures,
                         "thresholds": " ".join(f"{k}:{v:g}" for k, v in at.items() if v != single)})
    return pd.DataFrame(rows)


def summary(per_batch: pd.DataFrame, batches: list[str] | None = None) -> pd.DataFrame:
    """Pooled figures per variant over `batches` (all when None)."""
    part = per_batch if batches is None else per_batch[per_batch["batch"].isin(batches)]
    sums = part.groupby("variant", sort=False)[["queue calls", "queue tickets", "tickets",
                                                 "confident scope", "wrong confident scope",
                                                 "wrong confident emergency"]].sum()
    sums["queue share"] = (sums["queue tickets"] / sums["tickets"]).round(3)
    sums["confident scope precision"] = (1 - sums["wrong confident scope"] / sums["confident scope"]).round(3)
    return sums.reset_index()


def batch_tickets() -> dict[str, int]:
    """Tickets per blind batch (evaluation/learning_curve.csv)."""
    curve = pd.read_csv(PROJECT_ROOT / "evaluation" / "learning_curve.csv")
    return dict(zip(curve["batch"], curve["tickets"].astype(int), strict=True))


def main() -> None:
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    cal = default_policy().scope_classification.call_states
    calls = load_calls()
    per_batch = nested(calls, batch_tickets(), single=cal.scope_confident_at,
                       emergency_at=cal.emergency_confident_at)
    batches = sorted(calls["batch"].unique())
    print(f"# Nested per-id band: {len(calls)} first-seen calls, {len(batches)} batches, "
          f"grid {GRID[0]}-{GRID[-1]}, costs {', '.join(f'{c:g}' for c in COSTS)}")
    print("\n## Pooled\n\n" + _table(summary(per_batch)))
    print(f"\n## Newest 6 ({batches[-6]}..{batches[-1]})\n\n" + _table(summary(per_batch, batches[-6:])))
    shown = per_batch.drop(columns=["tickets"]).fillna("")
    print("\n## Per batch\n\n" + _table(shown))


if __name__ == "__main__":
    main()
