"""The semantic vote's shortlists, and the built-in exemplars' part of them once per run.

A month's bank is the built-in exemplars (the policy's concepts and the labelled tickets: the same
every month) followed by that month's review decisions. A text's shortlist is its `short` most
similar exemplars, most similar first and equals in bank order (`shortlist`), so it is the first
`short` of the built-in part's shortlist and the review part's together, in that order (`merge`):
every exemplar of the whole shortlist is among the first `short` of its own part. At 100k tickets
a text recurs in about 9 months of a run (77,538 text-months, 8,578 distinct texts), so a run
takes each recurring text's built-in shortlist once (`builtin_shortlists`) and each month only
compares its texts with its review decisions.

The similarities are the same bits: each is one dot product, the same in any large product
(logic/nearest.py, tests/test_semantic_prune.py), and every product here is kept large
(`_LARGE` multiply-adds at least, by repeating a row or adding zero columns). A block whose
whole-bank product was small takes the whole bank as before (logic/semantic.votes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from logic.blas import fit_threads, shared_cores
from logic.embeddings import embed
from logic.nearest import CONE_ROWS, Cones, RunCones, bank_cones, distinct_rows, order_by_cone, similarities
from logic.nearest import blocks as _blocks
from policy.config import PolicyConfig

# Multiply-adds a product needs to be a large one for the BLAS library (logic/nearest.blocks);
# with fewer, or with one row (a matrix-vector product), its similarities may round otherwise.
LARGE = 1 << 24
# A month splits its bank when at least this share of its texts' built-in shortlists are held: with
# fewer, two parts' products, bounds and a merge per block cost more than the held rows spare (a
# 1M --unique-texts year holds none; the votes are the same either way).
HELD_SHARE = 0.25
_GROUP = 32  # distinct bank vectors per group whose maximum bounds a shortlist from below


def members(spread: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each of the d distinct columns' exemplars (in bank order): all of them grouped by column,
    where a column's group starts, and its size."""
    counts = np.bincount(spread, minlength=d)
    return np.argsort(spread, kind="stable"), np.cumsum(counts) - counts, counts


def shortlist(sims: np.ndarray, grouped: tuple[np.ndarray, np.ndarray, np.ndarray],
              short: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `sims` (texts x distinct bank vectors): the `short` most similar exemplars, most
    similar first and equals in bank order, as (exemplar indices, similarities).

    Without sorting a row: the `short`-th largest of the maxima of groups of `_GROUP` columns (a
    wide bank) or of the columns is at most the row's `short`-th largest similarity, so only the
    few columns at or above it are spread to their exemplars and sorted. Equals by rule, not by a
    procedure's accident: the earlier in the bank (concepts, labelled tickets, reviews) first.
    """
    b, d = sims.shape
    ordered, starts, counts = grouped
    groups = d // _GROUP
    if groups > short:
        # Group k: columns k, k + groups, k + 2 x groups, ... (a maximum of whole rows at a time).
        maxima = sims[:, :groups * _GROUP].reshape(b, _GROUP, groups).max(axis=1)
        bound = np.partition(maxima, groups - short, axis=1)[:, groups - short]
    elif d > short:
        bound = np.partition(sims, d - short, axis=1)[:, d - short]
    else:  # no more columns than places: every exemplar is a candidate
        bound = np.full(b, -np.inf, dtype=sims.dtype)
    at = np.flatnonzero(sims >= bound[:, None])
    row, col = np.divmod(at, d)
    sim = sims.ravel()[at]
    # Each candidate column stands for all of its exemplars.
    per = counts[col]
    offset = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    exemplar = ordered[np.repeat(starts[col], per) + offset]
    row, sim = np.repeat(row, per), np.repeat(sim, per)
    order = np.lexsort((exemplar, -sim, row))
    row, sim, exemplar = row[order], sim[order], exemplar[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row)
    keep = rank < short
    top = np.empty((b, short), dtype=np.int64)
    top_s = np.empty((b, short), dtype=np.float32)
    top[row[keep], rank[keep]] = exemplar[keep]
    top_s[row[keep], rank[keep]] = sim[keep]
    return top, top_s


def merge(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray],
          short: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `short` of two parts' shortlists of the same rows (most similar first, equals by
    exemplar index: `shortlist`'s order), whose exemplar indices are the whole bank's."""
    top = np.concatenate([first[0], second[0]], axis=1)
    top_s = np.concatenate([first[1], second[1]], axis=1)
    order = np.lexsort((top, -top_s), axis=1)[:, :short]
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_s, order, axis=1)


@dataclass(frozen=True)
class BankPart:
    """A run of a bank's exemplars (from `offset`): its distinct vectors, each one's exemplars
    (whole-bank indices) and its cones."""

    vectors: np.ndarray
    grouped: tuple[np.ndarray, np.ndarray, np.ndarray]
    found: Cones | None
    short: int  # places of its shortlists: min(the vote's, its exemplars)

    def top(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The block's shortlists in this part, every product a large one."""
        rows, (d, dim) = len(block), self.vectors.shape
        # Rows: at least two, and enough for the whole part's product (the cones' products are
        # at least LARGE, logic/nearest.similarities); columns: zeros added, their results dropped.
        need = max(2, -(-LARGE // (d * dim)) if self.found is not None else 2)
        padded = np.vstack([block, np.repeat(block[:1], need - rows, axis=0)]) if rows < need else block
        if self.found is not None:
            sims, near = similarities(padded, self.vectors, self.found, self.short)
        else:
            columns = max(d, -(-LARGE // (len(padded) * dim)))
            bank = self.vectors if columns == d else np.vstack(
                [self.vectors, np.zeros((columns - d, dim), dtype=self.vectors.dtype)])
            sims, near = (padded @ bank.T)[:, :d], None
        grouped = self.grouped if near is None else (self.grouped[0], self.grouped[1][near],
                                                     self.grouped[2][near])
        return shortlist(np.ascontiguousarray(sims[:rows]), grouped, self.short)


def bank_vectors(policy: PolicyConfig, texts: list[str], builtin: BuiltinShortlists | None = None
                 ) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """A bank's distinct lower-cased texts (text -> position, in order of appearance), each
    exemplar's position and the positions' vectors; the built-in part's held for the run when the
    bank starts with it (a month's bank: 16.6k texts lower-cased and looked up once, not monthly)."""
    position: dict[str, int] = {}
    start, parts, vectors = 0, [], []
    if builtin is not None and texts[:len(builtin.texts)] == builtin.texts:
        position = dict(builtin.position)
        start, parts, vectors = len(builtin.texts), [builtin.by_text], [builtin.vectors]
    known = len(position)
    parts.append(np.fromiter((position.setdefault(t.lower(), len(position)) for t in texts[start:]),
                             dtype=np.int64, count=len(texts) - start))
    vectors.append(embed(policy, list(position)[known:]))
    return position, np.concatenate(parts), np.concatenate(vectors)


def bank_part(policy: PolicyConfig, texts: list[str], offset: int, short: int,
              cones_of_run: RunCones | None, with_cones: bool = True) -> BankPart | None:
    """The part of a bank whose exemplars' texts are `texts`, the first at `offset` (None: empty).
    Without `with_cones`, cones only from the run's (a month's review part: its own k-means each
    month would cost more than it spares)."""
    if not texts:
        return None
    _, by_text, vectors = bank_vectors(policy, texts)
    first, column = distinct_rows(vectors)
    vectors, spread = vectors[first], column[by_text]
    grouped = members(spread, len(vectors))
    grouped = (grouped[0] + offset, grouped[1], grouped[2])
    found = bank_cones(vectors, cones_of_run) if with_cones or cones_of_run is not None else None
    return BankPart(vectors, grouped, found, min(short, len(texts)))


@dataclass(frozen=True)
class BuiltinShortlists:
    """The built-in exemplars' shortlists of a run's recurring texts (lower-cased -> row)."""

    texts: list[str]  # the built-in exemplars' texts: a month's bank must start with them
    part: BankPart
    rows: dict[str, int]
    top: np.ndarray
    top_s: np.ndarray
    position: dict[str, int]  # the built-in texts as `bank_vectors` gives them
    by_text: np.ndarray
    vectors: np.ndarray

    def rows_of(self, texts: list[str]) -> np.ndarray:
        """Each text's row (-1: not taken for the run)."""
        return np.fromiter((self.rows.get(t.lower(), -1) for t in texts), dtype=np.int64, count=len(texts))


def part_shortlists(part: BankPart, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The shortlists of `queries` (distinct vectors) in `part`, in blocks of the queries near the
    same cones (as a month's vote takes them)."""
    order = order_by_cone(queries, part.found) if part.found is not None and len(queries) else None
    ordered = queries if order is None else queries[order]
    top = np.empty((len(queries), part.short), dtype=np.int64)
    top_s = np.empty((len(queries), part.short), dtype=np.float32)
    for start, stop in _blocks(len(queries), CONE_ROWS):
        fit_threads()
        top[start:stop], top_s[start:stop] = part.top(ordered[start:stop])
    if order is None:
        return top, top_s
    back = np.argsort(order)
    return top[back], top_s[back]


@shared_cores()  # one BLAS thread when the run's months go side by side: logic/blas.py
def builtin_shortlists(policy: PolicyConfig, builtin_texts: list[str], texts: list[str],
                       cones_of_run: RunCones | None = None) -> BuiltinShortlists | None:
    """The built-in exemplars' shortlists of `texts`; None without texts, or when the built-in
    bank has fewer exemplars than a shortlist's places."""
    short = 4 * policy.scope_classification.semantic.neighbours
    if len(builtin_texts) < short or not texts:
        return None
    part = bank_part(policy, builtin_texts, 0, short, cones_of_run)
    assert part is not None
    lowered = list(dict.fromkeys(t.lower() for t in texts))
    queries = embed(policy, lowered)
    first, row_of = distinct_rows(queries)
    top, top_s = part_shortlists(part, queries[first])
    position, by_text, vectors = bank_vectors(policy, builtin_texts)
    return BuiltinShortlists(list(builtin_texts), part, dict(zip(lowered, row_of.tolist(), strict=True)),
                             top, top_s, position, by_text, vectors)


@dataclass(frozen=True)
class SplitBank:
    """A month's bank as its built-in part (shortlists held for the run's recurring texts) and its
    review part."""

    builtin: BuiltinShortlists
    review: BankPart | None
    short: int

    def builtin_tops(self, queries: np.ndarray, held_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The built-in part's shortlists of the month's distinct `queries`: the held ones (row
        `held_rows`), the others taken now, together (-1: not held)."""
        held = held_rows >= 0
        top = np.empty((len(queries), self.short), dtype=np.int64)
        top_s = np.empty((len(queries), self.short), dtype=np.float32)
        top[held], top_s[held] = self.builtin.top[held_rows[held]], self.builtin.top_s[held_rows[held]]
        if not held.all():
            top[~held], top_s[~held] = part_shortlists(self.builtin.part, queries[~held])
        return top, top_s

    def top(self, block: np.ndarray, builtin: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The block's shortlists in the whole bank, from its rows' built-in ones (`builtin_tops`)."""
        if self.review is None:
            return builtin
        return merge(builtin, self.review.top(block), self.short)


def split_bank(policy: PolicyConfig, bank_texts: list[str], builtin: BuiltinShortlists | None,
               short: int, cones_of_run: RunCones | None) -> SplitBank | None:
    """The month's bank split at the built-in exemplars, or None when it does not start with them
    (or the shortlists are not the vote's)."""
    if builtin is None or builtin.part.short != short or bank_texts[:len(builtin.texts)] != builtin.texts:
        return None
    review = bank_part(policy, bank_texts[len(builtin.texts):], len(builtin.texts), short, cones_of_run,
                       with_cones=False)
    return SplitBank(builtin, review, short)
