"""The word model (docs/classification.md, round 12): per scope id, a linear model over the ticket
text's words and the call's structured signals, fitted on the labelled files and stored
(config/word_model.json).

Features: the distinct word unigrams and bigrams of the text (lower-cased, split on anything but
a-z and 0-9, stop words, one-letter tokens and numbers dropped, bigrams over what is left; binary:
a term counts once per text) that appear in at least `min_df` training tickets, and the signals the
scope statement already has per ticket (`STRUCTURED`: the category, on-site or travel work logged,
billable work outside business hours, log(1 + hours logged)). Per id an L2 logistic regression
(the intercept not penalised), fitted deterministically (L-BFGS from zero on a sparse matrix, rows
in file order) and rounded to `DECIMALS` places, stored as integers in units of 10^-DECIMALS (round
42: 54% of the file the floats made, the scores within 2e-4), so `python -m evaluation.fit_model
--check` can compare a refit with the stored file.

Scoring is SQL: the tokenisation is one list expression (`terms_sql`, the same statement the fit
tokenises with), each distinct text's terms are joined once with the weights table
`clf_word_weights` (term, scope_id, w) pivoted to a column per id and summed per text (round 13:
not joined and grouped once per id), the structured terms per ticket are added, and the sum goes
through the logistic function. The evidence words are looked up only where the caller shows them.
No Python per ticket.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

from logic.stored_models import (
    file_digests,
    fitted_otherwise,
    fresh_model,
    missing_weights,
    trained_elsewhere,
)
from policy.base import SCOPE_EXCLUSION_IDS
from policy.classifiers import StoredWordModel
from policy.config import PolicyConfig
from policy.paths import PROJECT_ROOT
from warehouse.sqlquote import sql_literal

# Common English function words. Negations (no, not, never, without) and words that carry the
# request (new, all, every, only) are kept: "not buying yet" and "every user" are what the
# look-alikes turn on.
_STOP = (
    "a about above after again against am an and any are as at be because been before being below "
    "between both but by can could did do does doing down during each few for from further had has "
    "have having he her here hers herself him himself his how i if in into is it its itself just me "
    "more most my myself of off on once or other our ours ourselves out over own same she should so "
    "some such than that the their theirs them themselves then there these they this those through "
    "to too under until up very was we were what when where which while who whom why will with would "
    "you your yours yourself yourselves hi hello thanks thank regards please cheers dear also us "
    "ll ve re"
)
STOP_WORDS = _STOP.split()
_SPLIT = "[^a-z0-9]+"
TOKENIZER = hashlib.sha256(json.dumps({"split": _SPLIT, "min_length": 2, "numbers": "dropped",
                                       "stop_words": STOP_WORDS, "ngrams": [1, 2],
                                       "counts": "binary"}).encode()).hexdigest()

# The structured features as SQL over the scope statement's relations: t (tickets: raw_cat) and s
# (the ticket's time state: total_min, onsite_min, travel_min, after_min). Names start with "=",
# which no text term can (terms are a-z and 0-9 only).
CATEGORY = "'=category:' || lower(trim(t.raw_cat))"
STRUCTURED = {
    "=onsite": "CASE WHEN s.onsite_min + s.travel_min > 0 THEN 1.0 ELSE 0.0 END",
    "=after_hours": "CASE WHEN s.after_min > 0 THEN 1.0 ELSE 0.0 END",
    "=log_hours": "ln(1 + s.total_min / 60)",
}
INTERCEPT = "=intercept"
# How the call's evidence names it ('word model 0.83 (words "tenant", "cutover")').
EVIDENCE = "word model"

# Stored weights are rounded so a refit reproduces the file, and written as integers in units of
# 10^-DECIMALS. Round 42: 4 places move no call of the bank (every word-model probability within
# 2e-4 of 5 places') in 43% of the float text's characters ("-0.00093" -> "-9").
DECIMALS = 4
_MAX_ITER = 5000


def tokens_sql(column: str) -> str:
    """SQL: the list of `column`'s tokens (lower-cased words of two or more letters, no numbers, no
    stop words), in text order."""
    stop = "[" + ", ".join(sql_literal(w) for w in STOP_WORDS) + "]"
    return (f"list_filter(regexp_split_to_array(lower({column}), '{_SPLIT}'), lambda x: length(x) >= 2"
            f" AND NOT regexp_full_match(x, '[0-9]+') AND NOT list_contains({stop}, x))")


def term_list_sql(tok: str) -> str:
    """SQL: the distinct terms (words and two-word phrases) of the token list `tok`."""
    return (f"list_distinct(list_concat({tok},"
            f" list_transform(range(1, len({tok})), lambda i: {tok}[i] || ' ' || {tok}[i + 1])))")


def _unnest_terms(key: str) -> str:
    return f"{key}, unnest({term_list_sql('tok')}) AS term"


def terms_sql(relation: str, column: str = "raw_txt") -> str:
    """SQL: (raw_txt, term) for each distinct text of `relation`.`column` and each distinct term."""
    return f"""SELECT {_unnest_terms('raw_txt')}
    FROM (SELECT raw_txt, {tokens_sql('raw_txt')} AS tok
          FROM (SELECT DISTINCT {column} AS raw_txt FROM {relation} WHERE {column} IS NOT NULL))"""


def structured_sql(tickets: str, state: str) -> str:
    """SQL: (ticket_id, term, value) of the structured features; `tickets` has ticket_id, raw_cat,
    `state` ticket_id, total_min, onsite_min, travel_min, after_min (the scope statement's)."""
    parts = [f"SELECT t.ticket_id, {CATEGORY} AS term, 1.0 AS value FROM {tickets} t"
             " WHERE trim(t.raw_cat) <> ''"]
    parts += [f"SELECT s.ticket_id, '{name}', {expr} FROM {state} s" for name, expr in STRUCTURED.items()]
    return "\n    UNION ALL ".join(parts)


def scores_sql(tickets: str, state: str, weights: str = "clf_word_weights",
               scope_ids: Sequence[str] = SCOPE_EXCLUSION_IDS, words_where: str = "true") -> str:
    """SQL: (ticket_id, scope_id, p, words) for every ticket and id the weights know; `words` lists
    the text's three terms that add most to the id (the evidence), for each text and id where
    `words_where` (SQL over p) holds for one of the text's tickets, elsewhere NULL: a caller that
    shows the evidence only where weight x p reaches a floor says so, and the other pairs (98% on
    a synthetic year) cost nothing.

    `scope_ids` names the ids the weights may hold (an id the weights lack gives no rows): the
    weights are pivoted to one row per term with a column per id, so each distinct text's terms are
    joined and summed once, not once per id (round 13: 3x less CPU than the per-id join).
    """
    ids = list(scope_ids)
    cols = [f"c{i}" for i in range(len(ids))]
    pivot = ", ".join(f"any_value(w) FILTER (WHERE scope_id = {sql_literal(s)}) AS {c}"
                      for s, c in zip(ids, cols, strict=True))
    logits = ", ".join(f"1 / (1 + exp(-(i.{c} + coalesce(x.{c}, 0) + coalesce(g.{c}, 0))))" for c in cols)
    return f"""
    WITH wide AS MATERIALIZED (  -- a row per term, a weight column per id (NULL: weight 0)
        SELECT term, {pivot} FROM {weights} GROUP BY term
    ), n AS MATERIALIZED (  -- per distinct text, numbered: terms are grouped by a number, not the text
        SELECT raw_txt, row_number() OVER () AS k
        FROM (SELECT DISTINCT raw_txt FROM {tickets} WHERE raw_txt IS NOT NULL)
    ), d AS MATERIALIZED (  -- each text's terms the model weighs, with their weights
        SELECT d.k, d.term, {", ".join(f"w.{c}" for c in cols)}
        FROM (SELECT {_unnest_terms('k')} FROM (SELECT k, {tokens_sql('raw_txt')} AS tok FROM n)) d
        JOIN wide w ON w.term = d.term AND NOT starts_with(w.term, '=')
    ), x AS (
        SELECT k, {", ".join(f"sum({c}) AS {c}" for c in cols)} FROM d GROUP BY k
    ), g AS (
        SELECT f.ticket_id, {", ".join(f"sum(w.{c} * f.value) AS {c}" for c in cols)}
        FROM ({structured_sql(tickets, state)}) f JOIN wide w USING (term)
        GROUP BY f.ticket_id
    ), p AS MATERIALIZED (
        SELECT ticket_id, k, unnest([{", ".join(sql_literal(s) for s in ids)}]) AS scope_id, unnest(ps) AS p
        FROM (SELECT t.ticket_id, n.k, [{logits}] AS ps
              FROM {tickets} t CROSS JOIN (SELECT * FROM wide WHERE term = '{INTERCEPT}') i
              LEFT JOIN n ON n.raw_txt = t.raw_txt
              LEFT JOIN x ON x.k = n.k
              LEFT JOIN g ON g.ticket_id = t.ticket_id)
    ), e AS (
        SELECT q.k, q.scope_id,
               max_by(d.term, struct_pack(w := w.w, t := d.term), 3) AS words
        FROM (SELECT DISTINCT k, scope_id FROM p WHERE k IS NOT NULL AND ({words_where})) q
        JOIN d USING (k) JOIN {weights} w ON w.term = d.term AND w.scope_id = q.scope_id
        WHERE w.w > 0
        GROUP BY q.k, q.scope_id
    )
    SELECT p.ticket_id, p.scope_id, p.p, e.words
    FROM p LEFT JOIN e ON e.k = p.k AND e.scope_id = p.scope_id
    WHERE p.p IS NOT NULL"""


# --- fitting ---------------------------------------------------------------------------------------

def _design(con: duckdb.DuckDBPyConnection, policy: PolicyConfig) -> pd.DataFrame:
    """(ticket_id, term, value) of every text and structured feature of clf_tickets / clf_time."""
    from logic.classify import time_state_sql
    from logic.message import CLF_TEXTS, scope_read_texts
    from logic.text_match import TICKET_TEXT

    # the text the scope reading reads: its message with scope_classification.message_only
    read = scope_read_texts(policy, CLF_TEXTS)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE word_tickets AS
        SELECT ticket_id, m.read_txt AS raw_txt, coalesce(category, '') AS raw_cat
        FROM (SELECT *, {TICKET_TEXT} AS raw_txt FROM clf_tickets) c JOIN ({read}) m USING (raw_txt)""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE word_state AS {time_state_sql(policy, 'word_tickets')}")
    return con.execute(f"""
        SELECT t.ticket_id, d.term, 1.0 AS value
        FROM word_tickets t JOIN ({terms_sql('word_tickets')}) d USING (raw_txt)
        UNION ALL
        {structured_sql('word_tickets', 'word_state')}""").df()


def fit_l2_logistic(x, y: np.ndarray, penalty: float) -> np.ndarray:
    """L2 logistic regression (intercept last, unpenalised) by L-BFGS from zero."""
    from scipy.optimize import minimize

    n, d = x.shape

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w[:-1] + w[-1]
        # log(1 + e^z) - y z, stably
        value = float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * penalty * w[:-1] @ w[:-1])
        r = 1 / (1 + np.exp(-z)) - y
        grad = np.concatenate([x.T @ r + penalty * w[:-1], [r.sum()]])
        return value, grad

    result = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                      options={"maxiter": _MAX_ITER, "gtol": 1e-9, "ftol": 1e-14, "maxcor": 20})
    return result.x


def design_matrix(rows: pd.DataFrame, n: int, min_df: int) -> tuple[list[str], csr_matrix]:
    """The features (text terms in at least `min_df` tickets, then the structured ones; a category
    only when that frequent) and the sparse (ticket x feature) matrix of `rows` (ticket_id, term,
    value; tickets numbered 0..n-1)."""
    from scipy.sparse import csr_matrix  # scipy only where a model is fitted
    text_terms = rows[~rows["term"].str.startswith("=")]
    df = text_terms.groupby("term")["ticket_id"].nunique()
    vocab = sorted(df.index[df >= min_df])
    structured = sorted(set(rows.loc[rows["term"].str.startswith("="), "term"]))
    features = vocab + [s for s in structured if not s.startswith("=category:")
                        or (rows["term"] == s).sum() >= min_df]
    column = {f: i for i, f in enumerate(features)}
    kept = rows[rows["term"].isin(column)]
    x = csr_matrix((kept["value"].to_numpy(float),
                    (kept["ticket_id"].astype(int).to_numpy(), kept["term"].map(column).to_numpy())),
                   shape=(n, len(features)))
    return features, x


def fit_word_model(policy: PolicyConfig, con: duckdb.DuckDBPyConnection, truth: pd.DataFrame,
                   files: list[Path], penalty: float | None = None,
                   min_df: int | None = None) -> StoredWordModel:
    """The word model fitted on labelled tickets (text, category, time entries; true_scope).

    `con` holds them as clf_tickets and clf_time, their ticket ids numbered 0..n-1 in the order of
    `truth` (a ticket id may repeat across files); `files` are the labelled files they came from,
    named in the stored model (evaluation.datasets.fit_word_model_on_files reads them so).
    """

    cfg = policy.scope_classification.word_model
    penalty = cfg.penalty if penalty is None else penalty
    min_df = cfg.min_df if min_df is None else min_df
    rows = _design(con, policy)
    features, x = design_matrix(rows, len(truth), min_df)
    weights = {}
    for sid in cfg.scope_ids or SCOPE_EXCLUSION_IDS:
        y = np.array([sid in t for t in truth["true_scope"]], dtype=np.float64)
        w = fit_l2_logistic(x, y, penalty)
        weights[sid] = np.rint(np.r_[w[-1], w[:-1]] * 10**DECIMALS).astype(np.int64).tolist()
    return StoredWordModel(
        tokenizer=TOKENIZER, penalty=penalty, min_df=min_df,
        trained_on=file_digests(files), training_texts=len(truth),
        message_only=policy.scope_classification.message_only, features=features,
        decimals=DECIMALS, weights=weights)


def weight_array(model: StoredWordModel, sid: str) -> np.ndarray:
    """An id's weights as floats, the intercept first: the stored integers x 10^-decimals (the
    division is exact to the last bit: the double nearest the decimal, as parsing "-0.0009" gives)."""
    return np.asarray(model.weights[sid], dtype=np.float64) / 10.0**model.decimals


COMPACT = (",", ":")  # the long lists' separators: no space after an item


def word_model_json(model: StoredWordModel) -> str:
    """The stored file: one key a line, the long lists on one line each (a readable diff), written
    without spaces between items (it grows with the bank's vocabulary), the weights as integers."""
    head = {k: v for k, v in model.model_dump().items() if k not in {"features", "weights"}}
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in head.items()]
    lines.append(f' "features": {json.dumps(model.features, separators=COMPACT)}')
    lines.append(' "weights": {\n' + ",\n".join(f"  {json.dumps(sid)}: {json.dumps(w, separators=COMPACT)}"
                                                for sid, w in model.weights.items()) + "\n }")
    return "{\n" + ",\n".join(lines) + "\n}\n"


# --- loading and scoring ---------------------------------------------------------------------------

def training_files(policy: PolicyConfig) -> list[Path]:
    """The files the word model is fitted on: the semantic vote's labelled files."""
    return [PROJECT_ROOT / f for f in policy.scope_classification.semantic.exemplar_files]


def stale_reason(policy: PolicyConfig, model: StoredWordModel) -> str | None:
    """Why a stored model is not the one the policy asks for (None: it is)."""
    cfg = policy.scope_classification.word_model
    if unlike := fitted_otherwise(model, cfg, TOKENIZER):
        return unlike
    if missing := missing_weights(cfg.scope_ids, model.weights):
        return missing
    if model.message_only != policy.scope_classification.message_only:
        return ("fitted on " + ("messages" if model.message_only else "whole texts")
                + ", not what scope_classification.message_only reads")
    return trained_elsewhere(model.trained_on, training_files(policy))


def weight_sql(policy: PolicyConfig, column: str) -> str:
    """SQL: the word model's evidence weight for the scope id in `column`: its own `weight_by_id`,
    else `weight` (round 18)."""
    cfg = policy.scope_classification.word_model
    by_id = " ".join(f"WHEN {sql_literal(k)} THEN {v!r}" for k, v in sorted(cfg.weight_by_id.items()))
    return f"(CASE {column} {by_id} ELSE {cfg.weight!r} END)" if by_id else repr(cfg.weight)


def word_model(policy: PolicyConfig) -> StoredWordModel | None:
    """The stored model the policy names, or None when the word model is off; a model fitted on
    other files, settings or tokenisation than the policy's is refused."""
    cfg = policy.scope_classification.word_model
    if not (cfg.enabled and cfg.scope_ids):
        return None
    path = PROJECT_ROOT / cfg.model_file
    return fresh_model(path, "scope_classification.word_model.model_file", StoredWordModel,
                       lambda model: stale_reason(policy, model), "word model")


def write_weights(con: duckdb.DuckDBPyConnection, policy: PolicyConfig,
                  model: StoredWordModel) -> None:
    """The temp table clf_word_weights(term, scope_id, w) the scope statement joins: the policy's
    ids only, zero weights left out (they add nothing to a sum)."""
    ids = [sid for sid in policy.scope_classification.word_model.scope_ids if sid in model.weights]
    # Column-wise (take by index): the shipped model's 366,000 rows cost 0.18 s of CPU a
    # classification built a row at a time in Python, paid by every month's run and test.
    keeps, ws = [], []
    for sid in ids:
        w = weight_array(model, sid)
        keep = np.union1d(np.flatnonzero(w), [0])  # ascending, the intercept always
        keeps.append(keep)
        ws.append(w[keep])
    index = np.concatenate(keeps) if keeps else np.zeros(0, dtype=np.int64)
    per_id = np.repeat(np.arange(len(ids)), [len(k) for k in keeps]) if ids else np.zeros(0, dtype=np.int64)
    table = pa.table({"term": pa.array([INTERCEPT, *model.features], pa.string()).take(index),
                      "scope_id": pa.array(ids, pa.string()).take(per_id),
                      "w": pa.array(np.concatenate(ws) if ws else np.zeros(0), pa.float64())})
    con.register("word_weights_df", table)
    con.execute("CREATE OR REPLACE TEMP TABLE clf_word_weights AS SELECT term::VARCHAR AS term,"
                " scope_id::VARCHAR AS scope_id, w::DOUBLE AS w FROM word_weights_df")
    con.unregister("word_weights_df")


def reference_probabilities(model: StoredWordModel, terms: list[set[str]]) -> dict[str, np.ndarray]:
    """Per id, the model's probability for texts given as sets of features (a numpy reference for
    the SQL; structured features by name, with value 1)."""
    column = {f: i for i, f in enumerate(model.features)}
    x = np.zeros((len(terms), len(model.features)))
    for r, ts in enumerate(terms):
        for t in ts:
            if t in column:
                x[r, column[t]] = 1.0
    out = {}
    for sid in model.weights:
        w = weight_array(model, sid)
        out[sid] = 1 / (1 + np.exp(-(x @ w[1:] + w[0])))
    return out
