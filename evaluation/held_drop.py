"""Round 17: would dropping held scope calls (no call instead of `needs review`) shrink the review
queue at an acceptable cost in scope recall? (issue 19, item 4)

A held call is one the semantic vote disagrees with (`held` in evaluation/first_seen_calls.csv):
`needs review` whatever its confidence. Dropping it takes it out of the queue (and its ticket, when
no other call of the ticket is left for review), loses it when it was right (a miss) and removes it
when it was wrong. Nested leave-one-first-seen-batch-out: every rule is chosen on the other 23
batches' held calls and scored on the held-out batch's.

Rules (fixed before the run; `COST` right calls lost are worth one wrong call removed, the ship bar):
- `per id, right < BAR` - drop every held call of an id whose training held calls (at least
  `MIN_CALLS`) were right less often than BAR (0.20, 0.25);
- `per id drop_below` - per id the vote threshold on `GRID` with the most `wrong removed - COST x
  right lost` on its training held calls (ids with fewer than MIN_CALLS: today's);
- `one drop_below` - the same, one threshold for all ids.
Ties keep the lower threshold (the fewer calls dropped).

Two baselines: the calls *as first seen*, and *today's* - held calls whose neighbours' vote is
below today's `semantic.drop_below` dropped in the batches first seen before it was on (from
`DROP_SINCE` on the file holds today's drops already). The file's `vote` is the neighbours' vote
only; the product drops on the higher of it and the word model's p, so a call dropped here may stay
held in the product (the drops here are an upper bound: in batch-19..24, 20 of the 37 held calls
have a neighbours' vote below 0.1 and were kept by the word model's).

Scope macro-F1 per batch is recomputed from the calls and the batch's truth (evaluation/blind):
per id tp, fp and fn over every call (whatever its state), as `evaluation.evaluate` scores it.

    python -m evaluation.held_drop            # pooled, newest 6, per batch, the thresholds chosen
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.band_per_id import batch_tickets, confident
from evaluation.calibrate import load_calls
from evaluation.datasets import _scope_set
from evaluation.evaluate import BLIND, _table
from evaluation.map_per_id import held_out, per_id_recalibrated
from policy.base import SCOPE_EXCLUSION_IDS
from policy.config import default_policy

GRID = (0.0, 0.05, 0.1, 0.125, 0.15, 0.175, 1.0)  # 1.0: every held call (they are held below veto_below)
BARS = (0.20, 0.25)
MIN_CALLS = 20
DROP_SINCE = "batch-19"  # the first batch first seen with semantic.drop_below on (learning_curve.csv)
COST = 4.0  # right calls lost may be at most a quarter of the wrong ones removed

Rule = Callable[[pd.DataFrame], dict[str, float]]  # training held calls -> drop threshold per id


def gain(held: pd.DataFrame, below: float) -> float:
    """Wrong held calls removed minus COST x right ones lost, dropping those with a vote below `below`."""
    dropped = held[held["vote"] < below]
    return float((~dropped["right"]).sum() - COST * dropped["right"].sum())


def best_threshold(held: pd.DataFrame, floor: float) -> float:
    """The grid threshold (at least `floor`) with the most gain; ties: the lower."""
    best = floor
    for t in GRID:
        if t > floor and gain(held, t) > gain(held, best):
            best = t
    return best


def by_bar(bar: float, floor: float) -> Rule:
    """Every held call of an id right less often than `bar` on training is dropped."""
    def rule(held: pd.DataFrame) -> dict[str, float]:
        stats = held.groupby("scope_id")["right"].agg(["size", "mean"])
        return {str(k): 1.0 for k, r in stats.iterrows() if r["size"] >= MIN_CALLS and r["mean"] < bar}
    return rule


def per_id(floor: float) -> Rule:
    """Per id the best grid threshold on its own held calls."""
    def rule(held: pd.DataFrame) -> dict[str, float]:
        return {str(k): t for k, own in held.groupby("scope_id") if len(own) >= MIN_CALLS
                and (t := best_threshold(own, floor)) != floor}
    return rule


def one(floor: float) -> Rule:
    """One grid threshold for all ids (stored under every id)."""
    def rule(held: pd.DataFrame) -> dict[str, float]:
        t = best_threshold(held, floor)
        return {} if t == floor else {str(k): t for k in SCOPE_EXCLUSION_IDS}
    return rule


def rules(floor: float) -> dict[str, Rule]:
    """The rules tried on a baseline whose drop_below is `floor`."""
    return {**{f"per id, right < {bar:.2f}": by_bar(bar, floor) for bar in BARS},
            "per id drop_below": per_id(floor), "one drop_below": one(floor)}


def dropped(calls: pd.DataFrame, below: dict[str, float], floor: float) -> pd.Series:
    """Held scope calls whose vote is under their id's threshold (else `floor`)."""
    at = calls["scope_id"].map(below).fillna(floor).astype(float)
    return (calls["kind"] == "scope") & calls["held"] & (calls["vote"] < at)


def todays(calls: pd.DataFrame, floor: float) -> pd.Series:
    """The held calls today's drop_below `floor` drops in batches first seen before it was on."""
    return dropped(calls, {}, floor) & (calls["batch"] < DROP_SINCE)


def truth(batches: list[str], folder: Path = BLIND) -> dict[str, dict[str, frozenset[str]]]:
    """Per batch, each ticket's true scope ids."""
    return {b: dict(zip(df["ticket_id"], df["true_scope"].map(_scope_set), strict=True))
            for b in batches for df in [pd.read_csv(folder / f"{b}.csv", usecols=["ticket_id", "true_scope"],
                                                    dtype=str, keep_default_na=False)]}


def macro_f1(scope: pd.DataFrame, true: dict[str, frozenset[str]]) -> tuple[float, int, int]:
    """Scope macro-F1 of one batch's calls against its truth (ids with any tp, fp or fn), and the
    true (ticket, id) pairs called and in all."""
    pairs = pd.DataFrame([(t, s) for t, ids in true.items() for s in ids], columns=["ticket_id", "scope_id"])
    f1s = []
    for scope_id in SCOPE_EXCLUSION_IDS:
        own = scope[scope["scope_id"] == scope_id]
        tp, fp = int(own["right"].sum()), int((~own["right"]).sum())
        fn = int((pairs["scope_id"] == scope_id).sum()) - tp
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)), int(scope["right"].sum()), len(pairs)


def batch_figures(calls: pd.DataFrame, drop: pd.Series, tickets: int, true: dict[str, frozenset[str]],
                  scope_at: float, emergency_at: float) -> dict[str, float]:
    """Queue, calls dropped and macro-F1 of one batch with the `drop` calls removed."""
    kept = calls[~drop]
    unsure = ~confident(kept, {}, scope_at, emergency_at)
    f1, hit, positives = macro_f1(kept[kept["kind"] == "scope"], true)
    gone = calls[drop]
    held = kept["held"] & (kept["kind"] == "scope")
    return {"tickets": tickets, "queue tickets": int(kept.loc[unsure, "ticket_id"].nunique()),
            "queue calls": int(unsure.sum()), "held left": int(held.sum()),
            "dropped": int(drop.sum()), "right lost": int(gone["right"].sum()),
            "wrong removed": int((~gone["right"]).sum()), "true hit": hit, "true": positives,
            "macro-F1": round(f1, 4)}


def nested(mapped: pd.DataFrame, scope_at: float, emergency_at: float, floor: float) -> pd.DataFrame:
    """Per baseline (as first seen; today's drop_below `floor`), rule and held-out batch: the
    figures with the rule chosen on the other batches' held calls."""
    batches = sorted(mapped["batch"].unique())
    tickets, truths, rows = batch_tickets(), truth(batches), []
    for base, base_floor in (("as first seen", 0.0), ("today's", floor)):
        before = todays(mapped, base_floor)
        calls = mapped[~before]
        held = calls[(calls["kind"] == "scope") & calls["held"]]
        for batch in batches:
            own = calls[calls["batch"] == batch]
            none = pd.Series(False, index=own.index)
            rows.append({"baseline": base, "rule": "none", "batch": batch, "chosen": "",
                         **batch_figures(own, none, tickets[batch], truths[batch], scope_at, emergency_at)})
            every = dropped(own, dict.fromkeys(SCOPE_EXCLUSION_IDS, 1.0), 0.0)
            rows.append({"baseline": base, "rule": "every held call (reference)", "batch": batch,
                         "chosen": "", **batch_figures(own, every, tickets[batch], truths[batch], scope_at,
                                                       emergency_at)})
            train = held[held["batch"] != batch]
            for name, rule in rules(base_floor).items():
                below = rule(train)
                drop = dropped(own, below, 0.0)  # the baseline's own drops are gone already
                rows.append({"baseline": base, "rule": name, "batch": batch,
                             "chosen": " ".join(f"{k}:{v:g}" for k, v in sorted(below.items())),
                             **batch_figures(own, drop, tickets[batch], truths[batch], scope_at,
                                             emergency_at)})
    return pd.DataFrame(rows)


def summary(figures: pd.DataFrame, batches: list[str] | None = None) -> pd.DataFrame:
    """Per baseline and rule, pooled over `batches` (all when None), against the baseline's own
    `none` row: tickets to review, held calls dropped, right lost, wrong removed, mean macro-F1."""
    part = figures if batches is None else figures[figures["batch"].isin(batches)]
    sums = part.groupby(["baseline", "rule"], sort=False)[
        ["tickets", "queue tickets", "queue calls", "held left", "dropped", "right lost", "wrong removed",
         "true hit", "true"]].sum()
    sums["mean macro-F1"] = part.groupby(["baseline", "rule"], sort=False)["macro-F1"].mean().round(4)
    base = sums.xs("none", level="rule")
    ref = base.reindex(sums.index.get_level_values("baseline"))
    sums["queue share"] = (sums["queue tickets"] / sums["tickets"]).round(3)
    sums["queue change"] = (sums["queue tickets"].to_numpy() / ref["queue tickets"].to_numpy() - 1).round(3)
    sums["scope recall"] = (sums["true hit"] / sums["true"]).round(4)
    sums["F1 change"] = (sums["mean macro-F1"].to_numpy() - ref["mean macro-F1"].to_numpy()).round(4)
    changed = part.merge(part[part["rule"] == "none"][["baseline", "batch", "macro-F1"]],
                         on=["baseline", "batch"], suffixes=("", " none"))
    d = changed["macro-F1"] - changed["macro-F1 none"]
    sums["F1 up/down"] = changed.assign(up=d > 1e-9, down=d < -1e-9).groupby(
        ["baseline", "rule"], sort=False)[["up", "down"]].sum().astype(int).astype(str).agg("/".join, axis=1)
    sums["passes"] = ((sums["queue change"] <= -0.10)
                      & (sums["right lost"] * COST <= sums["wrong removed"]) & (sums["dropped"] > 0))
    for column, digits in (("mean macro-F1", 4), ("F1 change", 4), ("scope recall", 4), ("queue share", 3),
                           ("queue change", 3)):
        sums[column] = sums[column].map(f"{{:+.{digits}f}}".format if "change" in column
                                        else f"{{:.{digits}f}}".format)
    return sums.drop(columns=["tickets", "true hit", "true"]).reset_index()


SHOWN = (("as first seen", "per id, right < 0.25"), ("today's", "every held call (reference)"))


def compact(figures: pd.DataFrame, shown: tuple[tuple[str, str], ...] = SHOWN) -> pd.DataFrame:
    """Per batch: tickets to review with no drop and with each `shown` (baseline, rule), with the
    right calls lost / wrong removed and the macro-F1 change."""
    key = figures.set_index(["baseline", "rule", "batch"]).sort_index()
    out = pd.DataFrame(index=sorted(figures["batch"].unique()))
    for base, rule in shown:
        none, own = key.loc[(base, "none")], key.loc[(base, rule)]
        out[f"{base}: none"] = none["queue tickets"]
        f1 = (own["macro-F1"] - none["macro-F1"]).map("{:+.3f}".format)
        out[f"{base}: {rule}"] = (own["queue tickets"].astype(str) + " (" + own["right lost"].astype(str)
                                  + "/" + own["wrong removed"].astype(str) + ", " + f1 + ")")
    return out.rename_axis("batch").reset_index()


def held_by_id(mapped: pd.DataFrame, floor: float) -> pd.DataFrame:
    """Held scope calls per id (all 24 batches, not out of sample): as first seen, and those left
    under today's drop_below; how often right."""
    held = mapped[(mapped["kind"] == "scope") & mapped["held"]]
    left = held[~todays(held, floor)]
    out = held.groupby("scope_id")["right"].agg(held="size", right="sum").join(
        left.groupby("scope_id")["right"].agg(**{"left today": "size", "right today": "sum"}))
    return out.fillna(0).astype(int).reset_index()


def main() -> None:
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    policy = default_policy()
    cal, floor = policy.scope_classification.call_states, policy.scope_classification.semantic.drop_below
    calls = load_calls()
    mapped = held_out(calls, {"shipped": per_id_recalibrated}).drop(columns="variant")
    figures = nested(mapped, cal.scope_confident_at, cal.emergency_confident_at, floor)
    batches = sorted(calls["batch"].unique())
    print(f"# Held calls dropped: {len(calls)} first-seen calls, {len(batches)} batches, scope at "
          f"{cal.scope_confident_at}, today's drop_below {floor}, cost {COST:g}, grid {GRID}")
    print("\n## Held calls per id (all batches)\n\n" + _table(held_by_id(mapped, floor)))
    print("\n## Pooled\n\n" + _table(summary(figures)))
    print(f"\n## Newest 6 ({batches[-6]}..{batches[-1]})\n\n" + _table(summary(figures, batches[-6:])))
    print("\n## Per batch: tickets to review (right lost / wrong removed, macro-F1 change)\n\n"
          + _table(compact(figures)))
    shown = figures.drop(columns=["tickets", "true hit", "true"]).assign(
        **{"macro-F1": figures["macro-F1"].map("{:.4f}".format)})
    print("\n## Per batch\n\n" + _table(shown))


if __name__ == "__main__":
    main()
