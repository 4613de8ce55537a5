"""Forward chaining over the blind bank: fold k = batch-k scored as if it were first seen.

Fold k holds the labelled file and batch-01..k-1 in the exemplar bank, with every model refitted
on them, exactly as `python -m evaluation.evaluate --labelled evaluation/blind/batch-k.csv
--exclude-from-bank batch-k.csv .. --exclude-from-bank batch-N.csv --no-demo` scores it (N: the
last blind batch of the bank). The honest proxy for a batch's first-seen score: leave-one-batch-out
keeps the later batches in the bank, forward chaining does not.

    python -m evaluation.forward_chain --folds 27-32
    python -m evaluation.forward_chain --folds 27-32 --emergency-only   # the emergency call alone, faster
    MSP_POLICY=/tmp/variant.yaml python -m evaluation.forward_chain --folds 27-32 --errors

`--emergency-only` builds what the emergency call reads (the bank, the text model and the emergency
signal refitted per fold, the rules, the votes, the statement) and skips the scope fits and
statements (the word model, the learned combination, the chain), which are most of a fold's time;
its emergency figures are the full run's (no scope input reaches the emergency call).
"""

from __future__ import annotations

import argparse
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from evaluation.datasets import input_tables, load_labelled
from evaluation.evaluate import (
    BLIND,
    Scores,
    _table,
    emergency_call,
    evaluate_file,
    exemplar_files,
    fold_models,
)
from policy.config import PolicyConfig, default_policy


@dataclass
class Fold:
    """One fold's figures: scope macro-F1 (None with --emergency-only) and the emergency counts."""

    batch: str
    scope_macro_f1: float | None
    found: int
    false: int
    missed: int
    errors: list[str]
    # scope detail (None with --emergency-only): per id tp / fp / fn, review queue, confident calls
    per_id: pd.DataFrame | None = None
    tickets: int = 0
    queue: int = 0
    confident_calls: int = 0
    confident_right: int = 0


def parse_folds(spec: str) -> list[int]:
    """'27-32' or '23,25,27-28' -> the batch numbers, in order."""
    numbers: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        numbers += list(range(int(lo), int(hi or lo) + 1))
    return numbers


def bank_batches(policy: PolicyConfig) -> list[Path]:
    """The blind batches of the exemplar bank, in batch order."""
    return sorted(f for f in exemplar_files(policy) if f.parent.resolve() == BLIND.resolve())


def later(policy: PolicyConfig, k: int) -> list[Path]:
    """batch-k and every later batch of the bank: what fold k takes out of it."""
    return [f for f in bank_batches(policy) if _number(f) >= k]


def _number(path: Path) -> int:
    match = re.fullmatch(r"batch-(\d+)", path.stem)
    return int(match.group(1)) if match else -1


def _emergency_call(path: Path, policy: PolicyConfig, exclude: list[Path]) -> pd.DataFrame:
    """The emergency statement's rows for a labelled file, with evaluate_file's bank and models."""
    fold = fold_models(path, policy, exclude, scope=False)
    data = load_labelled(path)
    con = duckdb.connect()
    input_tables(con, data, policy)
    emergency_call(con, policy, fold.bank, fold.in_bank, fold.texts, fold.signal)
    frame = con.execute("SELECT * FROM clf_emergency").df()
    truth = data.truth.set_index("ticket_id")["true_emergency"].astype(bool)
    frame["true_emergency"] = frame["ticket_id"].map(truth).fillna(False).astype(bool)
    frame["subject"] = frame["ticket_id"].map(data.subjects).fillna("")
    return frame


def run_fold(k: int, emergency_only: bool = False) -> Fold:
    """Score batch-k with batch-k and the later batches out of the bank, every model refitted."""
    policy = default_policy()
    path = BLIND / f"batch-{k:02d}.csv"
    exclude = later(policy, k) or [path]
    if emergency_only:
        frame = _emergency_call(path, policy, exclude)
        pred, true = frame["qualifies_emergency"].astype(bool), frame["true_emergency"]
        wrong = frame[pred != true]
        errors = [f"{r.ticket_id} emergency truth={r.true_emergency} predicted={not r.true_emergency}"
                  f" ({r.emergency_confidence:.2f}) | {r.subject} | {r.emergency_evidence[:400]}"
                  for r in wrong.itertuples()]
        return Fold(path.stem, None, int((pred & true).sum()), int((pred & ~true).sum()),
                    int((~pred & true).sum()), errors)
    return fold_of(path.stem, evaluate_file(path, policy, exclude))


def fold_of(batch: str, s: Scores) -> Fold:
    """A scored file's figures as a fold (what the pooled tables sum)."""
    (tp, fn), (fp, _tn) = s.emergency_confusion.to_numpy().tolist()
    return Fold(batch, s.scope_macro_f1, int(tp), int(fp), int(fn), s.errors,
                s.per_category[["scope_id", "tp", "fp", "fn"]], s.tickets, s.review_queue,
                s.confident_calls, s.confident_right)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def table(folds: list[Fold]) -> pd.DataFrame:
    """Per fold and pooled: scope macro-F1, emergency found / false / missed, P and R."""
    rows = [{"fold": f.batch,
             "scope_macro_f1": "-" if f.scope_macro_f1 is None else f"{f.scope_macro_f1:.3f}",
             "found": f.found, "false": f.false, "missed": f.missed,
             "P": f"{_ratio(f.found, f.found + f.false):.3f}",
             "R": f"{_ratio(f.found, f.found + f.missed):.3f}"} for f in folds]
    tp, fp, fn = (sum(getattr(f, a) for f in folds) for a in ("found", "false", "missed"))
    f1s = [f.scope_macro_f1 for f in folds if f.scope_macro_f1 is not None]
    rows.append({"fold": "pooled", "scope_macro_f1": f"{sum(f1s) / len(f1s):.3f} (mean)" if f1s else "-",
                 "found": tp, "false": fp, "missed": fn, "P": f"{_ratio(tp, tp + fp):.3f}",
                 "R": f"{_ratio(tp, tp + fn):.3f}"})
    return pd.DataFrame(rows)


def pooled_macro_f1(per: pd.DataFrame) -> float:
    """Macro-F1 over summed per-id tp / fp / fn; ids with none of the three do not count."""
    live = per[(per.tp + per.fp + per.fn) > 0]
    return float((2 * live.tp / (2 * live.tp + live.fp + live.fn)).mean())


def scope_detail(folds: list[Fold]) -> str:
    """Pooled over the folds: per scope id tp / fp / fn, P, R, F1; pooled macro-F1, queue, confident P."""
    scored = [f for f in folds if f.per_id is not None]
    if not scored:
        return ""
    per = pd.concat([f.per_id for f in scored]).groupby("scope_id")[["tp", "fp", "fn"]].sum()
    per["P"] = (per.tp / (per.tp + per.fp)).fillna(0).round(3)
    per["R"] = (per.tp / (per.tp + per.fn)).fillna(0).round(3)
    per["F1"] = (2 * per.tp / (2 * per.tp + per.fp + per.fn)).fillna(0).round(4)
    tickets, queue = sum(f.tickets for f in scored), sum(f.queue for f in scored)
    calls, right = sum(f.confident_calls for f in scored), sum(f.confident_right for f in scored)
    return (_table(per.reset_index()) + f"\n\npooled scope macro-F1 {pooled_macro_f1(per):.4f}; review queue"
            f" {queue} of {tickets} ({_ratio(queue, tickets):.1%}); confident scope P"
            f" {_ratio(right, calls):.4f} ({calls - right} wrong of {calls})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", default="27-32", help="batch numbers: 27-32 or 23,25,27-28")
    parser.add_argument("--jobs", type=int, default=1, help="folds scored side by side (processes)")
    parser.add_argument("--emergency-only", action="store_true",
                        help="score the emergency call only (no scope fits or statements)")
    parser.add_argument("--errors", action="store_true",
                        help="list each fold's errors (emergency; scope too in a full run)")
    args = parser.parse_args()
    policy = default_policy()
    numbers = parse_folds(args.folds)
    known = {_number(f) for f in bank_batches(policy)}
    missing = [k for k in numbers if k not in known]
    if missing:
        raise SystemExit(f"not in the exemplar bank: batch {missing}; forward chaining scores banked batches")
    print(f"# Forward chaining (policy {policy.version}), folds {args.folds}")
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            folds = list(pool.map(run_fold, numbers, [args.emergency_only] * len(numbers)))
    else:
        folds = []
        for k in numbers:
            folds.append(run_fold(k, args.emergency_only))
            f = folds[-1]
            print(f"{f.batch}: found {f.found} false {f.false} missed {f.missed}", flush=True)
    print("\n" + _table(table(folds)))
    detail = scope_detail(folds)
    if detail:
        print("\n" + detail)
    if args.errors:  # each fold's errors: the emergency call's, then (a full run) the scope calls'
        for f in folds:
            print(f"\n{f.batch}:\n" + "\n".join(f"- {e}" for e in f.errors))


if __name__ == "__main__":
    main()
