"""The semantic vote's memory bounds (logic/semantic.py, logic/embeddings.py): blocks, the
embedding cache and the products over distinct bank texts change no vote, and a block's memory no
longer grows with 4096 texts x exemplars."""

import tracemalloc

import duckdb
import numpy as np
import pytest

import logic.embeddings as embeddings
import logic.semantic as semantic
import logic.shortlists as shortlists
from logic.embeddings import embed
from logic.semantic import ExemplarBank, builtin_bank, votes, write_votes
from policy.config import default_policy
from policy.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def policy():
    return default_policy(PROJECT_ROOT / "config" / "policy.yaml")


def _queries(bank: ExemplarBank, count: int, seed: int = 7) -> list[str]:
    """Bank texts (the same wording as an exemplar) and word salads of the bank's words."""
    rng = np.random.default_rng(seed)
    words = " ".join(bank.texts).split()
    return list(bank.texts[:50]) + [" ".join(rng.choice(words, rng.integers(3, 40))) for _ in range(count)]


def _repeating(bank: ExemplarBank, copies: int, seed: int = 7) -> ExemplarBank:
    """The bank plus `copies` exemplars repeating its texts with other labels (a provider's reviews)."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(bank), copies)
    labels = bank.labels[pick].copy()
    flip = rng.random(labels.shape) < 0.3
    labels[flip] = 1 - np.nan_to_num(labels[flip], nan=0.0)
    return ExemplarBank.concat([bank, ExemplarBank(
        [f"R{i}" for i in range(copies)], [bank.texts[i] for i in pick],
        [f"review {i}" for i in range(copies)], ["review"] * copies, labels, np.full(copies, 2.0))])


def test_blocks_split_the_4096_text_runs_and_leave_no_small_product():
    bounds = semantic._blocks(10_000, 1000)
    assert bounds[0] == (0, 1000) and bounds[-1][1] == 10_000
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    # No block crosses a 4096 boundary; a run's short tail joins the block before it.
    assert all(start // 4096 == (stop - 1) // 4096 for start, stop in bounds)
    assert (3000, 4096) in bounds and (7096, 8192) in bounds and (8192, 10_000) in bounds
    # Every block has `rows` texts at least, but a run that is shorter stays whole (as it was).
    assert all(stop - start >= 1000 for start, stop in bounds)
    assert semantic._blocks(4099, 1000)[-1] == (4096, 4099)
    assert semantic._blocks(1, 1000) == [(0, 1)]
    assert semantic._blocks(0, 1000) == []


def test_votes_do_not_depend_on_blocks_cache_or_repeated_bank_texts(policy, monkeypatch):
    bank = _repeating(builtin_bank(policy), 1500)
    texts = _queries(bank, 600)
    embeddings._cache.clear()
    vote, best = votes(policy, texts, bank)
    for block in (1 << 13, 1 << 15):  # blocks of 3 and of 11 texts: many products, all done again
        monkeypatch.setattr(semantic, "_BLOCK", block)
        embeddings._cache.clear()
        other_vote, other_best = votes(policy, texts, bank)
        assert np.array_equal(vote, other_vote) and np.array_equal(best, other_best)
    # From the cache, and with each exemplar's vector taken on its own (no shared products).
    cached_vote, cached_best = votes(policy, texts, bank)
    assert np.array_equal(vote, cached_vote) and np.array_equal(best, cached_best)
    embeddings._cache.clear()
    one_by_one = np.vstack([embed(policy, [t]) for t in texts[:40]])
    embeddings._cache.clear()
    assert np.array_equal(one_by_one, embed(policy, texts[:40]))


def test_the_embedding_cache_is_bounded(policy, monkeypatch):
    monkeypatch.setattr(embeddings, "_CACHE_TEXTS", 25)
    monkeypatch.setattr(embeddings, "_ENCODE_CHUNK", 16)  # and the tokenizer called in chunks
    embeddings._cache.clear()
    texts = _queries(builtin_bank(policy), 60)
    first = embed(policy, texts)
    held = embeddings._cache._vectors[(policy.scope_classification.semantic.model,
                                     policy.scope_classification.semantic.dim)]
    assert len(held) == 25
    assert np.array_equal(first, embed(policy, texts))
    embeddings._cache.clear()


def test_a_block_of_similarities_is_bounded_not_4096_texts_by_exemplars(policy, monkeypatch):
    # 600 texts against 4,000 exemplars: one product of all of them (as before) held 600 x
    # 4,000 similarities, their negation and argpartition's indices: about 38 MB. With blocks of
    # 2**17 similarities (the bound made small here), under 20 MB.
    monkeypatch.setattr(semantic, "_BLOCK", 1 << 17)
    bank = _repeating(builtin_bank(policy), 4000 - len(builtin_bank(policy)))
    texts = _queries(bank, 550)
    embed(policy, texts + bank.texts)  # the model and the vectors, outside the measurement
    tracemalloc.start()
    try:
        votes(policy, texts, bank)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB"


def test_votes_reach_duckdb_with_their_evidence(policy):
    bank = _repeating(builtin_bank(policy), 50)
    bank.labels[:, -1] = 0.0  # no exemplar supports an emergency: no evidence for one
    texts = [bank.texts[0], "printer jammed again"]
    con = duckdb.connect()
    write_votes(con, policy, texts, bank)
    types = {r[0]: r[1] for r in con.execute("DESCRIBE clf_semantic_emergency").fetchall()}
    assert types == {"raw_txt": "VARCHAR", "vote": "DOUBLE", "evidence": "VARCHAR"}
    rows = con.execute("SELECT raw_txt, vote, evidence FROM clf_semantic_emergency").fetchall()
    assert [r[0] for r in rows] == texts and all(r[1] == 0 and r[2] == "" for r in rows)
    scope = con.execute("SELECT raw_txt, scope_id, vote, evidence FROM clf_semantic_scope").fetchall()
    assert scope and all(r[2] > 0 and r[3] for r in scope)
    assert {r[0] for r in scope} <= set(texts) and bank.texts[0] in {r[0] for r in scope}


def test_the_bounded_shortlist_gives_the_whole_rows_votes(policy, monkeypatch):
    """Rows shortlisted from the groups' bound vote as rows bounded by their own columns do (equals
    near the top, the repeated bank texts among them, in bank order in both)."""
    bank = _repeating(builtin_bank(policy), 400)
    texts = _queries(bank, 300, seed=11)
    for leave_out in (False, True):
        vote, best = votes(policy, texts, bank, leave_out_same_text=leave_out)
        with monkeypatch.context() as patched:
            patched.setattr(shortlists, "_GROUP", 1 << 30)  # no groups: each row's own bound
            whole_vote, whole_best = votes(policy, texts, bank, leave_out_same_text=leave_out)
        assert np.array_equal(vote, whole_vote) and np.array_equal(best, whole_best)


def test_a_smaller_dim_is_the_shipped_vectors_first_columns():
    """wordllama's matryoshka dims: dim 128 is the first 128 columns of the shipped 256 (no download)."""
    shipped = embeddings.load_model("l2_supercat", 256).table
    assert np.array_equal(embeddings.load_model("l2_supercat", 128).table, shipped[:, :128])
