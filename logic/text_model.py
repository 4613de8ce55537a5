"""The text model (docs/classification.md, round 7): per scope id, a logistic regression on a text's
embedding, fitted on the labelled files and stored (config/text_model.json).

Its probability is the id's semantic vote where it is higher than the neighbours' vote
(logic/semantic.votes): the neighbours see the seven most similar labelled tickets, the model sees
every labelled ticket at once, so a wording no single ticket shares can still lean towards an id.
Fitting is deterministic (Newton's method from zero, a fixed number of steps, texts in file order)
and `python -m evaluation.fit_model --check` fails when the stored weights are not a refit's.
Inference is one matrix product per block of texts on the vectors the vote computes anyway.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from logic.stored_models import file_digests, read_stored_model
from policy.base import SCOPE_EXCLUSION_IDS
from policy.classifiers import StoredTextModel
from policy.config import PolicyConfig
from policy.paths import PROJECT_ROOT

_STEPS = 25  # Newton steps: converged to 1e-9 on the shipped bank
_DECIMALS = 6  # stored weights are rounded so a refit on another BLAS reproduces the file

# How the vote's evidence names the model ('semantic vote 0.62: like ...').
EVIDENCE = "the labelled tickets as a whole (text model)"


def _fit_one(x: np.ndarray, y: np.ndarray, penalty: float) -> np.ndarray:
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    ridge = penalty * np.eye(xb.shape[1])
    ridge[-1, -1] = 0.0  # the intercept is not penalised
    for _ in range(_STEPS):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        gradient = xb.T @ (p - y) + ridge @ w
        hessian = (xb * (p * (1 - p))[:, None]).T @ xb + ridge
        w = w - np.linalg.solve(hessian, gradient)
    return w


def fit_text_model(policy: PolicyConfig, files: list[Path]) -> StoredTextModel:
    """The text model fitted on the labelled files (their subject + description, true_scope)."""
    from logic.embeddings import embed

    cfg = policy.scope_classification.semantic.text_model
    sv = policy.scope_classification.semantic
    df = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
    x = embed(policy, (df["subject"] + " . " + df["description"]).tolist()).astype(np.float64)
    truth = [{s.strip() for s in scope.split(";")} for scope in df["true_scope"]]
    weights = {}
    for sid in cfg.scope_ids:
        y = np.array([sid in t for t in truth], dtype=np.float64)
        weights[sid] = [round(float(v), _DECIMALS) for v in _fit_one(x, y, cfg.penalty)]
    return StoredTextModel(
        model=sv.model, dim=sv.dim, penalty=cfg.penalty,
        trained_on=file_digests(files),
        training_texts=len(df), weights=weights)


def text_model_json(model: StoredTextModel) -> str:
    return json.dumps(model.model_dump(), indent=1) + "\n"


def text_model(policy: PolicyConfig) -> StoredTextModel | None:
    """The stored model the policy names, or None when the text model is off. The learned
    combination (round 5) was fitted on the neighbours' vote alone: with it on, the vote stays that."""
    sv = policy.scope_classification.semantic
    cfg = sv.text_model
    if not (cfg.enabled and sv.enabled and cfg.scope_ids) or policy.scope_classification.learned.enabled:
        return None
    path = PROJECT_ROOT / cfg.model_file
    model = read_stored_model(path, "scope_classification.semantic.text_model.model_file", StoredTextModel)
    missing = [sid for sid in cfg.scope_ids if sid not in model.weights]
    if missing or model.dim != sv.dim or model.model != sv.model or model.penalty != cfg.penalty:
        raise ValueError(f"{path}: not fitted for this policy (ids {', '.join(missing) or 'ok'},"
                         f" model {model.model}/{model.dim}, penalty {model.penalty:g};"
                         " refit with python -m evaluation.fit_model)")
    return model


def probabilities(model: StoredTextModel, vectors: np.ndarray) -> tuple[list[int], np.ndarray]:
    """(label columns, n x ids probabilities) for the texts' vectors."""
    ids = list(model.weights)
    w = np.array([model.weights[sid] for sid in ids], dtype=np.float64)  # ids x (dim + 1)
    z = vectors.astype(np.float64) @ w[:, :-1].T + w[:, -1]
    return [SCOPE_EXCLUSION_IDS.index(sid) for sid in ids], 1.0 / (1.0 + np.exp(-z))
