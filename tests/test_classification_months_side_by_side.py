"""Round 24's speed levers of emergency_readings (byte-identical by construction): the run's
exemplar bank pinned in the embedding cache while the months embed their own texts, and one BLAS
thread per vote while a step's months run side by side."""


import numpy as np
import pytest

from logic import blas, embeddings
from logic.semantic import votes
from policy.config import default_policy
from policy.paths import PROJECT_ROOT
from tests.vote_fixtures import bank_and_texts, record_embeddings

TEXTS = ["VPN down . nobody can connect", "Ré-installer l'imprimante « bureau 2 » — urgent",
         "Server is NOT down, it was never down", "", "Printer offline . THE OFFICE PRINTER IS OFFLINE"]


@pytest.fixture(scope="module")
def policy():
    return default_policy(PROJECT_ROOT / "config" / "policy.yaml")


@pytest.fixture
def small_cache(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """An empty process cache that holds 3 texts; records the texts actually embedded."""
    calls = record_embeddings(monkeypatch)
    monkeypatch.setattr(embeddings, "_CACHE_TEXTS", 3)
    yield calls
    embeddings._cache.clear()


def test_pinned_texts_stay_held_when_other_texts_push_them_out(policy, small_cache) -> None:
    bank = embeddings.embed(policy, TEXTS)
    others = [f"month text number {i} about a laptop" for i in range(10)]
    with embeddings.pinned(policy, TEXTS, bank):
        embeddings.embed(policy, others)  # more than the cache holds: the bank is out of its order
        small_cache.clear()
        again = embeddings.embed(policy, [t.upper() for t in reversed(TEXTS)])
        assert small_cache == []  # none embedded again: found by their lower-cased text
        assert np.array_equal(again, bank[::-1]) and again.dtype == np.float32
    embeddings.embed(policy, others)
    small_cache.clear()
    embeddings.embed(policy, TEXTS)
    assert sorted(small_cache[0]) == sorted(t.lower() for t in TEXTS)  # unpinned: out again


def test_a_pinned_vector_is_the_one_embedding_gives(policy, small_cache) -> None:
    fresh = embeddings.embed(policy, TEXTS)
    embeddings._cache.clear()  # a new process: nothing held but the pins
    with embeddings.pinned(policy, TEXTS, fresh):
        small_cache.clear()
        got = embeddings.embed(policy, [*TEXTS, "a new text"])
    assert small_cache == [["a new text"]]
    assert np.array_equal(got[:len(TEXTS)], fresh)
    embeddings._cache.clear()
    assert np.array_equal(embeddings.embed(policy, TEXTS), fresh)


needs_local_threads = pytest.mark.skipif(blas._set_local() is None,
                                     reason="numpy's OpenBLAS has no per-thread setting")


@needs_local_threads
def test_votes_on_one_blas_thread_are_the_votes_on_openblas_threads(policy) -> None:
    bank, texts = bank_and_texts(policy, 2000, 1500)
    own_vote, own_best = votes(policy, texts, bank)
    with blas.months_side_by_side():
        one_vote, one_best = votes(policy, texts, bank)
    assert np.array_equal(own_vote, one_vote) and np.array_equal(own_best, one_best)
    assert (own_vote > 0).any()


def test_nested_pins_of_one_key_each_leave_only_their_own(policy, small_cache) -> None:
    outer_texts, inner_texts = TEXTS[:2], TEXTS[2:]
    outer, inner = embeddings.embed(policy, outer_texts), embeddings.embed(policy, inner_texts)
    embeddings._cache.clear()
    with embeddings.pinned(policy, outer_texts, outer):
        with pytest.raises(RuntimeError), embeddings.pinned(policy, inner_texts, inner):
            raise RuntimeError("a month failed")
        embeddings.embed(policy, [f"month text number {i} about a laptop" for i in range(10)])
        small_cache.clear()
        embeddings.embed(policy, outer_texts)
        assert small_cache == []  # pushed out of the cache, still held by the outer pin
        small_cache.clear()
        embeddings.embed(policy, inner_texts)
        assert sorted(small_cache[0]) == sorted(t.lower() for t in inner_texts)  # the inner pin is gone
