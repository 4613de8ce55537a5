"""The semantic vote's last step: per shortlisted text and label, the neighbours' vote.

A text's shortlist (logic/semantic.py, `_shortlist`) holds its most similar exemplars, most similar
first; per label, the `neighbours` nearest of them that know the label vote, each by its strength
(similarity between `min_similarity` and `full_similarity`) times its weight.
"""

from __future__ import annotations

import numpy as np

from policy.config import PolicyConfig


def label_votes(policy: PolicyConfig, top: np.ndarray, top_s: np.ndarray, weights: np.ndarray,
                known_t: np.ndarray, values_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a shortlist (exemplar indices `top`, similarities `top_s`) and label: the vote of
    the `neighbours` nearest exemplars that know the label, and the nearest supporting one (-1: none).

    Every label at once (labels x rows x places; `known_t`, `values_t`: labels x exemplars): each
    row's sums still run over its own places in order, so a vote's bits are a per-label loop's
    (tests/test_semantic_labels.py)."""
    sv = policy.scope_classification.semantic
    strength = np.clip((top_s - sv.min_similarity) / (sv.full_similarity - sv.min_similarity), 0, 1)
    w_all = strength * weights[top]
    k = known_t[:, top]
    voting = k & (np.cumsum(k, axis=2) <= sv.neighbours)
    w = np.where(voting, w_all, 0.0)
    y = values_t[:, top]
    total = w.sum(axis=2)
    share = np.divide((w * y).sum(axis=2), total, out=np.zeros_like(total), where=total > 0)
    # Scaled by the closest voter's strength: far-away agreement is a weak vote.
    vote = share * np.where(voting, strength, 0).max(axis=2)
    supporting = voting & (y > 0)
    nearest = np.argmax(supporting, axis=2)
    has = np.take_along_axis(supporting, nearest[:, :, None], axis=2)[:, :, 0]
    return vote.T, np.where(has, top[np.arange(len(top)), nearest], -1).T
