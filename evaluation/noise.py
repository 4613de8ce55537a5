"""Invariance benchmark: do the calls hold when a client's mail system adds its boilerplate?

Each fold k of forward chaining (batch-k scored with it and every later batch out of the bank,
every model refitted: evaluation/forward_chain.py) is scored twice with the same fold models: on
its tickets as written, and with e-mail boilerplate added to each description (one to three of
the blocks of evaluation/noise_blocks.yaml, seeded: disclaimers, external-sender banners,
signatures, mobile sign-offs, quoted-reply headers, ticket-system footers). A block says nothing
about the ticket, so every move of a call is damage. Reports the pooled figures both ways and the
tickets whose call flips, with the evidence of the call on each side.

    python -m evaluation.noise --folds 40-42
    python -m evaluation.noise --folds 37-42 --seed 3 --flips
    python -m evaluation.noise --folds 44 --blocks other_blocks.yaml
    python -m evaluation.noise --folds 45-46 --half eval
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from evaluation.datasets import Dataset, load_labelled
from evaluation.evaluate import BLIND, FoldModels, Scores, _table, classify, fold_models, score
from evaluation.forward_chain import (
    _number,
    _ratio,
    bank_batches,
    fold_of,
    later,
    parse_folds,
    pooled_macro_f1,
)
from policy.config import PolicyConfig, default_policy

BLOCKS = Path(__file__).with_name("noise_blocks.yaml")


@dataclass(frozen=True)
class Block:
    """One boilerplate block and where the mail system puts it."""

    kind: str
    at: str  # "start" (before the description) or "end" (after it)
    text: str


def read_blocks(path: Path = BLOCKS, half: str | None = None) -> list[Block]:
    """The blocks of the data file; `half`: of each kind, the first, third, ... block ("train": the
    ones a mechanism may be built and fitted on) or the second, fourth, ... ("eval": the ones it is
    scored on)."""
    blocks = [Block(b["kind"], b["at"], b["text"]) for b in yaml.safe_load(path.read_text())["blocks"]]
    if half is None:
        return blocks
    seen: dict[str, int] = {}
    kept = []
    for b in blocks:
        seen[b.kind] = seen.get(b.kind, 0) + 1
        if (seen[b.kind] % 2 == 1) == (half == "train"):
            kept.append(b)
    return kept


def add_noise(data: Dataset, blocks: list[Block], seed: int) -> tuple[Dataset, dict[str, list[str]]]:
    """The data set with one to three blocks added to each ticket's description (at most one
    banner before it), and the kinds added per ticket."""
    rng = random.Random(seed)
    starts = [b for b in blocks if b.at == "start"]
    ends = [b for b in blocks if b.at == "end"]
    descriptions, kinds = [], {}
    for tid, text in zip(data.tickets["ticket_id"], data.tickets["description"].fillna(""), strict=True):
        n = rng.choices([1, 2, 3], weights=[5, 3, 2])[0]
        chosen = rng.sample(blocks, n)
        # a mail system adds one banner; the other blocks go after the text in the order drawn
        head = [b for b in chosen if b.at == "start"][:1]
        tail = [b for b in chosen if b.at == "end"]
        if not head and not tail:
            tail = [rng.choice(ends)]
        if rng.random() < 0.15 and not head:
            head = [rng.choice(starts)]
        parts = [*(b.text for b in head), str(text), *(b.text for b in tail)]
        descriptions.append("\n\n".join(parts))
        kinds[str(tid)] = [b.kind for b in [*head, *tail]]
    tickets = data.tickets.assign(description=descriptions)
    return Dataset(data.name + " + boilerplate", tickets, data.time, data.truth, data.subjects), kinds


@dataclass
class Side:
    """One reading of a fold (clean or noisy): its scores and per-ticket calls."""

    scores: Scores
    scope: dict[str, frozenset[str]]
    emergency: dict[str, bool]
    evidence: dict[str, str] = field(default_factory=dict)


def _read(data: Dataset, policy: PolicyConfig, fold: FoldModels) -> Side:
    """Classify and score a data set with a fold's bank and models."""
    hits, emergency = classify(data, policy, fold.bank, fold.in_bank, fold.model,
                               fold.texts, fold.words, fold.signal, fold.chain)
    s = score(data, hits, emergency)
    scope = hits.groupby("ticket_id")["scope_id"].agg(frozenset).to_dict()
    calls = dict(zip(emergency["ticket_id"], emergency["qualifies_emergency"].astype(bool), strict=True))
    ev = {tid: "scope " + ", ".join(f"{r.scope_id} {r.confidence:.2f} [{str(r.evidence)[:160]}]"
                                    for r in g.itertuples())
          for tid, g in hits.groupby("ticket_id")}
    for r in emergency.itertuples():
        em = f"emergency {r.emergency_confidence:.2f} [{str(r.emergency_evidence)[:220]}]"
        ev[r.ticket_id] = (ev.get(r.ticket_id, "") + " | " + em).strip(" |")
    return Side(s, scope, calls, ev)


@dataclass
class FoldResult:
    """A fold read clean and noisy, and the tickets whose call moved."""

    batch: str
    clean: Side
    noisy: Side
    flips: list[str]


def run_fold(k: int, seed: int, blocks: list[Block]) -> FoldResult:
    """Batch-k read clean and with boilerplate, with the fold's bank and models (forward chaining)."""
    policy = default_policy()
    path = BLIND / f"batch-{k:02d}.csv"
    fold = fold_models(path, policy, later(policy, k) or [path])
    data = load_labelled(path)
    noisy_data, kinds = add_noise(data, blocks, seed * 1000 + k)
    clean, noisy = _read(data, policy, fold), _read(noisy_data, policy, fold)
    truth = data.truth.set_index("ticket_id")
    flips = []
    for tid in truth.index:
        a, b = clean.scope.get(tid, frozenset()), noisy.scope.get(tid, frozenset())
        ea, eb = clean.emergency.get(tid, False), noisy.emergency.get(tid, False)
        if a == b and ea == eb:
            continue
        what = []
        if a != b:
            what.append(f"scope {sorted(a)} -> {sorted(b)} (truth {sorted(truth.loc[tid, 'true_scope'])})")
        if ea != eb:
            what.append(f"emergency {ea} -> {eb} (truth {bool(truth.loc[tid, 'true_emergency'])})")
        flips.append(f"{path.stem} {tid} [{'+'.join(kinds[tid])}] {'; '.join(what)}"
                     f" | {data.subjects.get(tid, '')}\n    clean: {clean.evidence.get(tid, '-')}"
                     f"\n    noisy: {noisy.evidence.get(tid, '-')}")
    return FoldResult(path.stem, clean, noisy, flips)


def pooled(sides: list[Side]) -> dict[str, str | int]:
    """Pooled figures over folds (forward_chain's sums): scope macro-F1, confident P, emergency
    P/R and counts, queue."""
    folds = [fold_of("", s.scores) for s in sides]
    per = pd.concat([f.per_id for f in folds]).groupby("scope_id")[["tp", "fp", "fn"]].sum()
    found, false, missed, calls, right, tickets, queue = (
        sum(getattr(f, a) for f in folds)
        for a in ("found", "false", "missed", "confident_calls", "confident_right", "tickets", "queue"))
    # as text: the markdown table would round a float to two places
    return {"scope macro-F1": f"{pooled_macro_f1(per):.4f}",
            "scope false / missed": f"{int(per['fp'].sum())}/{int(per['fn'].sum())}",
            "confident scope P": f"{_ratio(right, calls):.4f}",
            "confident calls": calls,
            "emergency P": f"{_ratio(found, found + false):.3f}",
            "emergency R": f"{_ratio(found, found + missed):.3f}",
            "found/false/missed": f"{found}/{false}/{missed}",
            "review queue": f"{queue} ({queue / tickets:.1%})" if tickets else "0"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", default="40-42", help="batch numbers: 37-42 or 40,42")
    parser.add_argument("--seed", type=int, default=1, help="draws the blocks per ticket")
    parser.add_argument("--flips", action="store_true", help="list every ticket whose call moved")
    parser.add_argument("--blocks", type=Path, default=BLOCKS,
                        help="a blocks file in noise_blocks.yaml's format (a held-out set of blocks"
                             " nobody tuned on)")
    parser.add_argument("--half", choices=["train", "eval"],
                        help="every other block of each kind: train (the first of each) or eval")
    args = parser.parse_args()
    policy = default_policy()
    numbers = parse_folds(args.folds)
    known = {_number(f) for f in bank_batches(policy)}
    if any(k not in known for k in numbers):
        raise SystemExit("every fold must be a banked blind batch")
    blocks = read_blocks(args.blocks, args.half)
    print(f"# Invariance to e-mail boilerplate (policy {policy.version}), folds {args.folds},"
          f" seed {args.seed}, {len(blocks)} blocks of {args.blocks.name}"
          + (f" ({args.half} half)" if args.half else ""))
    results = []
    for k in numbers:
        r = run_fold(k, args.seed, blocks)
        results.append(r)
        clean, noisy = pooled([r.clean]), pooled([r.noisy])
        print(f"{r.batch}: {len(r.flips)} tickets moved; scope macro-F1 clean {clean['scope macro-F1']}"
              f" noisy {noisy['scope macro-F1']}, scope false/missed {clean['scope false / missed']}"
              f" -> {noisy['scope false / missed']}", flush=True)
    rows = [{"text": name, **pooled([getattr(r, name) for r in results])} for name in ("clean", "noisy")]
    moved = sum(len(r.flips) for r in results)
    tickets = sum(r.clean.scores.tickets for r in results)
    print("\n" + _table(pd.DataFrame(rows)) + f"\n\ntickets whose call moved: {moved} of {tickets}")
    if args.flips:
        for r in results:
            for f in r.flips:
                print("- " + f)


if __name__ == "__main__":
    main()
