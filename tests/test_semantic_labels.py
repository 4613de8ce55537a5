"""The neighbours' vote of every label at once (logic/label_votes.py) gives the bits a loop over the
labels gives, on shortlists with unknown labels, equal similarities, zero weights and no voter."""

import numpy as np
import pytest

from logic.label_votes import label_votes
from logic.semantic import LABELS
from policy.config import default_policy
from policy.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def policy():
    return default_policy(PROJECT_ROOT / "config" / "policy.yaml")


def _per_label(policy, top, top_s, weights, labels):
    """The vote as logic/semantic.py computed it label by label (before the labels went together)."""
    sv = policy.scope_classification.semantic
    known, values = ~np.isnan(labels), np.nan_to_num(labels, nan=0.0)
    out = np.zeros((len(top), labels.shape[1]), dtype=np.float32)
    best = np.full((len(top), labels.shape[1]), -1, dtype=np.int64)
    at = np.arange(len(top))
    strength = np.clip((top_s - sv.min_similarity) / (sv.full_similarity - sv.min_similarity), 0, 1)
    w_all = strength * weights[top]
    for j in range(labels.shape[1]):
        k_j = known[top, j]
        voting = k_j & (np.cumsum(k_j, axis=1) <= sv.neighbours)
        w = np.where(voting, w_all, 0.0)
        y = values[top, j]
        total = w.sum(axis=1)
        share = np.divide((w * y).sum(axis=1), total, out=np.zeros_like(total), where=total > 0)
        out[:, j] = share * np.where(voting, strength, 0).max(axis=1)
        supporting = voting & (y > 0)
        nearest = np.argmax(supporting, axis=1)
        best[:, j] = np.where(supporting[at, nearest], top[at, nearest], -1)
    return out, best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_labels_at_once_vote_as_each_label_alone(policy, seed):
    rng = np.random.default_rng(seed)
    m, rows, short = 400, 300, 28
    labels = (rng.random((m, len(LABELS))) < 0.3).astype(float)
    labels[rng.random(labels.shape) < [0.9] * (len(LABELS) - 1) + [0.2]] = np.nan  # scope mostly unknown
    weights = rng.choice([0.0, 0.5, 1.0, 3.0], m)
    top = np.stack([rng.choice(m, short, replace=False) for _ in range(rows)])
    # most similar first, with runs of equal similarities and rows below min_similarity
    top_s = -np.sort(-np.round(rng.uniform(0.2, 1.0, (rows, short)), 2), axis=1).astype(np.float32)
    top_s[:20] = 0.1
    out = np.zeros((rows, len(LABELS)), dtype=np.float32)
    best = np.full((rows, len(LABELS)), -1, dtype=np.int64)
    out[:], best[:] = label_votes(policy, top, top_s, weights, np.ascontiguousarray(~np.isnan(labels).T),
                                  np.ascontiguousarray(np.nan_to_num(labels, nan=0.0).T))
    expected, expected_best = _per_label(policy, top, top_s, weights, labels)
    assert out.tobytes() == expected.tobytes() and np.array_equal(best, expected_best)
    assert (out > 0).any() and (best >= 0).any() and (best == -1).any()  # not a degenerate case
