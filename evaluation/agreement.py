"""How far two careful readers of the policy agree on a blind batch: the ceiling for the classifier.

A second reader labels a banked batch's tickets from the policy alone, without its labels
(evaluation/agreement/<batch>-second-reader.csv: ticket_id, true_scope, true_emergency). Their
labels are scored against the batch's as if they were a classifier's calls, with the same scoring
as the classifier's (evaluation.evaluate.score), so the figures read side by side.

    python -m evaluation.agreement                     # every batch with a second reader
    python -m evaluation.agreement evaluation/blind/batch-11.csv \
        evaluation/agreement/batch-11-second-reader.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from evaluation.datasets import _scope_set, load_labelled
from evaluation.evaluate import BLIND, Scores, _table, score

AGREEMENT = Path(__file__).with_name("agreement")


def second_reader(batch: Path, labels: Path) -> Scores:
    """The second reader's labels of `batch` scored against the batch's own labels."""
    data = load_labelled(batch)
    second = pd.read_csv(labels, dtype=str, keep_default_na=False)
    odd = sorted(set(data.truth["ticket_id"]) ^ set(second["ticket_id"]))
    odd += second.loc[second["ticket_id"].duplicated(), "ticket_id"].tolist()
    if odd:
        raise SystemExit(f"{labels}: not one row per ticket of {batch.name} (e.g. {odd[:3]})")
    hits = pd.DataFrame(
        [(tid, sid, 1.0) for tid, ids in zip(second["ticket_id"], second["true_scope"], strict=True)
         for sid in sorted(_scope_set(ids))],
        columns=["ticket_id", "scope_id", "confidence"])
    emergency = pd.DataFrame({
        "ticket_id": second["ticket_id"],
        "qualifies_emergency": second["true_emergency"].str.strip().str.lower() == "true",
        "emergency_confidence": 1.0})
    scores = score(data, hits, emergency)
    scores.name = f"{batch.name}: second reader ({labels.name})"
    return scores


def pairs() -> list[tuple[Path, Path]]:
    """Every banked batch that has a second reader's labels."""
    return [(BLIND / f"{p.name.removesuffix('-second-reader.csv')}.csv", p)
            for p in sorted(AGREEMENT.glob("*-second-reader.csv"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("batch", type=Path, nargs="?")
    parser.add_argument("labels", type=Path, nargs="?")
    args = parser.parse_args()
    chosen = [(args.batch, args.labels)] if args.batch and args.labels else pairs()
    rows = []
    for batch, labels in chosen:
        s = second_reader(batch, labels)
        rows.append({"batch": batch.stem, "tickets": s.tickets, "scope_macro_f1": s.scope_macro_f1,
                     "emergency_precision": s.emergency_precision, "emergency_recall": s.emergency_recall,
                     "differing_scope_labels": sum(e.split()[1] == "scope" for e in s.errors)})
    print("### Two readers of the policy (second reader's labels scored against the batch's)\n")
    print(_table(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
