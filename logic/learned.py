"""The learned combination of the scope evidence (docs/classification.md, round 5).

Per scope exclusion, a logistic regression over the features the pipeline computes anyway
(policy.classifiers.LEARNED_FEATURES: the rules' confidence without the vote, the semantic vote,
hours logged, onsite / travel work, the share of billable minutes outside business hours, rules x
vote) replaces the hand-set noisy-or and veto. The weights are fitted by
`python -m evaluation.fit_model` (deterministic: Newton's method from zero, fixed iterations) and
stored in the model file the policy names; inference is one SQL expression per (ticket, id) pair,
the weights joined as a VALUES relation, so it runs set-based in DuckDB like the rules.
"""

from __future__ import annotations

import numpy as np

from logic.stored_models import read_stored_model
from policy.base import SCOPE_EXCLUSION_IDS
from policy.classifiers import LEARNED_FEATURES, ScopeModel
from policy.config import PolicyConfig
from policy.paths import PROJECT_ROOT
from warehouse.sqlquote import sql_literal

# The features as SQL over the candidate pair's relations: f (rules: confidence), v (vote),
# s (time state of the ticket). The order is LEARNED_FEATURES'.
_FEATURE_SQL = {
    "rule": "coalesce(f.confidence, 0)",
    "vote": "coalesce(v.vote, 0)",
    "log_hours": "ln(1 + s.total_min / 60)",
    "onsite": "CASE WHEN s.onsite_min > 0 THEN 1.0 ELSE 0.0 END",
    "travel": "CASE WHEN s.travel_min > 0 THEN 1.0 ELSE 0.0 END",
    "after_share": "CASE WHEN s.billable_min > 0 THEN s.after_min / s.billable_min ELSE 0.0 END",
    "rule_x_vote": "coalesce(f.confidence, 0) * coalesce(v.vote, 0)",
}
assert tuple(_FEATURE_SQL) == LEARNED_FEATURES


def scope_model(policy: PolicyConfig) -> ScopeModel | None:
    """The fitted model the policy names, or None when the learned combination is off."""
    cfg = policy.scope_classification.learned
    if not (cfg.enabled and policy.scope_classification.semantic.enabled):
        return None
    path = PROJECT_ROOT / cfg.model_file
    model = read_stored_model(path, "scope_classification.learned.model_file", ScopeModel)
    missing = [sid for sid in SCOPE_EXCLUSION_IDS if sid not in model.weights]
    if missing:
        raise ValueError(f"{path}: weights missing for scope id(s) {', '.join(missing)} (refit the model)")
    return model


def learned_sql(model: ScopeModel, features_only: bool = False, by_month: bool = False) -> str:
    """A query over the scope SQL's CTEs (tickets, state, final: the rules without the vote) and
    clf_semantic_scope (joined on the text read, read_txt): one row per candidate (ticket, id)
    pair - any the rules or the vote name - with its probability (`confidence`) and evidence; with
    features_only, the features instead.
    `by_month`: tickets and votes hold several months, a vote is its month's (scope_hits_sql)."""
    on_month = " AND v.month = t.month" if by_month else ""
    feature_cols = ",\n           ".join(f"{sql} AS {name}" for name, sql in _FEATURE_SQL.items())
    candidates = f"""(SELECT ticket_id, scope_id FROM final
          UNION
          SELECT t.ticket_id, v.scope_id FROM tickets t
          JOIN clf_semantic_scope v ON v.raw_txt = t.read_txt{on_month})"""
    features = f"""
        SELECT c.ticket_id, c.scope_id,
           {feature_cols},
           f.evidence AS rule_evidence, v.vote AS raw_vote, v.evidence AS vote_evidence
        FROM {candidates} c
        JOIN tickets t USING (ticket_id)
        JOIN state s USING (ticket_id)
        LEFT JOIN final f USING (ticket_id, scope_id)
        LEFT JOIN clf_semantic_scope v ON v.raw_txt = t.read_txt AND v.scope_id = c.scope_id{on_month}"""
    if features_only:
        return features
    rows = [(sid, *model.weights[sid]) for sid in SCOPE_EXCLUSION_IDS]
    values = ", ".join("(" + ", ".join([sql_literal(r[0]), *(repr(float(x)) for x in r[1:])]) + ")"
                       for r in rows)
    names = ", ".join(f"w_{n}" for n in LEARNED_FEATURES)
    logit = " + ".join(f"w.w_{n} * x.{n}" for n in LEARNED_FEATURES) + " + w.w_intercept"
    return f"""
        SELECT x.ticket_id, x.scope_id, 1 / (1 + exp(-({logit}))) AS confidence,
               concat_ws('; ', x.rule_evidence,
                         CASE WHEN x.raw_vote > 0.05 THEN 'semantic vote ' || round(x.raw_vote, 2)
                                                            || ': like ' || x.vote_evidence END,
                         'learned combination of rules ' || round(x.rule, 2) || ' and vote '
                             || round(x.vote, 2)) AS evidence
        FROM ({features}) x
        JOIN (VALUES {values}) w(scope_id, {names}, w_intercept) USING (scope_id)"""


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, iterations: int = 30) -> np.ndarray:
    """L2-penalised logistic regression by Newton's method from zero (deterministic: no random
    start, no shuffling). Returns one weight per column of x, then the intercept (not penalised)."""
    x1 = np.column_stack([np.asarray(x, dtype=float), np.ones(len(x))])
    y = np.asarray(y, dtype=float)
    penalty = np.full(x1.shape[1], float(l2))
    penalty[-1] = 1e-6
    beta = np.zeros(x1.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x1 @ beta, -30, 30)))
        gradient = x1.T @ (p - y) + penalty * beta
        hessian = (x1 * (p * (1 - p))[:, None]).T @ x1 + np.diag(penalty)
        beta = beta - np.linalg.solve(hessian, gradient)
    return beta


def predict(beta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Probabilities of a fitted model (fit_logistic's weights) for the rows of x."""
    return 1 / (1 + np.exp(-np.clip(np.column_stack([x, np.ones(len(x))]) @ beta, -30, 30)))
