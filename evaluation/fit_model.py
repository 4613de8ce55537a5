"""Fit the learned scope combination (logic/learned.py), the text model (logic/text_model.py), the
word model (logic/word_model.py), the classifier chain (logic/scope_chain.py) and the learned
emergency signal (logic/emergency_model.py) on the labelled bank and store their weights.

    python -m evaluation.fit_model            # writes learned, text, word, chain and emergency model_file
    python -m evaluation.fit_model --check    # refits and fails if the stored weights differ

Training rows are the candidate (ticket, scope id) pairs the scope SQL computes for every ticket of
the bank's labelled files (semantic.exemplar_files), features as in production. A ticket's semantic
vote is taken with its whole group out of the bank (a blind batch, or one writing batch of
labelled_tickets.csv: the letters of its id), so that the vote is as strong in training as on
unseen text, not inflated by the ticket's own batch-mates. Deterministic: the same files give the
same weights (Newton's method from zero, rows in file order).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from evaluation.datasets import (
    Dataset,
    fit_chain_on_files,
    fit_emergency_model_on_files,
    fit_word_model_on_files,
    input_tables,
    load_labelled,
)
from evaluation.evaluate import exemplar_files
from logic.classify import scope_hits_sql
from logic.emergency import emergency_sql
from logic.emergency_model import emergency_model_json
from logic.learned import fit_logistic, predict
from logic.scope_chain import chain_json
from logic.semantic import ExemplarBank, builtin_bank, read_texts_of, write_votes
from logic.text_match import TICKET_TEXT
from logic.text_model import fit_text_model, text_model_json
from logic.word_model import word_model_json
from policy.base import SCOPE_EXCLUSION_IDS
from policy.classifiers import LEARNED_FEATURES, ScopeModel
from policy.config import PolicyConfig, default_policy
from policy.paths import PROJECT_ROOT

L2 = 0.1  # ridge penalty on every weight but the intercept (features are all of order 1)


def group_of(path: Path, ticket_id: str) -> str:
    """The writing batch a ticket belongs to: the blind batch file, or the letters of its id."""
    letters = re.match(r"[A-Za-z]+", ticket_id)
    return f"{path.stem}:{letters.group(0) if letters else ''}" if path.parent.name != "blind" else path.stem


def _subset(data: Dataset, ids: set[str]) -> Dataset:
    keep = data.tickets["ticket_id"].isin(ids)
    return Dataset(data.name, data.tickets[keep], data.time[data.time["ticket_id"].isin(ids)],
                   data.truth[data.truth["ticket_id"].isin(ids)])


def _without(bank: ExemplarBank, ids: set[str]) -> ExemplarBank:
    keep = [i for i, e in enumerate(bank.ids) if e not in ids]
    return ExemplarBank([bank.ids[i] for i in keep], [bank.texts[i] for i in keep],
                        [bank.described[i] for i in keep], [bank.sources[i] for i in keep],
                        bank.labels[keep], bank.weights[keep])


def features(policy: PolicyConfig, data: Dataset, bank: ExemplarBank) -> pd.DataFrame:
    """The learned combination's inputs per candidate (ticket, id) pair of a data set."""
    con = duckdb.connect()
    input_tables(con, data, policy)
    texts, messages = read_texts_of(con, policy, f"SELECT {TICKET_TEXT} AS raw_txt FROM clf_tickets")
    # The neighbours' vote only: the text model was fitted on the held-out group's tickets too.
    write_votes(con, policy, texts, bank, text_model=None, messages=messages)
    # The emergency reading without the learned signal (round 13), for the same reason: its stored
    # fit saw the held-out group's tickets.
    signal = policy.emergency.learned_model.model_copy(update={"enabled": False})
    unsignalled = policy.model_copy(
        update={"emergency": policy.emergency.model_copy(update={"learned_model": signal})})
    con.execute(f"CREATE TEMP TABLE clf_emergency AS {emergency_sql(unsignalled)}")
    return con.execute(scope_hits_sql(policy, "clf_emergency", features_only=True)).df()


def training_rows(policy: PolicyConfig, files: list[Path]) -> pd.DataFrame:
    """Features and the truth (`label`) of every candidate pair of the files' tickets, each group's
    vote taken with the group out of the bank (the bank holds only `files`)."""
    bank = builtin_bank(policy, files)
    frames = []
    for path in files:
        data = load_labelled(path)
        groups = data.tickets["ticket_id"].map(lambda t, p=path: group_of(p, t))
        truth = dict(zip(data.truth["ticket_id"], data.truth["true_scope"], strict=True))
        for group in sorted(groups.unique()):
            ids = set(data.tickets.loc[groups == group, "ticket_id"])
            rows = features(policy, _subset(data, ids), _without(bank, ids))
            rows["group"] = group
            rows["label"] = [float(s in truth[t]) for t, s in zip(rows["ticket_id"], rows["scope_id"],
                                                                   strict=True)]
            frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def fit_rows(rows: pd.DataFrame) -> dict[str, list[float]]:
    """One logistic regression per scope id over its candidate rows."""
    weights = {}
    for sid in SCOPE_EXCLUSION_IDS:
        mine = rows[rows["scope_id"] == sid]
        x = mine[list(LEARNED_FEATURES)].to_numpy(float)
        y = mine["label"].to_numpy(float)
        beta = fit_logistic(x, y, L2) if len(mine) else np.zeros(len(LEARNED_FEATURES) + 1)
        weights[sid] = [round(float(b), 6) for b in beta]
    return weights


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fit(policy: PolicyConfig, exclude: list[Path] | None = None) -> ScopeModel:
    """The model fitted on the bank's labelled files, less `exclude` (leave-one-batch-out)."""
    dropped = {p.resolve() for p in exclude or []}
    files = [f for f in exemplar_files(policy) if f.resolve() not in dropped]
    rows = training_rows(policy, files)
    return ScopeModel(features=list(LEARNED_FEATURES), l2=L2,
                      trained_on=[{"file": f.relative_to(PROJECT_ROOT).as_posix(), "sha256": _digest(f)}
                                  for f in files],
                      training_rows=len(rows), weights=fit_rows(rows))


def out_of_fold(rows: pd.DataFrame) -> pd.DataFrame:
    """Each group's candidate pairs scored by a model fitted on the other groups (calibration)."""
    rows = rows.copy()
    rows["p"] = np.nan
    for group in sorted(rows["group"].unique()):
        held = rows["group"] == group
        for sid, beta in fit_rows(rows[~held]).items():
            mine = held & (rows["scope_id"] == sid)
            if mine.any():
                rows.loc[mine, "p"] = predict(np.array(beta), rows.loc[mine, list(LEARNED_FEATURES)]
                                              .to_numpy(float))
    return rows


def model_json(model: ScopeModel) -> str:
    return json.dumps(model.model_dump(), indent=1) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the stored weights are not a refit's")
    args = parser.parse_args()
    policy = default_policy()
    targets = [(PROJECT_ROOT / policy.scope_classification.learned.model_file, model_json(fit(policy)))]
    if policy.scope_classification.semantic.text_model.scope_ids:
        targets.append((PROJECT_ROOT / policy.scope_classification.semantic.text_model.model_file,
                        text_model_json(fit_text_model(policy, exemplar_files(policy)))))
    if policy.scope_classification.word_model.scope_ids:
        targets.append((PROJECT_ROOT / policy.scope_classification.word_model.model_file,
                        word_model_json(fit_word_model_on_files(policy, exemplar_files(policy)))))
    if policy.scope_classification.chain.scope_ids:
        targets.append((PROJECT_ROOT / policy.scope_classification.chain.model_file,
                        chain_json(fit_chain_on_files(policy, exemplar_files(policy)))))
    targets.append((PROJECT_ROOT / policy.emergency.learned_model.model_file,
                    emergency_model_json(fit_emergency_model_on_files(policy, exemplar_files(policy)))))
    for target, text in targets:
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                raise SystemExit(f"{target}: not the weights a refit gives"
                                 " (run python -m evaluation.fit_model)")
            print(f"{target}: up to date")
            continue
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
