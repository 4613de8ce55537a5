"""The cones of logic/nearest.py spare columns, never a vote: the columns a block is compared with
hold every row's shortlist (equals at its last place included), and a similarity taken in a
product of fewer columns is the one the whole product gives."""

import numpy as np
import pytest

import logic.nearest as nearest
import logic.semantic as semantic
from logic.embeddings import embed
from logic.semantic import ExemplarBank, votes
from policy.config import default_policy
from policy.paths import PROJECT_ROOT
from tests.vote_fixtures import bank_and_texts


@pytest.fixture(scope="module")
def policy():
    return default_policy(PROJECT_ROOT / "config" / "policy.yaml")


def _count_spared(monkeypatch) -> list[int]:
    """The columns the cones spare, per block, as `votes` computes them."""
    spared: list[int] = []
    candidates = nearest.candidate_columns

    def counted(block, columns, found, short):
        near = candidates(block, columns, found, short)
        spared.append(len(columns) - len(near))
        return near

    monkeypatch.setattr(nearest, "candidate_columns", counted)
    return spared


def test_votes_with_cones_are_the_votes_of_whole_rows(policy, monkeypatch):
    bank, texts = bank_and_texts(policy, 3000, 3000)
    monkeypatch.setattr(nearest, "_CONE", 16)  # many cones for a test-sized bank
    spared = _count_spared(monkeypatch)
    vote, best = votes(policy, texts, bank)
    assert sum(spared) > 0  # the cones spared columns
    monkeypatch.setattr(semantic, "bank_cones", lambda vectors, run=None: None)
    whole_vote, whole_best = votes(policy, texts, bank)
    assert np.array_equal(vote, whole_vote) and np.array_equal(best, whole_best)


def test_votes_with_a_runs_cones_are_the_votes_of_whole_rows(policy, monkeypatch):
    """A month's bank is part of the run's largest one: the run's cones kept to its vectors."""
    large, texts = bank_and_texts(policy, 4000, 3000)
    month = ExemplarBank(large.ids[:-1500], large.texts[:-1500], large.described[:-1500],
                         large.sources[:-1500], large.labels[:-1500], large.weights[:-1500])
    monkeypatch.setattr(nearest, "_CONE", 16)
    run = nearest.run_cones(embed(policy, large.texts))
    assert run is not None
    used = []
    own = nearest.bank_cones

    def recorded(vectors, found_run=None):
        found = own(vectors, found_run)
        used.append(found is not None and found.centres is run.found.centres)
        return found

    monkeypatch.setattr(semantic, "bank_cones", recorded)
    spared = _count_spared(monkeypatch)
    vote, best = votes(policy, texts, month, cones_of_run=run)
    assert used == [True] and sum(spared) > 0  # the run's cones, and they spared columns
    monkeypatch.setattr(semantic, "bank_cones", lambda vectors, run=None: None)
    whole_vote, whole_best = votes(policy, texts, month)
    assert np.array_equal(vote, whole_vote) and np.array_equal(best, whole_best)


def test_a_bank_the_runs_cones_do_not_hold_gets_its_own(policy):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    run = nearest.run_cones(vectors[:2500])
    assert run is not None
    kept = nearest.bank_cones(vectors[100:2400], run)
    assert kept is not None and kept.centres is run.found.centres
    assert np.array_equal(kept.cone, run.found.cone[run.order[np.searchsorted(
        run.hashes, nearest._hashes(nearest._words(vectors[100:2400])))]])
    own = nearest.bank_cones(vectors[100:2600], run)  # 100 vectors the run's bank lacks
    assert own is not None and own.centres is not run.found.centres
    assert own.counts.sum() == 2500


def test_a_similarity_does_not_depend_on_the_columns_beside_it(policy):
    bank, texts = bank_and_texts(policy, 2000, 500)
    ex = embed(policy, bank.texts)
    queries = embed(policy, texts)
    whole = queries @ ex.T
    columns = np.sort(np.random.default_rng(3).choice(len(ex), 333, replace=False))
    for rows in (slice(0, 64), slice(7, 500)):
        assert np.array_equal((queries[rows] @ ex[columns].T), whole[rows][:, columns])


def test_a_cone_bounds_its_members():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    found = nearest.cones(vectors)
    assert found is not None and found.counts.sum() == len(vectors)
    queries = vectors[:50] + rng.normal(scale=0.1, size=(50, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    near = nearest.candidate_columns(queries, vectors, found, 28)
    sims = queries @ vectors.T
    tenth = np.sort(sims, axis=1)[:, -28]
    for row in range(len(queries)):
        assert set(np.flatnonzero(sims[row] >= tenth[row])) <= set(near)
