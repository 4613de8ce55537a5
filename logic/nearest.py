"""Which of a bank's distinct vectors can be among a text's nearest, without comparing it with all.

The bank's distinct vectors are grouped into cones around centres, each member at a known angle
from its centre. A text at angle t from a centre is at an angle of at least t - a from a member at
angle a (the triangle inequality on the sphere). The `short`-th most similar of the columns of
the cones nearest to a text bounds its `short`-th nearest from below (angle at most A): a member
with a < t - A, for every text of a block, is less similar to each of them than their shortlists'
last places, and is not compared. The similarities that are taken are the same products of the
same vectors: a similarity does not depend on the other rows and columns of its (large) product
(tests/test_semantic_prune.py), so the votes are the same.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

_CONE = 64  # distinct bank vectors per cone, on average
# Texts per block with cones: a smaller block's rows share fewer columns (more are spared), a
# larger one makes larger products.
CONE_ROWS = 128
_SPARED = 0.2  # below this share of the columns spared, a block is compared with all of them
_MIN_ROWS = 64  # a shorter block (a run's few texts) is compared with all of them, as before
_MIN_CONES = 16  # fewer: every block is compared with the whole bank
_ROUNDS = 4  # rounds of assigning vectors to the nearest centre and re-centring
_FLOOR_CONES = 2  # the nearest cones of each row whose columns give its lower bound
# A float32 similarity of unit vectors of 256 dimensions is within about 2e-5 of the exact one:
# the bounds take 1e-4 of cosine (and 1e-6 radians) on the safe side.
_COSINE_SLACK = 1e-4
_ANGLE_SLACK = 1e-6


@dataclass(frozen=True)
class Cones:
    """The bank's distinct vectors grouped around centres."""

    centres: np.ndarray  # k x dim, unit length, float32
    cone: np.ndarray  # each column's cone
    angle: np.ndarray  # each column's angle from its cone's centre (radians, rounded up)
    members: np.ndarray  # the columns grouped by cone
    starts: np.ndarray  # where each cone's columns start in `members`
    counts: np.ndarray  # k


def distinct_rows(vectors: np.ndarray, key: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of `vectors` (bit for bit, with `key` beside each row if given): the index
    of each one's first occurrence, in order of appearance, and each row's distinct row."""
    rows = np.ascontiguousarray(vectors)
    if key is not None:
        rows = np.hstack([rows.view(np.uint8).reshape(len(rows), -1),
                          np.ascontiguousarray(key, dtype=np.int64).view(np.uint8).reshape(len(rows), -1)])
    first, inverse = _grouped(rows)
    if first is None:  # two different rows with one hash: sort the rows' bytes themselves
        whole = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
        _, first, inverse = np.unique(whole, return_index=True, return_inverse=True)
    order = np.argsort(first)  # distinct rows in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.ravel()]


def _words(rows: np.ndarray) -> np.ndarray | None:
    """The rows' bytes as 64-bit words (n x words), or None when a row is not whole words."""
    n = len(rows)
    width = rows.dtype.itemsize * (rows.shape[1] if rows.ndim > 1 else 1)
    if n == 0 or width % 8:
        return None
    return np.ascontiguousarray(rows).view(np.uint8).reshape(n, width).view(np.uint64)


def _hashes(words: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row of words: their sum times fixed odd multipliers, modulo 2**64."""
    multipliers = np.random.default_rng(0).integers(1, 1 << 62, size=words.shape[1], dtype=np.uint64) | 1
    return (words * multipliers).sum(axis=1, dtype=np.uint64)  # uint64 wraps


def _grouped(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """np.unique's first occurrences and inverse for the rows' bytes, grouped by a 64-bit hash of
    each row (sorting 80,000 rows of 1 kB as bytes cost 0.55 s of CPU, their hashes a tenth of
    it); (None, None) when two different rows share a hash. Every row is compared with its group's
    first, so the groups are the rows' own."""
    words = _words(rows)
    if words is None:
        return None, None
    _, first, inverse = np.unique(_hashes(words), return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if not np.array_equal(words, words[first[inverse]]):
        return None, None
    return first, inverse


def _nearest_centre(vectors: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each vector's most similar centre (in runs of rows: a bounded product)."""
    step = max(1, (1 << 22) // max(1, len(centres)))
    return np.concatenate([np.argmax(vectors[i:i + step] @ centres.T, axis=1)
                           for i in range(0, len(vectors), step)])


def cones(vectors: np.ndarray) -> Cones | None:
    """Cones of the rows of `vectors` (unit length), or None for a bank too small to gain from them.
    The same vectors give the same cones (the first centres are a seeded sample), so the cones of
    the last few banks are held per process by a digest of their vectors: a process votes with
    the same bank again and again (the evaluation's calls, the tests, a run's months without
    run cones), 0.3 s of CPU a k-means of the built-in bank (read-only arrays, shared)."""
    rows = np.ascontiguousarray(vectors)
    key = (rows.shape, rows.dtype.str, hashlib.blake2b(rows.view(np.uint8), digest_size=16).digest())
    with _cones_lock:
        if key in _held_cones:
            _held_cones.move_to_end(key)
            return _held_cones[key]
    found = _cones(vectors)
    if found is not None:
        for array in (found.centres, found.cone, found.angle, found.members, found.starts, found.counts):
            array.setflags(write=False)
    with _cones_lock:
        _held_cones[key] = found
        while len(_held_cones) > _HELD_CONES:
            _held_cones.popitem(last=False)
    return found


_HELD_CONES = 4
_held_cones: OrderedDict[tuple[object, ...], Cones | None] = OrderedDict()
_cones_lock = threading.Lock()


def _cones(vectors: np.ndarray) -> Cones | None:
    d = len(vectors)
    k = d // _CONE
    if k < _MIN_CONES:
        return None
    centres = vectors[np.sort(np.random.default_rng(0).choice(d, k, replace=False))].copy()
    for _ in range(_ROUNDS):
        assign = _nearest_centre(vectors, centres)
        order = np.argsort(assign, kind="stable")
        present, starts = np.unique(assign[order], return_index=True)
        sums = np.add.reduceat(vectors[order].astype(np.float64), starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centres[present] = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
    assign = _nearest_centre(vectors, centres)
    exact = vectors.astype(np.float64)
    centre = centres[assign].astype(np.float64)
    cosine = np.einsum("ij,ij->i", exact, centre) / np.maximum(
        np.linalg.norm(exact, axis=1) * np.linalg.norm(centre, axis=1), 1e-12)
    angle = np.arccos(np.clip(cosine, -1.0, 1.0)) + _ANGLE_SLACK
    counts = np.bincount(assign, minlength=k)
    return Cones(centres, assign, angle, np.argsort(assign, kind="stable"), np.cumsum(counts) - counts,
                 counts)


@dataclass(frozen=True)
class RunCones:
    """Cones of a run's largest bank (its distinct vectors), for the bank of any of its months."""

    vectors: np.ndarray  # the distinct vectors the cones were computed on
    found: Cones
    hashes: np.ndarray  # each vector's hash, ascending
    order: np.ndarray  # the vectors in that order


def run_cones(vectors: np.ndarray) -> RunCones | None:
    """Cones of `vectors` (a run's largest bank: every month's bank vectors among them), or None
    when they are too few for cones or their hashes clash."""
    vectors = vectors[distinct_rows(vectors)[0]]
    words = _words(vectors)
    found = cones(vectors)
    if found is None or words is None:
        return None
    hashes = _hashes(words)
    order = np.argsort(hashes, kind="stable")
    if np.any(np.diff(hashes[order]) == 0):  # two distinct vectors, one hash: no lookup by it
        return None
    return RunCones(vectors, found, hashes[order], order)


def bank_cones(vectors: np.ndarray, run: RunCones | None = None) -> Cones | None:
    """Cones of a bank's distinct vectors: the run's cones kept to those vectors when the run's
    bank holds them all (one k-means per run, not per month: 1.2-1.4 s of CPU at 35,000 vectors),
    else their own. Any grouping gives a bound that holds (see the module), so the votes are the
    same; only which columns are spared differs."""
    if run is None or len(vectors) // _CONE < _MIN_CONES:
        return cones(vectors)
    words = _words(vectors)
    if words is None:
        return cones(vectors)
    hashes = _hashes(words)
    at = np.minimum(np.searchsorted(run.hashes, hashes), len(run.hashes) - 1)
    rows = run.order[at]
    if not (np.array_equal(run.hashes[at], hashes) and np.array_equal(run.vectors[rows], vectors)):
        return cones(vectors)  # a vector the run's bank does not hold
    found = run.found
    cone = found.cone[rows]
    counts = np.bincount(cone, minlength=len(found.centres))
    return Cones(found.centres, cone, found.angle[rows], np.argsort(cone, kind="stable"),
                 np.cumsum(counts) - counts, counts)


def order_by_cone(queries: np.ndarray, found: Cones) -> np.ndarray:
    """An order of the queries that puts texts near the same centre side by side (fewer columns
    per block)."""
    return np.argsort(_nearest_centre(queries, found.centres), kind="stable")


def candidate_columns(block: np.ndarray, bank: np.ndarray, found: Cones, short: int) -> np.ndarray:
    """The columns of `bank` (ascending) that may be among the `short` most similar to some row
    of `block`: every column at least as similar to a row as that row's `short`-th most similar."""
    near = (block @ found.centres.T).astype(np.float64)  # rows x cones
    # The angle to each centre, rounded down.
    theta = np.arccos(np.clip(near + _COSINE_SLACK, -1.0, 1.0)) - _ANGLE_SLACK
    # Each row's `short`-th most similar of the columns of its nearest cones (all of the block's).
    # A run's cones kept to a smaller month's bank hold fewer vectors each: as many of a row's
    # nearest (non-empty) cones as hold about _FLOOR_CONES full cones' vectors.
    full = found.counts > 0
    take = min(int(full.sum()), max(_FLOOR_CONES, -(-_FLOOR_CONES * _CONE * int(full.sum()) // len(bank))))
    ranked = np.where(full, near, -np.inf)
    nearest = np.argpartition(-ranked, min(take, near.shape[1] - 1), axis=1)[:, :take]
    first = _columns(found, np.unique(nearest))
    if len(first) < short:
        return np.arange(len(bank))
    floor = np.partition(block @ bank[first].T, len(first) - short, axis=1)[:, len(first) - short]
    # The widest angle of the row's shortlist, rounded up.
    widest = np.arccos(np.clip(floor.astype(np.float64) - _COSINE_SLACK, -1.0, 1.0)) + _ANGLE_SLACK
    # A member of cone c is needed when some row could be within `widest` of it.
    reach = (theta - widest[:, None]).min(axis=0)  # per cone
    return np.flatnonzero(found.angle >= reach[found.cone])


def _columns(found: Cones, which: np.ndarray) -> np.ndarray:
    """The columns of cones `which`."""
    per = found.counts[which]
    offset = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    return found.members[np.repeat(found.starts[which], per) + offset]


def similarities(block: np.ndarray, bank: np.ndarray, found: Cones | None,
                 short: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The block's similarities with the columns of `bank` that may be among its rows' `short`
    nearest, and which columns those are (ascending); with every column, None."""
    if found is not None and len(block) >= _MIN_ROWS:
        near = candidate_columns(block, bank, found, short)
        if len(near) < (1 - _SPARED) * len(bank):
            # Never a small product (see blocks below): the first columns join the
            # kept ones up to 2**24 multiply-adds (a column more is compared, not taken).
            least = min(len(bank), -(-(1 << 24) // (len(block) * bank.shape[1])))
            near = np.union1d(near, np.arange(least)) if len(near) < least else near
            return block @ bank[near].T, near
    return block @ bank.T, None


CHUNK = 4096  # texts per run of blocks (see blocks; logic/semantic.py's vote)


def blocks(n: int, rows: int) -> list[tuple[int, int]]:
    """(start, stop) of the blocks of texts whose similarities are taken in one matrix product.

    They split the `CHUNK` runs of texts the vote has always used (the last one shorter) into
    blocks of at least `rows` texts, a run's last short block joined to the one before; a run no
    longer than `rows` stays whole. With `rows` large enough (see votes), every product is a
    large one for the BLAS library, which computes each similarity the same way in any of them:
    tiny ones may go through other kernels that round differently.
    """
    bounds = []
    for chunk in range(0, n, CHUNK):
        end = min(chunk + CHUNK, n)
        starts = list(range(chunk, end, rows))
        if len(starts) > 1 and end - starts[-1] < rows:
            starts.pop()
        bounds += [(start, stop) for start, stop in zip(starts, [*starts[1:], end], strict=True)]
    return bounds
