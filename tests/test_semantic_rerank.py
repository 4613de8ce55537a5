"""The two-stage vote (semantic.rerank_candidates): a coarse pass on the embeddings' leading
dimensions picks each text's candidates, the exact similarity ranks them."""

import numpy as np
import pytest

import logic.semantic as semantic
from logic.nearest import coarse, reranked
from logic.semantic import ExemplarBank, builtin_bank, votes
from policy.config import PolicyConfig, load_policy
from policy.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def policy():
    return load_policy(PROJECT_ROOT / "config" / "policy.yaml")


def _with(policy: PolicyConfig, **semantic_settings) -> PolicyConfig:
    """The policy with other settings of its semantic block."""
    sc = policy.scope_classification
    sv = sc.semantic.model_copy(update=semantic_settings)
    return policy.model_copy(update={"scope_classification": sc.model_copy(update={"semantic": sv})})


def _bank_and_texts(policy: PolicyConfig) -> tuple[ExemplarBank, list[str]]:
    """The built-in bank, and queries that are its texts with a few of its words added."""
    bank = builtin_bank(policy)
    rng = np.random.default_rng(3)
    words = " ".join(bank.texts).split()
    texts = [bank.texts[i] + " " + " ".join(rng.choice(words, rng.integers(1, 5)))
             for i in rng.integers(0, len(bank), 600)]
    return bank, texts


def test_every_vector_but_the_coarsest_last_a_candidate_gives_the_exact_vote(policy, monkeypatch):
    bank, texts = _bank_and_texts(policy)
    distinct = len({t.lower() for t in bank.texts})
    taken: list[int] = []

    def counted(*args, **kwargs):
        taken.append(1)
        return reranked(*args, **kwargs)

    monkeypatch.setattr(semantic, "reranked", counted)
    exact = votes(_with(policy, rerank_candidates=0), texts, bank)
    assert not taken
    # Every distinct vector but (about) one per text: the two stages run, and the votes are the
    # exact vote's bit for bit.
    two_stage = votes(_with(policy, rerank_candidates=distinct - 2, coarse_dims=32), texts, bank)
    assert taken
    np.testing.assert_array_equal(two_stage[0], exact[0])
    np.testing.assert_array_equal(two_stage[1], exact[1])
    # As many candidates as the bank has vectors: the exact vote itself.
    taken.clear()
    whole = votes(_with(policy, rerank_candidates=10 * len(bank)), texts, bank)
    assert not taken
    np.testing.assert_array_equal(whole[0], exact[0])


def test_the_exact_similarity_reranks_what_the_coarse_pass_picked():
    rng = np.random.default_rng(0)
    dims, head = 256, 32

    def unit(v: np.ndarray) -> np.ndarray:
        return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)

    bank = unit(rng.standard_normal((600, dims)))
    block = unit(rng.standard_normal((128, dims)))
    q = block[0].astype(np.float64)
    # Column 0 shares the text's leading dimensions and opposes the rest: the coarse pass's first
    # pick, far from the text. Column 1 is near it in the leading dimensions and the same in the
    # rest: the nearest.
    bank[0] = unit(np.concatenate([q[:head], -q[head:]]))
    bank[1] = unit(np.concatenate([0.8 * q[:head] + 0.6 * np.linalg.norm(q[:head]) * unit(
        rng.standard_normal(head)), q[head:]]))
    block_c, bank_c = coarse(block, head), coarse(bank, head)
    assert np.argmax(block_c[0] @ bank_c.T) == 0

    sims, near = reranked(block, bank, block_c, bank_c, keep=28)
    row = np.full(len(bank), -np.inf)
    row[near] = sims[0]
    assert np.argmax(row) == 1
    assert row[0] < 0  # the coarse pick, taken with its exact similarity
    chosen = row > -2
    assert 28 <= chosen.sum() < len(bank) // 4  # the candidates, not the bank
    np.testing.assert_allclose(row[chosen], (block[0] @ bank.T)[chosen], rtol=0, atol=1e-6)
    assert np.all(row[near][~chosen[near]] < -2)  # the columns it did not pick have no vote


def test_a_rows_candidates_do_not_depend_on_the_block():
    rng = np.random.default_rng(1)
    bank = rng.standard_normal((3000, 256)).astype(np.float32)
    bank /= np.linalg.norm(bank, axis=1, keepdims=True)
    block = bank[rng.integers(0, 3000, 256)] + 0.05 * rng.standard_normal((256, 256)).astype(np.float32)
    block /= np.linalg.norm(block, axis=1, keepdims=True)
    bank_c = coarse(bank, 64)
    whole, near = reranked(block, bank, coarse(block, 64), bank_c, keep=100)
    half, near_half = reranked(block[:128], bank, coarse(block[:128], 64), bank_c, keep=100)
    picked = [set(near[r > -2]) for r in whole[:128]]
    assert picked == [set(near_half[r > -2]) for r in half]
