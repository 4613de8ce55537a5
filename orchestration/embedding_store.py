"""The semantic vote's text embeddings kept in the warehouse, so that a run embeds only new texts.

Every run process used to embed the whole exemplar bank and every text of its months again (a
one-month run: loading the model, the bank's 2,000 texts and the month's texts; most of those were
embedded by an earlier run). A text's vector depends on that text and the model alone
(logic/embeddings.py), so the stored vector is the one embedding it again would give: FLOAT is the
vector's own float32, and the votes stay identical. Keyed by the model, its dimension and the md5 of
the lower-cased text (as `embed` keys texts); the text itself is not stored twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import numpy as np
import pyarrow as pa

from logic.embeddings import held, remember
from logic.text_match import TICKET_TEXT
from policy.config import PolicyConfig
from warehouse.mart_tables import TEXT_EMBEDDINGS

TABLE = TEXT_EMBEDDINGS.name  # created with the warehouse (warehouse.schema.ensure_warehouse)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _keys(texts: list[str]) -> dict[str, str]:
    """md5 -> lower-cased text, for each distinct text."""
    return {_md5(t): t for t in dict.fromkeys(t.lower() for t in texts)}


def load(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, texts: list[str]) -> set[str]:
    """Hold the stored vectors of `texts` in this process for `embed`; returns the md5s found."""
    sv = policy.scope_classification.semantic
    keys = _keys(texts)
    if not keys:
        return set()
    con.register("embedding_keys", pa.table({"text_md5": pa.array(list(keys), type=pa.string())}))
    try:
        # As Arrow, the vectors one flat float32 buffer: no Python float per component.
        found = con.sql(
            f"SELECT DISTINCT ON (text_md5) text_md5, CAST(vector AS FLOAT[{sv.dim}]) AS vector"
            f" FROM {TABLE} WHERE model = ? AND dim = ?"
            " AND text_md5 IN (SELECT text_md5 FROM embedding_keys)",
            params=[sv.model, sv.dim]).to_arrow_table()
    finally:
        con.unregister("embedding_keys")
    md5s = found.column("text_md5").to_pylist()
    flat = found.column("vector").combine_chunks().flatten().to_numpy()
    vectors = np.asarray(flat, dtype=np.float32).reshape(len(md5s), sv.dim)
    remember(policy, {keys[k]: vectors[i] for i, k in enumerate(md5s)})
    return set(md5s)


def save(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, texts: list[str],
         stored: set[str]) -> set[str]:
    """Store the vectors this process holds for `texts` whose md5 is not in `stored`; returns
    the md5s stored."""
    sv = policy.scope_classification.semantic
    keys = {k: t for k, t in _keys(texts).items() if k not in stored}
    vectors = held(policy, list(keys.values()))
    new = [(k, vectors[t]) for k, t in keys.items() if t in vectors]
    if not new:
        return set()
    table = pa.table({
        "text_md5": pa.array([k for k, _ in new], type=pa.string()),
        "vector": pa.FixedSizeListArray.from_arrays(
            pa.array(np.concatenate([v for _, v in new]).astype(np.float32)), sv.dim),
    })
    con.register("embedding_rows", table)
    try:
        # A month run in parallel may have stored the same text meanwhile: the vector is the same,
        # and `load` reads one row per md5.
        con.execute(f"INSERT INTO {TABLE} SELECT ?, ?, text_md5, vector FROM embedding_rows",
                    [sv.model, sv.dim])
    finally:
        con.unregister("embedding_rows")
    return {k for k, _ in new}


@contextmanager
def stored_embeddings(con: duckdb.DuckDBPyConnection, policy: PolicyConfig,
                      texts: list[str], known: set[str] | None = None) -> Iterator[None]:
    """Within the block, `embed` finds the stored vectors of `texts`; after it, the ones embedded
    in the block are stored.

    `known`: for the months of one run, the md5s of the texts the run read from the warehouse
    before its first month (`load` of every text its months vote on), to which each month adds
    those it stores. This process holds their vectors, so a month reads none again; a text not
    known was not stored when the run began, and is stored by the first month that embeds it.
    """
    if known is None:
        stored = load(con, policy, texts)
        yield
        save(con, policy, texts, stored)
        return
    yield
    known.update(save(con, policy, texts, known))


def prune(con: duckdb.DuckDBPyConnection, months: list[str], keep: list[str]) -> int | None:
    """Delete the vectors of texts that are no longer a ticket's text in the warehouse, nor one of
    `keep` (the built-in exemplars, which live in files), and second copies of a vector, when
    `months` cover every month with tickets; returns how many rows went, or None when the run
    covers less (docs/decisions.md).

    A re-delivered ticket whose text changed, or an exemplar file edited, leaves its old text's
    vector behind; only a run over all of the warehouse's months has read every text it holds, so
    only such a run prunes: one set-based delete, keyed as `load` and `save` key texts.
    """
    uncovered = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT month FROM staging.tickets)"
        " WHERE month NOT IN (SELECT CAST(unnest($months) AS DATE))", {"months": months}).fetchall()[0][0]
    if uncovered:
        return None
    con.register("embedding_keep", pa.table({"text_md5": pa.array(list(_keys(keep)), type=pa.string())}))
    try:
        # md5 of DuckDB's lower-casing: for the rare text that Python lower-cases otherwise (a
        # dotted capital I), the vector goes and is embedded again when next voted on.
        # Months run side by side may each have stored a text first seen in both: the copies
        # (the same vector) go too, the first kept.
        return con.execute(
            f"DELETE FROM {TABLE} WHERE text_md5 NOT IN ("
            # md5 of each distinct text (a quarter of the CPU of one per ticket at 100k)
            f" SELECT md5(lower(txt)) FROM (SELECT DISTINCT {TICKET_TEXT} AS txt FROM staging.tickets)"
            " UNION ALL SELECT text_md5 FROM embedding_keep)"
            f" OR rowid NOT IN (SELECT min(rowid) FROM {TABLE} GROUP BY model, dim, text_md5)"
        ).fetchall()[0][0]
    finally:
        con.unregister("embedding_keep")
