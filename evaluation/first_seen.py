"""Rebuild evaluation/first_seen_calls.csv: every blind batch's calls as they were first seen.

Each row of evaluation/learning_curve.csv names the commit whose code scored that batch first
(`code_commit`; that commit's exemplar bank is what preceded the batch). This script checks each
commit out in a detached worktree (`git worktree add --detach`), runs *that commit's own*
`evaluation.evaluate` on the batch (today's file in evaluation/blind/, unchanged since it was
scored) and writes one row per call: the raw confidence the call had, its state then, whether it
was right, and signals the call already had (the semantic vote for the id, the strongest vote for
another id, whether a disagreeing vote held the call for review whatever its confidence, whether
anything but the vote - a rule, the category, the time logged - read the call, and whether the
vote disagreed with an emergency call, declared or not: below today's emergency_review_below). The
worktrees are removed afterwards.

This is the honest calibration set: leave-one-batch-out on the bank is not, because the rules were
tuned on every banked batch. `python -m evaluation.calibrate` fits the confidence maps on it.

    python -m evaluation.first_seen            # all batches of the learning curve (minutes)
    python -m evaluation.first_seen --batch batch-11
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from evaluation.evaluate import BLIND, read_curve
from policy.config import default_policy
from policy.paths import PROJECT_ROOT

FIRST_SEEN = Path(__file__).with_name("first_seen_calls.csv")
COLUMNS = ["batch", "code_commit", "ticket_id", "kind", "scope_id", "raw_confidence", "call_state",
           "right", "vote", "other_vote", "held", "rules", "disagrees"]

# Run inside the old commit's worktree (its own modules on sys.path): score the batch with that
# commit's evaluate_file, keeping the frames its score() received and the connection's votes.
RUNNER = r'''
import sys, duckdb, pandas as pd
import evaluation.evaluate as ev
from policy.config import default_policy
path, batch, commit, out, review_below = sys.argv[1:6]
seen, cons = {}, []
class _Duck:
    def __getattr__(self, name):
        return getattr(duckdb, name)
    def connect(self, *a, **k):
        con = duckdb.connect(*a, **k)
        cons.append(con)
        return con
ev.duckdb = _Duck()
_score = ev.score
def _keep(data, hits, emergency):
    seen.update(data=data, hits=hits, emergency=emergency)
    return _score(data, hits, emergency)
ev.score = _keep
from pathlib import Path
s = ev.evaluate_file(Path(path), default_policy())
print(f"{batch} {commit}: macro-F1 {s.scope_macro_f1:.3f} P {s.emergency_precision:.3f}"
      f" R {s.emergency_recall:.3f} queue {s.review_queue}", file=sys.stderr)
con = cons[-1]
text = None  # the ticket text the votes join on, wherever that commit kept it
for mod, name in (("logic.text_match", "TICKET_TEXT"), ("logic.classify", "TICKET_TEXT"),
                  ("logic.classify", "_TICKET_TEXT"), ("assets.classify", "_TICKET_TEXT")):
    try:
        text = getattr(__import__(mod, fromlist=[name]), name)
        break
    except (ImportError, AttributeError):
        continue
votes = con.execute(f"""
    SELECT t.ticket_id, v.scope_id, v.vote FROM clf_tickets t
    JOIN clf_semantic_scope v ON v.raw_txt = {text}""").df()
em_votes = con.execute(f"""
    SELECT t.ticket_id, v.vote FROM clf_tickets t
    JOIN clf_semantic_emergency v ON v.raw_txt = {text}""").df()
vote = {(r.ticket_id, r.scope_id): r.vote for r in votes.itertuples()}
em_vote = dict(zip(em_votes["ticket_id"], em_votes["vote"]))
truth = seen["data"].truth.set_index("ticket_id")
rows = []
hits = seen["hits"]
def ruled(evidence):  # evidence other than the vote's own (a rule, a category, the time logged)
    vote = ("semantic vote", "dampened", "not declared and the semantic vote")
    return any(p and not p.startswith(vote) for p in evidence.split("; "))
for h in hits.itertuples():
    others = [v for (t, sid), v in vote.items() if t == h.ticket_id and sid != h.scope_id]
    rows.append({"batch": batch, "code_commit": commit, "ticket_id": h.ticket_id, "kind": "scope",
                 "scope_id": h.scope_id, "raw_confidence": h.confidence, "call_state": h.call_state,
                 "right": h.scope_id in truth.loc[h.ticket_id, "true_scope"],
                 "vote": vote.get((h.ticket_id, h.scope_id), 0.0), "other_vote": max(others, default=0.0),
                 "held": "disagrees (needs review)" in h.evidence, "rules": ruled(h.evidence),
                 "disagrees": "disagrees (needs review)" in h.evidence})
for e in seen["emergency"].itertuples():
    if not e.qualifies_emergency:
        continue
    rows.append({"batch": batch, "code_commit": commit, "ticket_id": e.ticket_id, "kind": "emergency",
                 "scope_id": "", "raw_confidence": e.emergency_confidence,
                 "call_state": e.emergency_call_state,
                 "right": bool(truth.loc[e.ticket_id, "true_emergency"]),
                 "vote": em_vote.get(e.ticket_id, 0.0), "other_vote": 0.0,
                 "held": "semantic vote disagrees (needs review)" in e.emergency_evidence,
                 "rules": ruled(e.emergency_evidence),
                 "disagrees": e.ticket_id in em_vote and em_vote[e.ticket_id] < float(review_below)})
pd.DataFrame(rows).to_csv(out, index=False)
'''


def run_commit(commit: str, batches: list[str], python: str) -> pd.DataFrame:
    """Score `batches` with the code of `commit` in a detached worktree (removed afterwards). The
    `disagrees` column reads today's emergency_review_below: the threshold the map is applied with."""
    review_below = default_policy().scope_classification.semantic.emergency_review_below
    tree = Path(f"{PROJECT_ROOT}-{commit}")
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=PROJECT_ROOT, check=True,
                   capture_output=True)
    try:
        frames = []
        for batch in batches:
            rows = tree / f"first_seen_{batch}.csv"  # the worktree is removed afterwards
            args = [str(BLIND / f"{batch}.csv"), batch, commit, str(rows), str(review_below)]
            out = subprocess.run([python, "-c", RUNNER, *args],
                                 cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                                 capture_output=True, text=True, check=False)
            print(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "", file=sys.stderr)
            if out.returncode:
                raise SystemExit(f"{commit} on {batch} failed:\n{out.stderr}")
            frames.append(pd.read_csv(rows, dtype={"code_commit": str, "scope_id": str},
                                      keep_default_na=False))
        return pd.concat(frames, ignore_index=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=PROJECT_ROOT, check=False)


def read_first_seen(path: Path = FIRST_SEEN) -> pd.DataFrame:
    """The first-seen calls (one row per call)."""
    return pd.read_csv(path, dtype={"code_commit": str}, keep_default_na=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", action="append", default=[], help="only these batches (repeatable)")
    parser.add_argument("--out", type=Path, default=FIRST_SEEN)
    args = parser.parse_args()
    curve = read_curve()
    if args.batch:
        curve = curve[curve["batch"].isin(args.batch)]
    frames = []
    for commit, group in curve.groupby("code_commit", sort=False):
        frames.append(run_commit(str(commit), list(group["batch"]), sys.executable))
    new = pd.concat(frames, ignore_index=True)
    if args.batch and args.out.exists():  # replace those batches' rows only
        old = read_first_seen(args.out)
        new = pd.concat([old[~old["batch"].isin(args.batch)], new], ignore_index=True)
    new = new.sort_values(["batch", "kind", "ticket_id", "scope_id"], kind="stable")[COLUMNS]
    new.to_csv(args.out, index=False, float_format="%.4g")
    print(f"{len(new)} calls from {new['batch'].nunique()} batches -> {args.out}")


if __name__ == "__main__":
    main()
