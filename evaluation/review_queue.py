"""Round 19: what puts a ticket in the review queue, and can the band be tuned so the queue is small
and the confident calls stay right? (issue 19, item 4)

Over evaluation/first_seen_calls.csv (the blind batches' calls as first seen), nested
leave-one-first-seen-batch-out: for each held batch the calibration maps are fitted on the other
batches, and on those batches every call's calibrated confidence comes from a map fitted without its
own batch too (inner leave-one-batch-out), so every choice below is made on confidences as honest as
the held batch's. A ticket is in the queue when any of its calls is not confident (as in
evaluation.band_per_id).

Each call not confident at today's thresholds has one reason (`reason`): scope held by a disagreeing
vote; scope below scope_confident_at; emergency held (undeclared, the vote disagrees); emergency
declared but disputed by the vote and below emergency_confident_at; emergency below
emergency_confident_at with an undisputed vote. A *cell* is a reason with the call's scope id and
its signal pattern (evaluation.map_per_id.pattern).

Variants (fixed before the run; none chosen on the scored batches):
- `today`: the shipped maps and thresholds.
- `emergency held share for declared calls`: round 18's held_declared map, undisputed calls at
  emergency_confident_at, with a floor: a call read by the vote alone (no rule) is never confident.
- `+ scope cells`: also, a not-held scope call below scope_confident_at is confident when its
  cell (id, pattern) had at least MIN_CELL training calls right at least PROMOTE_AT (rule of
  succession) - its confidence shown is then the cell's share.
- `+ scope cells + drop`: also, a held scope call of an id whose training held calls (MIN_CELL)
  were right at most DROP_AT is no call (out of the queue; a miss when it was right).

    python -m evaluation.review_queue            # the decomposition and the variants (about 10 min)
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from evaluation.band_per_id import batch_tickets
from evaluation.calibrate import band_table, calibrated_by, load_calls, out_of_batch
from evaluation.evaluate import _table
from evaluation.map_per_id import pattern
from policy.config import default_policy

MIN_CELL = 20  # training calls a cell needs before its share decides anything
PROMOTE_AT = 0.9  # a cell right this often (rule of succession) is confident
DROP_AT = 0.1  # a held id right at most this often is no call
VARIANTS = ("today", "emergency held share for declared calls", "+ scope cells", "+ scope cells + drop")


def reasons(calls: pd.DataFrame, scope_at: float, emergency_at: float) -> pd.Series:
    """Each call's reason for review at the given thresholds (`confident` when it is not in review)."""
    scope = calls["kind"] == "scope"
    at = np.where(scope, scope_at, emergency_at)
    sure = (calls["calibrated"] >= at) & ~calls["held"]
    return pd.Series(np.select(
        [sure, scope & calls["held"], scope, calls["held"], calls["disagrees"]],
        ["confident", "scope: held by a disagreeing vote", "scope: below scope_confident_at",
         "emergency: held (undeclared, vote disagrees)",
         "emergency: declared, vote disagrees, below confident_at"],
        "emergency: undisputed, below emergency_confident_at"), index=calls.index)


def cells(calls: pd.DataFrame, reason: pd.Series) -> pd.Series:
    """A call's cell: its reason, scope id and signal pattern."""
    return reason + " | " + calls["scope_id"].replace("", "-") + " | " + pattern(calls)


def latest(calls: pd.DataFrame, n: int) -> tuple[str, ...]:
    """The `n` newest batches of `calls` (batch-NN names sort by number)."""
    return tuple(sorted(calls["batch"].unique())[-n:])


def decide(train: pd.DataFrame, held: pd.DataFrame, variant: str, scope_at: float,
           emergency_at: float) -> pd.DataFrame:
    """The held batch's calls with `state` (confident, needs review, none) and `shown` under
    `variant`, every choice made on `train` (whose `calibrated` is inner out of batch)."""
    out = held.copy()
    out["shown"] = out["calibrated"]
    reason = reasons(out, scope_at, emergency_at)
    state = np.where(reason == "confident", "confident", "needs review")
    if variant != "today":  # the held_declared map: a vote-alone call is never confident
        state = np.where((out["kind"] == "emergency") & ~out["rules"] & (state == "confident"),
                         "needs review", state)
    if variant.startswith("+ scope cells"):
        t_reason = reasons(train, scope_at, emergency_at)
        t_cell = cells(train, t_reason)
        stats = train.groupby(t_cell)["right"].agg(["size", "sum"])
        share = (stats["sum"] + 1) / (stats["size"] + 2)
        promote = share[(stats["size"] >= MIN_CELL) & (share >= PROMOTE_AT)
                        & share.index.str.startswith("scope: below")]
        cell = cells(out, reason)
        up = cell.isin(promote.index).to_numpy()
        state = np.where(up, "confident", state)
        out["shown"] = np.where(up, cell.map(promote), out["shown"])
    if variant.endswith("+ drop"):
        t_held = train[(train["kind"] == "scope") & train["held"]]
        by_id = t_held.groupby("scope_id")["right"].agg(["size", "mean"])
        gone = by_id[(by_id["size"] >= MIN_CELL) & (by_id["mean"] <= DROP_AT)].index
        state = np.where((out["kind"] == "scope") & out["held"] & out["scope_id"].isin(gone), "none", state)
    out["state"] = state
    out["reason"] = reason
    return out


def nested(calls: pd.DataFrame, scope_at: float, emergency_at: float) -> pd.DataFrame:
    """Every call of every batch under every variant, chosen without its batch."""
    parts = []
    for batch, held in calls.groupby("batch", sort=True):
        train = calls[calls["batch"] != batch]
        for declared in (False, True):
            tr = train.assign(calibrated=out_of_batch(train, declared)["calibrated"])
            hd = held.assign(calibrated=calibrated_by(held, train, declared))
            for variant in VARIANTS:
                if (variant != "today") == declared:
                    parts.append(decide(tr, hd, variant, scope_at, emergency_at).assign(variant=variant))
    return pd.concat(parts, ignore_index=True)


def queue(part: pd.DataFrame, tickets: dict[str, int]) -> dict[str, object]:
    """Queue (tickets, share), confident calls and their precision, calls dropped, for `part`."""
    n = sum(tickets[b] for b in part["batch"].unique())
    review = part[part["state"] == "needs review"]
    q = review[["batch", "ticket_id"]].drop_duplicates().shape[0]
    row: dict[str, object] = {"tickets": n, "queue": q, "queue share": round(q / n, 3)}
    for kind in ("scope", "emergency"):
        sure = part[(part["state"] == "confident") & (part["kind"] == kind)]
        row[f"confident {kind}"] = len(sure)
        row[f"wrong confident {kind}"] = int((~sure["right"]).sum())
        row[f"{kind} P"] = round(float(sure["right"].mean()), 3)
    gone = part[part["state"] == "none"]
    row["dropped (right)"] = f"{len(gone)} ({int(gone['right'].sum())})"
    return row


def summary(scored: pd.DataFrame, tickets: dict[str, int],
            batches: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Per variant, pooled over `batches` (all when None)."""
    part = scored if batches is None else scored[scored["batch"].isin(batches)]
    return pd.DataFrame([{"variant": v, **queue(own, tickets)}
                         for v, own in part.groupby("variant", sort=False)])


def decomposition(scored: pd.DataFrame, batches: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Today's queue by reason: calls, share right, tickets with the reason, tickets with no other."""
    part = scored[scored["variant"] == "today"]
    part = part if batches is None else part[part["batch"].isin(batches)]
    review = part[part["state"] == "needs review"]
    per_ticket = review.groupby(["batch", "ticket_id"])["reason"].agg(lambda r: frozenset(r))
    rows = []
    for reason, own in part.groupby("reason"):
        rows.append({"reason": reason, "calls": len(own), "right": int(own["right"].sum()),
                     "share right": round(float(own["right"].mean()), 3),
                     "tickets with it": int(sum(reason in r for r in per_ticket)),
                     "tickets with it alone": int(sum(r == {reason} for r in per_ticket))})
    return pd.DataFrame(rows)


def by_cell(scored: pd.DataFrame) -> pd.DataFrame:
    """Today's calls in review per reason and scope id (all batches, out of batch): calls, share right."""
    part = scored[(scored["variant"] == "today") & (scored["state"] != "confident")]
    table = part.groupby(["reason", "scope_id"])["right"].agg(calls="size", right="sum")
    table["share right"] = (table["right"] / table["calls"]).round(3)
    return table.reset_index()


def bands(scored: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Reliability of the confidence shown (out of batch) per kind and band, for `variant`."""
    return band_table(scored[(scored["variant"] == variant) & (scored["state"] != "none")], "shown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", help="also keep every scored call in this pickle")
    args = parser.parse_args()
    cal = default_policy().scope_classification.call_states
    calls = load_calls()
    tickets = batch_tickets()
    scored = nested(calls, cal.scope_confident_at, cal.emergency_confident_at)
    if args.save:
        scored.to_pickle(args.save)
    print(f"# Review queue: {len(calls)} first-seen calls, {calls['batch'].nunique()} batches, "
          f"nested leave-one-batch-out; scope at {cal.scope_confident_at}, "
          f"emergency at {cal.emergency_confident_at}")
    newest2, newest6 = latest(calls, 2), latest(calls, 6)
    for label, batches in (("all batches", None), (f"{newest2[0]}..{newest2[-1]}", newest2)):
        print(f"\n## Today's queue by reason, {label}\n\n" + _table(decomposition(scored, batches)))
    print("\n## Today's calls in review by reason and id (all batches)\n\n" + _table(by_cell(scored)))
    for label, batches in (("all batches", None), (f"{newest6[0]}..{newest6[-1]}", newest6),
                           (f"{newest2[0]}..{newest2[-1]}", newest2)):
        print(f"\n## Variants, {label}\n\n" + _table(summary(scored, tickets, batches)))
    for variant in VARIANTS:
        print(f"\n## Confidence shown, {variant} (out of batch)\n\n" + _table(bands(scored, variant)))
    per_batch = pd.DataFrame([{"batch": b, "variant": v, **queue(own, tickets)}
                              for (b, v), own in scored.groupby(["batch", "variant"], sort=False)])
    print("\n## Per batch\n\n" + _table(per_batch))


if __name__ == "__main__":
    main()
