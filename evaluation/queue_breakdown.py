"""Round 23: the review queue on forward chaining, by the mechanism that holds each call (issue 19 item 4).

Each fold k (batch-k with it and the later batches out of the bank, every model refitted, as
evaluation.forward_chain scores it) is classified once; every call it makes is kept with its raw
confidence, calibrated confidence and the held flag, its state and whether it was
right, and the minutes logged on the ticket (what a charge would bill: the blind batches carry no
amounts). Every call not confident has one mechanism (`mechanism`):

- scope, held: the vote disagrees (semantic.veto_below) and the rules are below hold_below;
- scope, weak id below min_confidence: called from the lower raw confidence of call_at_by_id;
- scope, below scope_confident_at: the calibrated confidence (raw and vote) below the bar;
- emergency, held: undeclared and the vote disagrees (semantic.emergency_review_below);
- emergency, below emergency_confident_at (declared or not).

Variants: the settings of `SETTINGS` re-run the two scope statements per fold (the votes, models
and emergency call are shared), and `weak_none` re-decides states from the kept columns; the
calibration map is the shipped one (fitted on every batch's first-seen calls: a fold's map saw its
batch, the same for every variant).

    python -m evaluation.queue_breakdown --folds 31-36 --jobs 2 --save /tmp/calls.pkl
    python -m evaluation.queue_breakdown --load /tmp/calls.pkl      # the tables again, no classifying
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import duckdb
import numpy as np
import pandas as pd

from evaluation.datasets import Dataset, input_tables, load_demo, load_labelled
from evaluation.evaluate import BLIND, FoldModels, _match_scope_rules, _table, emergency_call, fold_models
from evaluation.forward_chain import later, parse_folds, pooled_macro_f1
from logic.classify import scope_hits_sql
from logic.emergency import emergency_sql
from logic.word_model import word_model, write_weights
from policy.base import SCOPE_EXCLUSION_IDS
from policy.config import PolicyConfig, default_policy

HELD, WEAK, BELOW = "scope: held by a disagreeing vote", "scope: weak id below min_confidence", \
    "scope: below scope_confident_at"
StateRule = Callable[[pd.DataFrame, PolicyConfig], pd.Series]  # a data set's calls -> their states
EM_HELD, EM_BELOW = "emergency: held (undeclared, vote disagrees)", "emergency: below emergency_confident_at"


# Settings re-run per fold (the scope statements only; the emergency call and the votes are shared):
# `semantic` overrides, or `call_at_by_id` replaced.
SETTINGS: dict[str, dict[str, object]] = {
    "today": {},
    "veto_below 0.15": {"veto_below": 0.15},
    "veto_below 0.12": {"veto_below": 0.12},
    "hold_below 0.8": {"hold_below": 0.8},
    "drop_below 0.15": {"drop_below": 0.15},
    "drop_below 0.19 (every held call no call)": {"drop_below": 0.19},
}


def with_setting(policy: PolicyConfig, setting: dict[str, object]) -> PolicyConfig:
    """The policy with a setting's semantic overrides (and call_at_by_id when the setting has one)."""
    sc = policy.scope_classification
    semantic = {k: v for k, v in setting.items() if k != "call_at_by_id"}
    update: dict[str, object] = {"semantic": sc.semantic.model_copy(update=semantic)}
    if "call_at_by_id" in setting:
        update["call_at_by_id"] = setting["call_at_by_id"]
    return policy.model_copy(update={"scope_classification": sc.model_copy(update=update)})


def fold_calls(k: int, refit: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fold k's calls (one row per scope call per setting, one per emergency call) and its truth;
    `refit=False`: the policy's own bank and models (the batch left out of the bank's votes only)."""
    policy = default_policy()
    path = BLIND / f"batch-{k:02d}.csv"
    fold = fold_models(path, policy, (later(policy, k) or [path]) if refit else None)
    return dataset_calls(load_labelled(path), policy, fold, path.stem)


def demo_calls(seed: int, clients: int, months: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A demo's calls and truth with the policy's stored models, as `evaluation.evaluate` scores it."""
    policy = default_policy()
    return dataset_calls(load_demo(seed, clients, months), policy, FoldModels(in_bank=False),
                         f"demo {seed}/{clients}/{months}")


def dataset_calls(data: Dataset, policy: PolicyConfig, fold: FoldModels,
                  name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A data set's calls under every setting (the emergency call once) and its truth."""
    con = duckdb.connect()
    input_tables(con, data, policy)
    emergency_call(con, policy, fold.bank, fold.in_bank, fold.texts, fold.signal)
    if policy.scope_classification.word_model.enabled:
        write_weights(con, policy, word_model(policy) if isinstance(fold.words, str) else fold.words)
    matched = _match_scope_rules(con, policy)
    truth = data.truth.set_index("ticket_id")
    parts = []
    for label, setting in SETTINGS.items():
        variant = with_setting(policy, setting)
        args = {"model": fold.model, "matched": matched, "chain": fold.chain}
        hits = con.execute(scope_hits_sql(variant, "clf_emergency", **args)).df()
        shown = con.execute(scope_hits_sql(variant, "clf_emergency", calibrated=True, **args)).df()
        hits = hits.merge(shown[["ticket_id", "scope_id", "confidence"]].rename(
            columns={"confidence": "calibrated"}), on=["ticket_id", "scope_id"])
        parts.append(pd.DataFrame({
            "setting": label, "ticket_id": hits["ticket_id"], "kind": "scope", "scope_id": hits["scope_id"],
            "raw": hits["confidence"], "calibrated": hits["calibrated"],
            "held": hits["evidence"].str.contains("semantic vote disagrees", regex=False),
            "state": hits["call_state"],
            "right": [s in truth.at[t, "true_scope"]
                      for t, s in zip(hits["ticket_id"], hits["scope_id"], strict=True)]}))
    em = con.execute("SELECT * FROM clf_emergency").df()
    em_shown = con.execute(emergency_sql(policy, rules="clf_emergency_rules", calibrated=True)).df()
    em = em.merge(em_shown[["ticket_id", "emergency_confidence"]].rename(
        columns={"emergency_confidence": "calibrated"}), on="ticket_id")
    em = em[em["qualifies_emergency"]]
    parts.append(pd.DataFrame({
        "setting": "", "ticket_id": em["ticket_id"], "kind": "emergency", "scope_id": "",
        "raw": em["emergency_confidence"], "calibrated": em["calibrated"],
        "held": em["emergency_evidence"].str.contains("not declared and the semantic vote disagrees"),
        "state": em["emergency_call_state"],
        "right": em["ticket_id"].map(truth["true_emergency"]).astype(bool)}))
    calls = pd.concat(parts, ignore_index=True)
    calls["minutes"] = calls["ticket_id"].map(data.time.groupby("ticket_id")["minutes"].sum()).fillna(0.0)
    declared = data.tickets.set_index("ticket_id")["declared_emergency"].astype(bool)
    calls["declared"] = calls["ticket_id"].map(declared).fillna(False).astype(bool)
    calls.insert(0, "batch", name)
    return calls, data.truth[["ticket_id", "true_scope"]].assign(batch=name)


def under(calls: pd.DataFrame, setting: str) -> pd.DataFrame:
    """The calls a setting makes: its scope calls and the (shared) emergency calls."""
    return calls[(calls["setting"] == setting) | (calls["kind"] == "emergency")]


def mechanism(calls: pd.DataFrame, policy: PolicyConfig) -> pd.Series:
    """Each call's mechanism for review (`confident` when the call is confident)."""
    scope = calls["kind"] == "scope"
    min_conf = policy.scope_classification.min_confidence
    return pd.Series(np.select(
        [calls["state"] == "confident", scope & calls["held"], scope & (calls["raw"] < min_conf), scope,
         calls["held"]],
        ["confident", HELD, WEAK, BELOW, EM_HELD], EM_BELOW), index=calls.index)


def decomposition(calls: pd.DataFrame, policy: PolicyConfig) -> pd.DataFrame:
    """Per mechanism: calls, right (review wasted), wrong (a wrong charge held), minutes of each, tickets."""
    mech = mechanism(calls, policy)
    review = calls[mech != "confident"].assign(mech=mech)
    per_ticket = review.groupby(["batch", "ticket_id"])["mech"].agg(frozenset)
    rows = []
    for name, own in calls.assign(mech=mech).groupby("mech"):
        rows.append({"mechanism": name, "calls": len(own), "right": int(own["right"].sum()),
                     "wrong": int((~own["right"]).sum()), "share right": round(float(own["right"].mean()), 3),
                     "minutes right": int(own.loc[own["right"], "minutes"].sum()),
                     "minutes wrong": int(own.loc[~own["right"], "minutes"].sum()),
                     "tickets with it": int(sum(name in m for m in per_ticket)),
                     "tickets with it alone": int(sum(m == {name} for m in per_ticket))})
    return pd.DataFrame(rows)


def by_id(calls: pd.DataFrame, policy: PolicyConfig) -> pd.DataFrame:
    """Scope calls in review per mechanism and id: calls, share right."""
    mech = mechanism(calls, policy)
    part = calls[(mech != "confident") & (calls["kind"] == "scope")].assign(mech=mech)
    table = part.groupby(["mech", "scope_id"])["right"].agg(calls="size", right="sum").reset_index()
    table["share right"] = (table["right"] / table["calls"]).round(3)
    return table


def macro_f1(calls: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Scope macro-F1 over the summed per-id tp / fp / fn (ids with none of the three do not count)."""
    made = calls[(calls["kind"] == "scope") & (calls["state"] != "none")]
    rows = []
    for sid in SCOPE_EXCLUSION_IDS:
        own = made[made["scope_id"] == sid]
        tp, fp = int(own["right"].sum()), int((~own["right"]).sum())
        truly = int(truth["true_scope"].map(lambda s, sid=sid: sid in s).sum())
        rows.append({"tp": tp, "fp": fp, "fn": truly - tp})
    return pooled_macro_f1(pd.DataFrame(rows))


def figures(calls: pd.DataFrame, truth: pd.DataFrame) -> dict[str, object]:
    """Queue (tickets), confident scope and emergency P, macro-F1 (summed over the batches and mean)."""
    review = calls[calls["state"] == "needs review"]
    q, n = review[["batch", "ticket_id"]].drop_duplicates().shape[0], len(truth)
    row: dict[str, object] = {"tickets": n, "queue": q, "queue share": f"{q / n:.2%}"}
    for kind in ("scope", "emergency"):
        sure = calls[(calls["state"] == "confident") & (calls["kind"] == kind)]
        wrong = int((~sure["right"]).sum())
        row[f"confident {kind} P"] = f"{sure['right'].mean():.4f} ({wrong} of {len(sure)})"
    row["macro-F1 pooled"] = f"{macro_f1(calls, truth):.4f}"
    each = [macro_f1(calls[calls["batch"] == b], truth[truth["batch"] == b]) for b in truth["batch"].unique()]
    row["macro-F1 mean"] = f"{np.mean(each):.4f}"
    gone = calls[calls["state"] == "none"]
    row["no call (right)"] = f"{len(gone)} ({int(gone['right'].sum())})"
    return row


def _states(calls: pd.DataFrame, none: pd.Series | None = None, sure: pd.Series | None = None) -> pd.Series:
    """The calls' states with `sure` calls in review made confident and `none` calls no call."""
    state = calls["state"].copy()
    if sure is not None:
        state[sure & (state == "needs review")] = "confident"
    if none is not None:
        state[none] = "none"
    return state


def weak_none(calls: pd.DataFrame, policy: PolicyConfig) -> pd.Series:
    """A weak id's call below min_confidence (call_at_by_id) is no call instead of a call for review."""
    return _states(calls, none=mechanism(calls, policy) == WEAK)


def emergency_at(at: float) -> StateRule:
    """A not-held emergency call is confident from calibrated `at` (emergency_confident_at lowered)."""
    def state(calls: pd.DataFrame, policy: PolicyConfig) -> pd.Series:
        sure = (calls["kind"] == "emergency") & ~calls["held"] & (calls["calibrated"] >= at)
        return _states(calls, sure=sure)
    return state


def _then(*rules: StateRule) -> StateRule:
    """The rules applied one after the other."""
    def state(calls: pd.DataFrame, policy: PolicyConfig) -> pd.Series:
        for rule in rules:
            calls = calls.assign(state=rule(calls, policy))
        return calls["state"]
    return state


# State rules applied to every setting's calls, without re-running anything.
RULES: dict[str, StateRule] = {
    "": lambda calls, policy: calls["state"],
    " + weak ids no call": weak_none,
    " + emergency at 0.82": emergency_at(0.82),
    " + emergency at 0.78": emergency_at(0.78),
    " + weak ids no call + emergency at 0.82": _then(weak_none, emergency_at(0.82)),
}


def variants(calls: pd.DataFrame, truth: pd.DataFrame,
             policy: PolicyConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pooled figures per setting and state rule, and per fold."""
    pooled, per_fold = [], []
    for setting in calls.loc[calls["kind"] == "scope", "setting"].unique():
        made = under(calls, setting)
        for suffix, rule in RULES.items():
            name, scored = setting + suffix, made.assign(state=rule(made, policy))
            pooled.append({"variant": name, **figures(scored, truth)})
            per_fold += [{"fold": b, "variant": name,
                          **figures(scored[scored["batch"] == b], truth[truth["batch"] == b])}
                         for b in truth["batch"].unique()]
    return pd.DataFrame(pooled), pd.DataFrame(per_fold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", default="31-36", help="batch numbers: 31-36 or 31,33")
    parser.add_argument("--jobs", type=int, default=1, help="folds classified side by side (processes)")
    parser.add_argument("--save", help="keep the folds' calls and truth in this pickle")
    parser.add_argument("--load", help="read the calls and truth from a pickle --save wrote (no classifying)")
    parser.add_argument("--demo", help="a demo instead of folds: SEED/CLIENTS/MONTHS, e.g. 7/12/6 or 5/3/2")
    args = parser.parse_args()
    policy = default_policy()
    if args.load:
        calls, truth = pd.read_pickle(args.load)
    elif args.demo:
        calls, truth = demo_calls(*(int(x) for x in args.demo.split("/")))
    else:
        numbers = parse_folds(args.folds)
        parts = []
        with ProcessPoolExecutor(max(args.jobs, 1)) as pool:
            for k, part in zip(numbers, pool.map(fold_calls, numbers), strict=True):
                parts.append(part)
                if args.save:  # each fold as it is done: a long run stopped early keeps its folds
                    pd.to_pickle(part, f"{args.save}.batch-{k:02d}")
        calls = pd.concat([c for c, _ in parts], ignore_index=True)
        truth = pd.concat([t for _, t in parts], ignore_index=True)
    if args.save and not args.load:
        pd.to_pickle((calls, truth), args.save)
    print(f"# Review queue by mechanism (policy {policy.version}), forward chaining, "
          f"{truth['batch'].nunique()} folds, {len(truth)} tickets")
    today = under(calls, "today")
    print("\n## Today's queue by mechanism\n\n" + _table(decomposition(today, policy)))
    print("\n## Scope calls in review by mechanism and id\n\n" + _table(by_id(today, policy)))
    pooled, per_fold = variants(calls, truth, policy)
    print("\n## Variants, pooled\n\n" + _table(pooled))
    print("\n## Variants, per fold\n\n" + _table(per_fold))


if __name__ == "__main__":
    main()
