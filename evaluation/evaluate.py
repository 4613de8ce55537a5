"""Score the scope-exclusion and emergency classifiers (logic/classify.py + logic/semantic.py).

Data sets: (a) blind batches in evaluation/blind/ (held-out tickets; each is scored once, before any
change made for it, and that first-seen score is kept in evaluation/learning_curve.csv); (b) the
hand-labelled training tickets in evaluation/labelled_tickets.csv (also the semantic vote's built-in
exemplar bank, so it is scored leave-one-out); (c) a freshly generated demo MSP with its ground
truth. Prints per-category precision/recall/F1, macro-F1, emergency precision/recall, the
calibration table (confidence band vs share of calls right), the review queue and confusion tables.

    python -m evaluation.evaluate                      # learning curve, latest blind batch, demo
    python -m evaluation.evaluate --labelled evaluation/blind/batch-01.csv --no-demo
    python -m evaluation.evaluate --labelled evaluation/blind/batch-02.csv --no-demo --record batch-02
    python -m evaluation.evaluate --labelled evaluation/labelled_tickets.csv --no-demo --errors
    python -m evaluation.evaluate --leave-one-batch-out  # each blind batch of the bank, its own tickets out
    python -m evaluation.evaluate --labelled evaluation/blind/batch-03.csv --no-demo \
        --exclude-from-bank evaluation/blind/batch-03.csv

time_entries in the labelled file: entries separated by ';', each `work_type:minutes[:flag...][:note]`
with flags `after` (outside the client's business hours) and `nb` (not billable); anything else is the
entry's note. Example: `travel:40;onsite:210`, `remote:180:after:Upgrade applied`.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from evaluation.datasets import (
    LABELLED,
    Dataset,
    fit_chain_on_files,
    fit_emergency_model_on_files,
    fit_word_model_on_files,
    input_tables,
    load_demo,
    load_labelled,
)
from logic.classify import (
    NOTES_SQL,
    MatchedTexts,
    scope_category_hits_sql,
    scope_docs_sql,
    scope_hits_sql,
    scope_text_hits_sql,
)
from logic.emergency import emergency_rules_sql, emergency_sql
from logic.learned import scope_model
from logic.message import CLF_TEXTS
from logic.scope_chain import chain_model
from logic.semantic import POLICY_MODEL, ExemplarBank, builtin_bank, prepare_votes
from logic.text_model import fit_text_model, text_model
from logic.word_model import word_model, write_weights
from policy.base import SCOPE_EXCLUSION_IDS
from policy.classifiers import ScopeModel, StoredTextModel, StoredWordModel
from policy.config import PolicyConfig, default_policy
from policy.emergency_model import StoredEmergencyModel
from policy.paths import PROJECT_ROOT
from policy.scope_chain import StoredChainModel

BLIND = Path(__file__).with_name("blind")
LEARNING_CURVE = Path(__file__).with_name("learning_curve.csv")
CURVE_COLUMNS = ["batch", "scored_at", "code_commit", "tickets", "scope_macro_f1", "emergency_precision",
                 "emergency_recall", "review_queue_share", "note"]
BANDS = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01]  # calibrated confidences may be below call_at
NONE = "(none)"


@dataclass
class Scores:
    """Everything the report prints, for one data set."""

    name: str
    tickets: int
    per_category: pd.DataFrame  # scope_id, support, tp, fp, fn, precision, recall, f1
    scope_macro_f1: float
    scope_confusion: pd.DataFrame  # true label x predicted label counts
    emergency_confusion: pd.DataFrame
    emergency_precision: float
    emergency_recall: float
    declared_precision: float  # the client's own declaration, for comparison
    declared_recall: float
    errors: list[str]
    # kind, band; calls, right, accuracy by raw confidence, then by calibrated confidence
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    review_queue: int = 0  # tickets with a call that needs review
    confident_precision: float = 0.0  # scope calls in state `confident` only
    confident_calls: int = 0  # how many scope calls that precision counts (to pool folds)
    confident_right: int = 0  # of them right


def exemplar_files(policy: PolicyConfig) -> list[Path]:
    """The labelled files of the semantic vote's built-in bank (config: semantic.exemplar_files)."""
    return [PROJECT_ROOT / f for f in policy.scope_classification.semantic.exemplar_files]


def classify(data: Dataset, policy: PolicyConfig, bank: ExemplarBank | None = None,
             leave_out_same_text: bool = False, model: ScopeModel | None = None,
             text_model: StoredTextModel | None | str = POLICY_MODEL,
             words: StoredWordModel | str = POLICY_MODEL,
             emergency: StoredEmergencyModel | str = POLICY_MODEL,
             chain: StoredChainModel | None | str = POLICY_MODEL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run both classifiers (rules + semantic vote) over a data set: (scope hits, emergency assessment)."""
    con = duckdb.connect()
    input_tables(con, data, policy)
    emergency_call(con, policy, bank, leave_out_same_text, text_model, emergency)
    if policy.scope_classification.word_model.enabled:
        write_weights(con, policy, word_model(policy) if isinstance(words, str) else words)
    matched = _match_scope_rules(con, policy)
    hits = con.execute(scope_hits_sql(policy, "clf_emergency", model=model, matched=matched,
                                      chain=chain)).df()
    emergency = con.execute("SELECT * FROM clf_emergency").df()
    # `confidence` is the raw one; beside it the calibrated one the states and the reports use
    shown = con.execute(scope_hits_sql(policy, "clf_emergency", model=model, matched=matched,
                                       calibrated=True, chain=chain)).df()
    hits["calibrated"] = hits[["ticket_id", "scope_id"]].merge(shown, how="left")["confidence"].to_numpy()
    shown = con.execute(emergency_sql(policy, rules="clf_emergency_rules", calibrated=True)).df()
    emergency["calibrated"] = (emergency[["ticket_id"]].merge(shown, how="left")["emergency_confidence"]
                               .to_numpy())
    return hits, emergency


def emergency_call(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, bank: ExemplarBank | None = None,
                   leave_out_same_text: bool = False,
                   text_model: StoredTextModel | None | str = POLICY_MODEL,
                   emergency: StoredEmergencyModel | str = POLICY_MODEL) -> None:
    """clf_emergency (the raw emergency reading) over clf_tickets, with clf_emergency_rules and the votes."""
    bank = bank if bank is not None else builtin_bank(policy, exemplar_files(policy))
    # The emergency rules run once, as in a pipeline run (assets/classification.py): the votes (to
    # pick the texts to embed, above max_texts_all) and the raw and calibrated readings join them.
    con.execute(f"CREATE TEMP TABLE clf_emergency_rules AS {emergency_rules_sql(policy)}")
    # the learned emergency signal's weights with the votes: the policy's, or a fold's own refit
    prepare_votes(con, policy, bank, leave_out_same_text, rules="clf_emergency_rules",
                  text_model=text_model, emergency_signal=emergency)
    con.execute(f"CREATE TEMP TABLE clf_emergency AS {emergency_sql(policy, rules='clf_emergency_rules')}")


def _match_scope_rules(con: duckdb.DuckDBPyConnection, policy: PolicyConfig) -> MatchedTexts:
    """The scope rules' matches of clf_tickets' texts, notes and categories, once for both scope
    statements (raw and calibrated), as a pipeline run matches its months' (MatchedTexts): the
    rules' ~1 MB of SQL is most of a statement's cost, whatever the number of tickets."""
    con.execute(f"CREATE TEMP TABLE clf_notes AS {NOTES_SQL}")
    # the texts as the scope reading reads them (their messages with message_only: clf_read_texts)
    docs = scope_docs_sql(policy, CLF_TEXTS, "clf_notes")
    con.execute(f"CREATE TEMP TABLE clf_text_hits AS {scope_text_hits_sql(policy, docs)}")
    categories = "(SELECT coalesce(category, '') AS raw_cat FROM clf_tickets)"
    con.execute(f"CREATE TEMP TABLE clf_category_hits AS {scope_category_hits_sql(policy, categories)}")
    return MatchedTexts(notes="clf_notes", text_hits="clf_text_hits", category_hits="clf_category_hits")


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def score(data: Dataset, hits: pd.DataFrame, emergency: pd.DataFrame) -> Scores:
    """Per-category and emergency metrics against the data set's truth."""
    predicted = hits.groupby("ticket_id")["scope_id"].agg(frozenset).to_dict()
    truth = data.truth.set_index("ticket_id")
    rows, errors = [], []
    confusion: dict[tuple[str, str], int] = {}
    for tid, row in truth.iterrows():
        true_ids, pred_ids = row["true_scope"], predicted.get(tid, frozenset())
        for t in sorted(true_ids) or [NONE]:
            for p in sorted(pred_ids) or [NONE]:
                confusion[(t, p)] = confusion.get((t, p), 0) + 1
        if true_ids != pred_ids:
            errors.append(f"{tid} scope truth={sorted(true_ids)} predicted={sorted(pred_ids)}"
                          f" | {data.subjects.get(tid, '')}")
    for scope_id in SCOPE_EXCLUSION_IDS:
        tp = fp = fn = 0
        for tid, row in truth.iterrows():
            t, p = scope_id in row["true_scope"], scope_id in predicted.get(tid, frozenset())
            tp, fp, fn = tp + (t and p), fp + (p and not t), fn + (t and not p)
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        rows.append({"scope_id": scope_id, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn,
                     "precision": precision, "recall": recall,
                     "f1": _ratio(2 * precision * recall, precision + recall)})
    per_category = pd.DataFrame(rows)
    labels = [*SCOPE_EXCLUSION_IDS, NONE]
    scope_confusion = pd.DataFrame(
        [[confusion.get((t, p), 0) for p in labels] for t in labels], index=labels, columns=labels)
    scope_confusion = scope_confusion.loc[scope_confusion.sum(axis=1) > 0,
                                          scope_confusion.sum(axis=0) > 0]

    em = emergency.set_index("ticket_id")
    declared = data.tickets.set_index("ticket_id")["declared_emergency"].astype(bool)
    joined = truth.join(em, how="left")
    pred = joined["qualifies_emergency"].fillna(False).astype(bool)
    true = joined["true_emergency"].astype(bool)
    decl = declared.reindex(joined.index).fillna(False).astype(bool)
    tp, fp = int((pred & true).sum()), int((pred & ~true).sum())
    fn, tn = int((~pred & true).sum()), int((~pred & ~true).sum())
    for tid in joined.index[pred != true]:
        errors.append(f"{tid} emergency truth={bool(true[tid])} predicted={bool(pred[tid])}"
                      f" ({em.loc[tid, 'emergency_confidence']:.2f}) | {data.subjects.get(tid, '')}")
    emergency_confusion = pd.DataFrame(
        [[tp, fn], [fp, tn]], index=["truly emergency", "not an emergency"],
        columns=["assessed emergency", "assessed not"])
    # Calibration: of the calls made in each confidence band, the share that was right; by the raw
    # confidence and by the calibrated one (logic/calibration.py: what the states and reports use).
    true_scope = truth["true_scope"].to_dict()
    cal_hits = hits["calibrated"] if "calibrated" in hits else hits["confidence"]
    calls = [("scope", float(c), float(cc), sid in true_scope.get(tid, frozenset()))
             for tid, sid, c, cc in zip(hits["ticket_id"], hits["scope_id"], hits["confidence"], cal_hits,
                                        strict=True)
             if tid in true_scope]
    em_calibrated = joined["calibrated"] if "calibrated" in joined else joined["emergency_confidence"]
    calls += [("emergency", float(joined.loc[tid, "emergency_confidence"]), float(em_calibrated[tid]),
               bool(true[tid])) for tid in joined.index[pred]]
    calibration = []
    for kind in ("scope", "emergency"):
        for lo, hi in zip(BANDS[:-1], BANDS[1:], strict=True):
            band = [right for k, c, _cc, right in calls if k == kind and lo <= c < hi]
            cband = [right for k, _c, cc, right in calls if k == kind and lo <= cc < hi]
            calibration.append({"kind": kind, "confidence": f"{lo:.1f}-{min(hi, 1.0):.1f}",
                                "calls": len(band), "right": sum(band),
                                "accuracy": _ratio(sum(band), len(band)),
                                "calls (calibrated)": len(cband), "right (calibrated)": sum(cband),
                                "accuracy (calibrated)": _ratio(sum(cband), len(cband))})
    state = hits["call_state"] if "call_state" in hits else pd.Series("confident", index=hits.index)
    queue = set(hits.loc[state == "needs review", "ticket_id"])
    if "emergency_call_state" in emergency:
        queue |= set(emergency.loc[emergency["emergency_call_state"] == "needs review", "ticket_id"])
    confident = [sid in true_scope.get(tid, frozenset())
                 for tid, sid, st in zip(hits["ticket_id"], hits["scope_id"], state, strict=True)
                 if st == "confident" and tid in true_scope]
    return Scores(
        name=data.name, tickets=len(truth), per_category=per_category,
        # a category absent from both truth and predictions has no F1; it does not count either way
        scope_macro_f1=float(per_category.loc[per_category[["tp", "fp", "fn"]].sum(axis=1) > 0, "f1"].mean()),
        scope_confusion=scope_confusion,
        emergency_confusion=emergency_confusion, emergency_precision=_ratio(tp, tp + fp),
        emergency_recall=_ratio(tp, tp + fn),
        declared_precision=_ratio(int((decl & true).sum()), int(decl.sum())),
        declared_recall=_ratio(int((decl & true).sum()), int(true.sum())), errors=errors,
        calibration=pd.DataFrame(calibration), review_queue=len(queue & set(truth.index)),
        confident_precision=_ratio(sum(confident), len(confident)), confident_calls=len(confident),
        confident_right=sum(confident))


def evaluate(data: Dataset, policy: PolicyConfig | None = None, bank: ExemplarBank | None = None,
             leave_out_same_text: bool = False, model: ScopeModel | None = None,
             text_model: StoredTextModel | None | str = POLICY_MODEL,
             words: StoredWordModel | str = POLICY_MODEL,
             emergency_signal: StoredEmergencyModel | str = POLICY_MODEL,
             chain: StoredChainModel | None | str = POLICY_MODEL) -> Scores:
    """Classify a data set and score it."""
    hits, emergency = classify(data, policy or default_policy(), bank, leave_out_same_text, model,
                               text_model, words, emergency_signal, chain)
    return score(data, hits, emergency)


def evaluate_file(path: Path, policy: PolicyConfig, exclude: list[Path] | None = None) -> Scores:
    """Score a labelled file; a file that is itself in the exemplar bank is scored leave-one-out.

    `exclude` drops whole files from the bank (leave-one-batch-out: a batch scored with none of its
    own tickets voting, as if it were unseen - the concepts learnt from it still count). With the
    learned combination, the text model, the word model, the emergency signal or the classifier chain
    on, they are refitted without those files too (evaluation/fit_model.py, logic/text_model.py,
    logic/word_model.py, logic/emergency_model.py, logic/scope_chain.py).
    """
    fold = fold_models(path, policy, exclude)
    return evaluate(load_labelled(path), policy, fold.bank, leave_out_same_text=fold.in_bank,
                    model=fold.model, text_model=fold.texts, words=fold.words,
                    emergency_signal=fold.signal, chain=fold.chain)


@dataclass
class FoldModels:
    """The bank and models a file is scored with once `exclude` is out of the bank."""

    in_bank: bool  # the scored file is itself in the bank: scored leave-one-out
    bank: ExemplarBank | None = None  # None: the policy's whole bank
    model: ScopeModel | None = None
    texts: StoredTextModel | None | str = POLICY_MODEL
    words: StoredWordModel | str = POLICY_MODEL
    signal: StoredEmergencyModel | str = POLICY_MODEL
    chain: StoredChainModel | None | str = POLICY_MODEL


def fold_models(path: Path, policy: PolicyConfig, exclude: list[Path] | None = None,
                scope: bool = True) -> FoldModels:
    """The bank without `exclude` and every model refitted without it; the policy's own when
    nothing is excluded. `scope=False` skips the scope-only fits (the learned combination, the word
    model, the chain), which no emergency reading uses."""
    dropped = {f.resolve() for f in exclude or []}
    files = [f for f in exemplar_files(policy) if f.resolve() not in dropped]
    fold = FoldModels(in_bank=path.resolve() in {f.resolve() for f in files})
    if not dropped:
        return fold
    fold.bank = builtin_bank(policy, files)
    if scope and scope_model(policy) is not None:
        from evaluation.fit_model import fit  # imports this module

        fold.model = fit(policy, exclude)
    if text_model(policy) is not None:
        # the text model refitted without the batch too (none when nothing is left to fit on)
        fold.texts = fit_text_model(policy, files) if files else None
    if scope and word_model(policy) is not None:
        fold.words = fit_word_model_on_files(policy, files)  # the word model too (round 12)
    if policy.emergency.learned_model.enabled and policy.scope_classification.semantic.enabled:
        fold.signal = fit_emergency_model_on_files(policy, files)  # and the emergency signal (round 13)
    if scope and chain_model(policy) is not None:
        fold.chain = fit_chain_on_files(policy, files) if files else None  # and the chain (round 15)
    return fold


def leave_one_batch_out(policy: PolicyConfig) -> pd.DataFrame:
    """Every blind batch in the exemplar bank scored with that batch taken out of the bank."""
    rows = []
    for path in sorted(exemplar_files(policy)):
        if path.parent.resolve() != BLIND.resolve():
            continue
        s = evaluate_file(path, policy, exclude=[path])
        rows.append({"batch": path.stem, "tickets": s.tickets, "scope_macro_f1": s.scope_macro_f1,
                     "emergency_precision": s.emergency_precision, "emergency_recall": s.emergency_recall,
                     "confident_precision": s.confident_precision,
                     "review_queue": f"{s.review_queue} ({_ratio(s.review_queue, s.tickets):.0%})"})
    return pd.DataFrame(rows, columns=["batch", "tickets", "scope_macro_f1", "emergency_precision",
                                       "emergency_recall", "confident_precision", "review_queue"])


def read_curve(path: Path = LEARNING_CURVE) -> pd.DataFrame:
    """The learning curve: one first-seen score per blind batch."""
    if not path.exists():
        return pd.DataFrame(columns=CURVE_COLUMNS)
    return pd.read_csv(path, dtype={"code_commit": str}, keep_default_na=False)


def record(scores: Scores, batch: str, note: str, path: Path = LEARNING_CURVE) -> None:
    """Append a batch's first-seen score; a batch already on the curve is refused (scored once)."""
    if batch in set(read_curve(path)["batch"]):
        raise SystemExit(f"{path}: batch '{batch}' already has its first-seen score; not recorded again")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, check=False).stdout.strip()
    row = {"batch": batch, "scored_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
           "code_commit": commit, "tickets": scores.tickets,
           "scope_macro_f1": f"{scores.scope_macro_f1:.3f}",
           "emergency_precision": f"{scores.emergency_precision:.3f}",
           "emergency_recall": f"{scores.emergency_recall:.3f}",
           "review_queue_share": f"{_ratio(scores.review_queue, scores.tickets):.3f}", "note": note}
    new = not path.exists()
    with path.open("a", newline="") as f:
        # lineterminator: the file is LF like every other text file in the repository (csv's default is CRLF)
        writer = csv.DictWriter(f, fieldnames=CURVE_COLUMNS, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow(row)


def latest_blind() -> Path | None:
    """The newest blind batch file (evaluation/blind/batch-NN.csv)."""
    files = sorted(BLIND.glob("batch-*.csv"))
    return files[-1] if files else None


def _table(df: pd.DataFrame, index: bool = False) -> str:
    """A small markdown table without extra dependencies."""
    frame = df.reset_index() if index else df
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(scores: Scores) -> str:
    """The report for one data set."""
    return "\n\n".join([
        f"### {scores.name} ({scores.tickets} tickets)",
        _table(scores.per_category),
        f"**Scope macro-F1: {scores.scope_macro_f1:.3f}**",
        "Scope confusion (rows: true label, columns: predicted label; a ticket with several labels"
        " counts once per pair; `(none)` = no exclusion):",
        _table(scores.scope_confusion.rename_axis("true \\ predicted"), index=True),
        f"**Emergency precision {scores.emergency_precision:.3f}, recall {scores.emergency_recall:.3f}**"
        f" (the client's own declaration: precision {scores.declared_precision:.3f},"
        f" recall {scores.declared_recall:.3f})",
        _table(scores.emergency_confusion.rename_axis("truth"), index=True),
        "Calibration (calls made in each confidence band, and the share that was right; by the raw"
        " confidence, then by the calibrated one that the states and the reports use):",
        _table(scores.calibration),
        f"**Review queue: {scores.review_queue} of {scores.tickets} tickets"
        f" ({_ratio(scores.review_queue, scores.tickets):.1%})** have a call in state `needs review`;"
        f" precision of the `confident` scope calls: {scores.confident_precision:.3f}",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=None,
                        help="a labelled CSV (default: the latest blind batch)")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo generator's ground truth")
    parser.add_argument("--demo-seed", type=int, default=7)
    parser.add_argument("--demo-clients", type=int, default=12)
    parser.add_argument("--demo-months", type=int, default=6)
    parser.add_argument("--errors", action="store_true", help="list every misclassified ticket")
    parser.add_argument("--record", metavar="BATCH",
                        help="append this first-seen score to evaluation/learning_curve.csv")
    parser.add_argument("--note", default="", help="a note for the learning-curve row")
    parser.add_argument("--exclude-from-bank", type=Path, action="append", default=[], metavar="FILE",
                        help="take this labelled file out of the exemplar bank (repeatable); e.g. the"
                             " scored batch itself, to score it leave-one-batch-out")
    parser.add_argument("--leave-one-batch-out", action="store_true",
                        help="score every blind batch of the bank with that batch taken out of the bank")
    args = parser.parse_args()
    policy = default_policy()
    print(f"# Classifier evaluation (policy {policy.version})")
    curve = read_curve()
    if len(curve):
        print("\n### Learning curve (first-seen scores of each blind batch, before any change made for it)")
        print("\n" + _table(curve))
    if args.leave_one_batch_out:
        print("\n### Leave-one-batch-out (each blind batch scored with its own tickets out of the bank)")
        print("\n" + _table(leave_one_batch_out(policy)))
        return
    path = args.labelled or latest_blind() or LABELLED
    if args.record and args.exclude_from_bank:
        raise SystemExit("--record scores a batch as first seen: --exclude-from-bank does not apply")
    scores = evaluate_file(path, policy, args.exclude_from_bank)
    scores.name = f"{path.name}: {scores.name}"
    print("\n" + markdown(scores))
    if args.errors:
        print("\nMisclassified:\n" + "\n".join(f"- {e}" for e in scores.errors))
    if args.record:
        record(scores, args.record, args.note)
        print(f"\nRecorded {args.record} in {LEARNING_CURVE}")
    if not args.no_demo:
        demo = evaluate(load_demo(args.demo_seed, args.demo_clients, args.demo_months), policy)
        print("\n" + markdown(demo))


if __name__ == "__main__":
    main()
