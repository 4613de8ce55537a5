"""Round 15: a classifier chain for scope ids that are the whole of several parts.

structured_project is multi-step planned work: a ticket that is also an implementation, a migration,
a purchase and a visit, for many users over many hours. The first stage (rules, semantic vote, word
model: logic/classify.py) often finds the parts and not the whole. Per id of
scope_classification.chain.scope_ids, an L2 logistic regression reads the other ids and the
ticket's shape (FEATURES); fitted on the labelled files' *true* labels of the other ids (a classifier
chain: no refit of the first stage is needed to train it), applied in SQL to the first stage's
confidences. Its probability p lifts a candidate below the id's call threshold to
1 - (1 - confidence) x (1 - weight x p); a call so made is held for review.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from logic.learned import fit_logistic
from logic.stored_models import file_digests, fresh_model, missing_weights, trained_elsewhere
from logic.text_match import in_list
from logic.word_model import training_files
from policy.base import SCOPE_EXCLUSION_IDS
from policy.config import PolicyConfig
from policy.paths import PROJECT_ROOT
from policy.scope_chain import StoredChainModel
from warehouse.sqlquote import sql_literal

SHAPE = {  # feature -> SQL over the shape relation (users, minutes, entries, types, visits)
    "=users": "ln(1 + users)",
    "=hours": "ln(1 + minutes / 60)",
    "=entries>=2": "(entries >= 2)::DOUBLE",
    "=work types>=2": "(types >= 2)::DOUBLE",
    "=visits>=2": "(visits >= 2)::DOUBLE",
}
# The other ids (0..1; an id's own column is 0 for it), how many of them reach 0.5, the shape.
FEATURES = [*(f"={sid}" for sid in SCOPE_EXCLUSION_IDS), "=other ids>=1", "=other ids>=2", *SHAPE]
FOUND = 0.5  # an other id counts as found at this confidence (a true label is 1)
_DECIMALS = 6


def shape_sql(policy: PolicyConfig) -> str:
    """SQL over clf_tickets and clf_time: (ticket_id, users, minutes, entries, types, visits)."""
    onsite = in_list(policy.scope_classification.time_signals.onsite_work_types)
    return f"""SELECT t.ticket_id, greatest(coalesce(t.affected_users, 1), 0) AS users,
           coalesce(a.minutes, 0) AS minutes, coalesce(a.entries, 0) AS entries,
           coalesce(a.types, 0) AS types, coalesce(a.visits, 0) AS visits
    FROM clf_tickets t LEFT JOIN (
        SELECT ticket_id, sum(minutes) AS minutes, count(*) AS entries,
               count(DISTINCT lower(trim(work_type))) AS types,
               count(*) FILTER (WHERE lower(trim(work_type)) IN {onsite}) AS visits
        FROM clf_time GROUP BY ticket_id) a USING (ticket_id)"""


def design(target: str, others: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Rows of FEATURES: `others` (ticket x SCOPE_EXCLUSION_IDS, 0..1), `shape` (ticket x SHAPE)."""
    mine = others.copy()
    mine[:, SCOPE_EXCLUSION_IDS.index(target)] = 0.0
    found = (mine >= FOUND).sum(axis=1)
    return np.column_stack([mine, found >= 1, found >= 2, shape]).astype(float)


def fit_chain(policy: PolicyConfig, con: duckdb.DuckDBPyConnection, truth: pd.DataFrame,
              files: list[Path]) -> StoredChainModel:
    """The chain fitted on labelled tickets: `con` holds them as clf_tickets and clf_time, one per
    row of `truth` (ticket_id, true_scope; ids unique: evaluation.datasets.fit_chain_on_files)."""
    cfg = policy.scope_classification.chain
    cols = ", ".join(f"{expr} AS {sql_literal(name)}" for name, expr in SHAPE.items())
    shape = (con.execute(f"SELECT ticket_id, {cols} FROM ({shape_sql(policy)})").df()
             .set_index("ticket_id").loc[truth["ticket_id"].astype(str)].to_numpy(float))
    labels = np.array([[float(sid in t) for sid in SCOPE_EXCLUSION_IDS] for t in truth["true_scope"]])
    weights = {}
    for sid in cfg.scope_ids:
        y = labels[:, SCOPE_EXCLUSION_IDS.index(sid)]
        beta = fit_logistic(design(sid, labels, shape), y, cfg.penalty)
        weights[sid] = [round(float(v), _DECIMALS) + 0.0 for v in [beta[-1], *beta[:-1]]]
    return StoredChainModel(
        penalty=cfg.penalty,
        trained_on=file_digests(files),
        training_tickets=len(truth), features=list(FEATURES), weights=weights)


def chain_json(model: StoredChainModel) -> str:
    """The stored file: one key a line, a file digest or an id's weights on one line each."""
    d = model.model_dump()
    files = ",\n".join(f"  {json.dumps(f)}" for f in d["trained_on"])
    weights = ",\n".join(f"  {json.dumps(k)}: {json.dumps(w)}" for k, w in d["weights"].items())
    return (f'{{\n "penalty": {json.dumps(d["penalty"])},\n "trained_on": [\n{files}\n ],\n'
            f' "training_tickets": {d["training_tickets"]},\n "features": {json.dumps(d["features"])},\n'
            f' "weights": {{\n{weights}\n }}\n}}\n')


def stale_reason(policy: PolicyConfig, model: StoredChainModel) -> str | None:
    """Why a stored chain is not the one the policy asks for (None: it is)."""
    cfg = policy.scope_classification.chain
    if model.features != FEATURES:
        return "other features"
    if model.penalty != cfg.penalty:
        return f"penalty {model.penalty:g}, not {cfg.penalty:g}"
    if missing := missing_weights(cfg.scope_ids, model.weights):
        return missing
    return trained_elsewhere(model.trained_on, training_files(policy))


def chain_model(policy: PolicyConfig) -> StoredChainModel | None:
    """The stored chain the policy names, or None when it is off; a stale one is refused."""
    cfg = policy.scope_classification.chain
    if not (cfg.enabled and cfg.scope_ids):
        return None
    path = PROJECT_ROOT / cfg.model_file
    return fresh_model(path, "scope_classification.chain.model_file", StoredChainModel,
                       lambda model: stale_reason(policy, model), "chain model")


def call_threshold_sql(policy: PolicyConfig, column: str) -> str:
    """SQL: the call threshold of the scope id in `column`: its own `call_at_by_id`, else
    `min_confidence`. One place, so the first stage and the chain's lifts cut at the same line."""
    sc = policy.scope_classification
    by_id = " ".join(f"WHEN {sql_literal(k)} THEN {v!r}" for k, v in sorted(sc.call_at_by_id.items()))
    return f"(CASE {column} {by_id} ELSE {sc.min_confidence!r} END)" if by_id else repr(sc.min_confidence)


def chained_sql(policy: PolicyConfig, model: StoredChainModel, first_stage: str) -> str:
    """SQL: the rows of `first_stage` (the scope statement's voted calls: ticket_id, scope_id,
    confidence, evidence, held, vote, ...) with the chain's lifts. A candidate of a chain id below
    its call threshold, or a ticket without one, that the chain lifts to it is a held call."""
    sc = policy.scope_classification
    ids = [sid for sid in sc.chain.scope_ids if sid in model.weights]
    found = [f"coalesce(max(v.confidence) FILTER (WHERE v.scope_id = {sql_literal(s)}), 0) AS c{i}"
             for i, s in enumerate(SCOPE_EXCLUSION_IDS)]
    probabilities = []
    for sid in ids:
        w = model.weights[sid]
        own = SCOPE_EXCLUSION_IDS.index(sid)
        others = [f"c{i}" for i in range(len(SCOPE_EXCLUSION_IDS)) if i != own]
        count = " + ".join(f"({c} >= {FOUND})::INT" for c in others)
        terms = [f"{w[1 + i]!r} * c{i}" for i in range(len(SCOPE_EXCLUSION_IDS)) if i != own]
        k = len(SCOPE_EXCLUSION_IDS)
        terms += [f"{w[1 + k]!r} * ({count} >= 1)::INT", f"{w[2 + k]!r} * ({count} >= 2)::INT"]
        terms += [f"{w[3 + k + j]!r} * {expr}" for j, expr in enumerate(SHAPE.values())]
        probabilities.append(f"SELECT ticket_id, {sql_literal(sid)} AS scope_id,"
                             f" 1 / (1 + exp(-({w[0]!r} + {' + '.join(terms)}))) AS p FROM chain_x")
    call_at = call_threshold_sql(policy, "c.scope_id")
    lifted = f"1 - (1 - coalesce(v.confidence, 0)) * (1 - {sc.chain.weight!r} * c.p)"
    return f"""WITH first_stage AS ({first_stage}
    ), chain_x AS (
        SELECT s.*, {", ".join(found)}
        FROM ({shape_sql(policy)}) s LEFT JOIN first_stage v USING (ticket_id) GROUP BY ALL
    ), chain_p AS ({" UNION ALL ".join(probabilities)}
    ), lifted AS (
        SELECT c.ticket_id, c.scope_id, {lifted} AS confidence,
               coalesce(v.evidence || '; ', '') || 'classifier chain ' || printf('%.2f', c.p)
                   || ': the other exclusions found and the shape of the work (held for review)' AS evidence,
               true AS held, coalesce(v.vote, 0) AS vote
        FROM chain_p c LEFT JOIN first_stage v USING (ticket_id, scope_id)
        WHERE coalesce(v.confidence, 0) < {call_at}
          AND {lifted} >= {call_at}
    )
    SELECT * FROM first_stage v ANTI JOIN lifted USING (ticket_id, scope_id)
    UNION ALL BY NAME SELECT * FROM lifted"""
