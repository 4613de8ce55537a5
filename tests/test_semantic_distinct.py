"""The semantic vote once per distinct vector (logic/semantic.py): texts with the same vector get the
same vote, a bank collapsed to its distinct vectors votes as the whole bank does, and equally similar
exemplars are taken in bank order (at the `neighbours`-th and the shortlist's last place too)."""

import numpy as np
import pytest

import logic.nearest as nearest
import logic.semantic as semantic
from logic.embeddings import embed
from logic.semantic import LABELS, ExemplarBank, builtin_bank, votes
from policy.config import default_policy
from policy.paths import PROJECT_ROOT

# The tokenizer keeps a text's first 512 tokens: texts that differ only after them share a vector
# (as texts that differ only in a reference number at the end of a long description do).
_LONG = " ".join(["the mail server is down and nobody in the office can send or receive mail"] * 40)


@pytest.fixture(scope="module")
def policy():
    return default_policy(PROJECT_ROOT / "config" / "policy.yaml")


def _copies(count: int, prefix: str = "review") -> ExemplarBank:
    """`count` exemplars with distinct texts and one vector, emergency confirmed / denied in turn."""
    labels = np.full((count, len(LABELS)), np.nan)
    labels[:, -1] = [1.0 - i % 2 for i in range(count)]
    return ExemplarBank([f"{prefix}{i}" for i in range(count)], [f"{_LONG} ref {i}" for i in range(count)],
                        [f"{prefix} {i}" for i in range(count)], ["review"] * count, labels, np.ones(count))


def _no_collapse(vectors: np.ndarray, key: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every row its own: no query shares a vote, no bank vector stands for another text's."""
    return np.arange(len(vectors)), np.arange(len(vectors))


def test_texts_with_the_same_vector_get_the_same_vote(policy, monkeypatch):
    bank = ExemplarBank.concat([builtin_bank(policy), _copies(40)])
    same = [f"{_LONG} ref {i}" for i in (0, 999, 1000)]  # one of them is a bank text
    vectors = embed(policy, same)
    assert (vectors == vectors[0]).all()
    rng = np.random.default_rng(5)
    words = " ".join(bank.texts[:500]).split()
    others = [" ".join(rng.choice(words, rng.integers(3, 30))) for _ in range(300)]
    texts = [same[0], *others[:150], same[1], *others[150:], same[2], others[0]]
    for leave_out in (False, True):
        vote, best = votes(policy, texts, bank, leave_out_same_text=leave_out)
        at = [texts.index(t) for t in same]
        if leave_out:  # the bank's own text leaves its exemplar out: a vote of its own
            assert np.array_equal(vote[at[1]], vote[at[2]]) and np.array_equal(best[at[1]], best[at[2]])
            assert best[at[0], -1] != best[at[1], -1]
        else:
            assert all(np.array_equal(vote[i], vote[at[0]]) and np.array_equal(best[i], best[at[0]])
                       for i in at)
        assert np.array_equal(vote[1], vote[-1]) and np.array_equal(best[1], best[-1])
        with monkeypatch.context() as patched:
            patched.setattr(semantic, "distinct_rows", _no_collapse)
            each_vote, each_best = votes(policy, texts, bank, leave_out_same_text=leave_out)
        assert np.array_equal(vote, each_vote) and np.array_equal(best, each_best)


def test_the_collapsed_bank_votes_as_the_whole_bank_with_equals_in_bank_order(policy, monkeypatch):
    # 40 exemplars as similar to the query as can be, confirmed and denied in turn: the 7 neighbours
    # are the first 7 of them in bank order (4 confirmed), the shortlist's 28 places the first 28.
    bank = ExemplarBank.concat([builtin_bank(policy), _copies(40)])
    first = len(bank) - 40
    # Enough texts for large products: a product of a few rows may round otherwise (see _blocks).
    rng = np.random.default_rng(9)
    words = " ".join(bank.texts[:500]).split()
    texts = [f"{_LONG} ref 999", *(" ".join(rng.choice(words, rng.integers(3, 30))) for _ in range(300))]
    vote, best = votes(policy, texts, bank, text_model=None)
    with monkeypatch.context() as patched:
        patched.setattr(semantic, "distinct_rows", _no_collapse)
        whole_vote, whole_best = votes(policy, texts, bank, text_model=None)
    assert np.array_equal(vote, whole_vote) and np.array_equal(best, whole_best)
    assert vote[0, -1] == pytest.approx(4 / 7) and best[0, -1] == first
    # Three denied equals earlier in the bank come first.
    moved = ExemplarBank.concat([_copies(3, "early"), builtin_bank(policy), _copies(40)])
    moved.labels[:3, -1] = 0.0
    vote, best = votes(policy, texts[:1], moved, text_model=None)
    assert vote[0, -1] == pytest.approx(2 / 7) and best[0, -1] == len(moved) - 40  # 3 denied, then 2 of 4


def test_the_shortlist_takes_equals_in_bank_order_at_its_last_place():
    # Three columns standing for 2, 3 and 1 exemplars; a shortlist of 4: the two columns as similar
    # give 5 exemplars for 4 places, and the last place goes to the earliest of them in the bank.
    spread = np.array([1, 0, 1, 2, 1, 0])
    members = semantic._members(spread, 3)
    sims = np.array([[0.5, 0.5, 0.9], [0.1, 0.2, 0.3]], dtype=np.float32)
    top, top_s = semantic._shortlist(sims, members, 4)
    assert top[0].tolist() == [3, 0, 1, 2] and top_s[0].tolist() == pytest.approx([0.9, 0.5, 0.5, 0.5])
    assert top[1].tolist() == [3, 0, 2, 4]


def _sorted_bytes(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """distinct_rows by sorting the rows' bytes (before the rows were grouped by a hash)."""
    whole = np.ascontiguousarray(vectors).view(np.dtype((np.void, vectors.dtype.itemsize * vectors.shape[1])))
    _, first, inverse = np.unique(whole.ravel(), return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.ravel()]


def test_rows_grouped_by_hash_are_the_rows_own_groups():
    rng = np.random.default_rng(7)
    base = rng.standard_normal((300, 16)).astype(np.float32)
    rows = base[rng.integers(0, 300, 2000)]
    rows[5] = -0.0  # -0.0 and 0.0 are different bytes, so different rows
    rows[6] = 0.0
    for got, want in zip(nearest.distinct_rows(rows), _sorted_bytes(rows), strict=True):
        assert np.array_equal(got, want)
    # Two different rows with one hash: the rows' bytes are sorted instead.
    multipliers = np.random.default_rng(0).integers(1, 1 << 62, size=2, dtype=np.uint64) | 1
    wrap = 1 << 64  # uint64 arithmetic wraps
    words = np.array([[5, 9], [(5 + int(multipliers[1])) % wrap, (9 - int(multipliers[0])) % wrap], [5, 9]],
                     dtype=np.uint64)
    clash = words.view(np.float32)
    assert nearest._grouped(clash) == (None, None)
    for got, want in zip(nearest.distinct_rows(clash), _sorted_bytes(clash), strict=True):
        assert np.array_equal(got, want)
    assert list(nearest.distinct_rows(clash)[1]) == [0, 1, 0]
