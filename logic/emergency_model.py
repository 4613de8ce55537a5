"""The learned emergency signal (docs/classification.md, round 13): one L2 logistic regression over
the ticket text's words and the emergency reading's structured signals, fitted on the labelled files
and stored (config/emergency_model.json).

Features: the word model's text terms (logic/word_model.py: the same tokenisation, imported, so the
two cannot drift) that appear in at least `min_df` training tickets, and `STRUCTURED`: the client's
declaration, log(1 + affected users), the category, the rules' confidence and the semantic emergency
vote. Fitted like the word model (L-BFGS from zero, rows in file order, rounded), so
`python -m evaluation.fit_model --check` can compare a refit with the stored file.

Scoring is SQL over one relation of inputs per ticket (`INPUT_COLUMNS`): each distinct text is
numbered and tokenised once, its terms joined with `clf_emergency_weights(term, w)` and summed, the
structured terms added per ticket, the sum through the logistic function. No Python per ticket.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from logic.message import read_rows, read_texts
from logic.stored_models import file_digests, fitted_otherwise, fresh_model, trained_elsewhere
from logic.word_model import (
    TOKENIZER,
    design_matrix,
    fit_l2_logistic,
    term_list_sql,
    terms_sql,
    tokens_sql,
    training_files,
)
from policy.config import PolicyConfig
from policy.emergency_model import StoredEmergencyModel
from policy.paths import PROJECT_ROOT
from warehouse.sqlquote import sql_literal

# The inputs' relation x: ticket_id, raw_txt, category, declared_emergency, affected_users,
# rule_confidence (the rules' reading before the vote), vote (the neighbours' emergency vote),
# term_sets (the rules' vocabularies the text met, logic/emergency.emergency_rules_sql; read only by
# the term_sets signal group).
INPUT_COLUMNS = ("ticket_id", "raw_txt", "category", "declared_emergency", "affected_users",
                 "rule_confidence", "vote", "term_sets")
CATEGORY = "'=category:' || lower(trim(x.category))"
# Names start with "=", which no text term can (terms are a-z and 0-9 only).
STRUCTURED = {
    "=declared": "CASE WHEN coalesce(x.declared_emergency, false) THEN 1.0 ELSE 0.0 END",
    "=log_users": "ln(1 + greatest(coalesce(x.affected_users, 1), 0))",
    "=rules": "coalesce(x.rule_confidence, 0)",
    "=vote": "coalesce(x.vote, 0)",
}
INTERCEPT = "=intercept"
WEIGHTS = "clf_emergency_weights"
EVIDENCE = "emergency model"  # 'emergency model 0.83 (words "down", "everyone")'

_DECIMALS = 5
_SETTING = "emergency.learned_model.model_file"


# Round 14 (emergency.learned_model.signals): groups of features beside the words, each a function
# of the text alone (so scored once per distinct text) except no_users.
SUBJECT = "split_part(raw_txt, ' . ', 1)"  # TICKET_TEXT joins subject and description with ' . '
SUBJECT_TERM = "subject:"  # a subject word's own term: "subject:down" (no text term has a colon)
_FORM = {  # a machine-written alert's shape, whatever the product
    "=form:host": r"regexp_matches(raw_txt, '\b[A-Z]{2,}[A-Z0-9]*-[A-Z]+[0-9]+\b')",  # LDG-FW01
    "=form:fields": r"len(regexp_extract_all(raw_txt, '(?m)^[A-Za-z][A-Za-z /]{1,24}: *\S')) >= 2",
    "=form:capitals": rf"regexp_matches({SUBJECT}, '\b[A-Z]{{3,}}\b')",  # a status word in capitals
}
# A notice passed on by a person: the subject marks it forwarded or the text quotes lines ("> ...").
_FORWARDED = {"=forwarded": rf"regexp_matches({SUBJECT}, '^\s*(?i:fwd?)\s*:')"
                            r" OR regexp_matches(raw_txt, '(?m)^\s*>')"}
FIELD_TERM = "field:"  # a field's value's first word as a term of its own: "State: DOWN" -> "field:down"
_FIELD_VALUES = r"regexp_extract_all(raw_txt, '(?m)^[> ]*[A-Za-z][A-Za-z /]{1,24}: *\**([A-Za-z]{2,})', 1)"


def structured_sql(inputs: str, signals: list[str] | None = None) -> str:
    """SQL: (ticket_id, term, value) of the structured features of `inputs` (INPUT_COLUMNS)."""
    parts = [f"SELECT x.ticket_id, {CATEGORY} AS term, 1.0 AS value FROM {inputs} x"
             " WHERE trim(coalesce(x.category, '')) <> ''"]
    parts += [f"SELECT x.ticket_id, '{name}', {expr} FROM {inputs} x" for name, expr in STRUCTURED.items()]
    if "no_users" in (signals or []):  # nobody counted: an alert, not a person, reported it
        parts.append(f"SELECT x.ticket_id, '=no_users', 1.0 FROM {inputs} x"
                     " WHERE coalesce(x.affected_users, 1) <= 0")
    return "\n    UNION ALL ".join(parts)


def text_rows_sql(policy: PolicyConfig, inputs: str) -> str:
    """SQL: (raw_txt, term, value) for each distinct text of `inputs`: its words (value 1) and the
    text signals the policy names (emergency.learned_model.signals).

    With signals, one pass over the distinct texts (round 16): each text's rows are one list,
    unnested once. The subject and the rest are tokenised apart and the text's tokens are the two
    lists joined (the ' . ' between them splits no token and yields none), so no text is tokenised
    twice; the rules' vocabularies are read from the inputs' term_sets (the rules' own matches),
    not matched again; the word count that speech and length share is counted once. With
    emergency.message_only the text read is its message (logic/message.py), keyed by the text."""
    signals = policy.emergency.learned_model.signals
    if not signals:  # the words alone: round 13's statement
        if not policy.emergency.message_only:
            return f"SELECT raw_txt, term, 1.0 AS value FROM ({terms_sql(inputs)})"
        read = f"(SELECT raw_txt AS key_txt, read_txt FROM ({read_texts(policy, inputs)}))"
        return (f"SELECT r.key_txt AS raw_txt, t.term, 1.0 AS value FROM {read} r"
                f" JOIN ({terms_sql(read, 'read_txt')}) t ON t.raw_txt = r.read_txt")
    # Below, raw_txt is the text read (its message with emergency.message_only), key_txt the text.
    columns = ["key_txt", "raw_txt"]
    if "subject" in signals:
        columns += [f"{tokens_sql(SUBJECT)} AS tok_s",
                    f"{tokens_sql(f'substr(raw_txt, length({SUBJECT}) + 4)')} AS tok_r"]
        tok = "list_concat(tok_s, tok_r)"
    else:
        tok = tokens_sql("raw_txt")
    if "speech" in signals or "length" in signals:
        columns.append("len(regexp_extract_all(raw_txt, '[A-Za-z0-9]+')) AS n_words")
    one = "lambda t: {'term': t, 'value': 1.0::DOUBLE}"  # a term met, as one of the text's rows
    lists = [f"list_transform(terms, {one})"]
    if "subject" in signals:
        lists.append(f"list_transform(list_transform({term_list_sql('tok_s')},"
                     f" lambda t: '{SUBJECT_TERM}' || t), {one})")
    if "fields" in signals:  # a machine notice's states (DOWN, Success, Warning) read apart from prose
        lists.append(f"list_transform(list_distinct(list_transform({_FIELD_VALUES},"
                     f" lambda v: '{FIELD_TERM}' || lower(v))), {one})")
    flags: dict[str, str] = {}
    if "form" in signals:
        flags.update(_FORM)
    if "term_sets" in signals:  # each of the rules' vocabularies met on its own
        sets = policy.emergency.term_sets
        flags.update({f"=set:{name}": f"term_sets[{i + 1}]" for i, name in enumerate(sets)})
    if "forwarded" in signals:
        flags.update(_FORWARDED)
    values = [f"{{'term': {sql_literal(name)}, 'value': CASE WHEN {cond} THEN 1.0 ELSE 0.0 END::DOUBLE}}"
              for name, cond in flags.items()]
    if "speech" in signals:  # speech-to-text and chat: words per sentence mark, log(1 + ratio)
        marks = r"len(regexp_extract_all(raw_txt, '[.!?]+(\s|$)'))"
        values.append(f"{{'term': '=run_on', 'value': ln(1 + n_words / (1 + {marks}))}}")
    if "length" in signals:  # terse one-liners and long threads: log(1 + words)
        values.append("{'term': '=log_words', 'value': ln(1 + n_words)}")
    if values:
        lists.append(f"list_filter([{', '.join(values)}], lambda f: f.value <> 0)")
    # term_sets: one value per text (a function of the text), whichever of its tickets it is taken from
    distinct = (f"(SELECT raw_txt, any_value(term_sets) AS term_sets FROM {inputs}"
                f" WHERE raw_txt IS NOT NULL GROUP BY raw_txt)" if "term_sets" in signals
                else f"(SELECT DISTINCT raw_txt FROM {inputs} WHERE raw_txt IS NOT NULL)")
    read = read_rows(distinct, policy.emergency.message_only)
    distinct = (f"(SELECT * EXCLUDE (raw_txt, read_txt), read_txt AS raw_txt, raw_txt AS key_txt"
                f" FROM ({read}))")
    if "term_sets" in signals:
        columns.append("term_sets")
    return f"""SELECT key_txt AS raw_txt, f.term, f.value
    FROM (SELECT key_txt, unnest(list_concat({', '.join(lists)})) AS f
          FROM (SELECT *, {term_list_sql('tok')} AS terms
                FROM (SELECT {', '.join(columns)}, {tok} AS tok FROM {distinct})))"""


def _text_scores(policy: PolicyConfig, inputs: str, weights: str) -> str:
    """SQL: (raw_txt, z, words_for, words_against) for each distinct text of `inputs` with a
    weighted term: the sum of its terms' weights and the words the evidence names. With the words
    alone and emergency.message_only, summed once per text read (its message) and then given to
    the texts that read it: the terms' rows are not joined back to each text first (397,162 rows
    a 200k --unique-texts month, 12% of the reading's time: docs/benchmark.md, round 31)."""
    word = "NOT starts_with(d.term, '=')"  # the evidence names words, not signals
    key = "struct_pack(w := w.w, t := d.term)"

    def summed(rows: str) -> str:
        return f"""
        SELECT d.raw_txt, sum(w.w * d.value) AS z,
               max_by(d.term, {key}, 3) FILTER (WHERE w.w > 0 AND {word}) AS words_for,
               min_by(d.term, {key}, 3) FILTER (WHERE w.w < 0 AND {word}) AS words_against
        FROM ({rows}) d JOIN {weights} w USING (term)
        GROUP BY d.raw_txt"""

    if policy.emergency.learned_model.signals or not policy.emergency.message_only:
        return summed(text_rows_sql(policy, inputs))
    read = f"(SELECT raw_txt AS key_txt, read_txt FROM ({read_texts(policy, inputs)}))"
    per_read = summed(f"SELECT raw_txt, term, 1.0 AS value FROM ({terms_sql(read, 'read_txt')})")
    return (f"SELECT r.key_txt AS raw_txt, s.z, s.words_for, s.words_against FROM {read} r"
            f" JOIN ({per_read}) s ON s.raw_txt = r.read_txt")


def scores_sql(policy: PolicyConfig, inputs: str, weights: str = WEIGHTS) -> str:
    """SQL: (ticket_id, p, words_for, words_against) for every ticket of `inputs`; the words are the
    text's three terms that add most to / take most from the reading (the evidence)."""
    signals = policy.emergency.learned_model.signals
    return f"""
    SELECT x.ticket_id, 1 / (1 + exp(-(i.w + coalesce(tw.z, 0) + coalesce(sw.z, 0)))) AS p,
           tw.words_for, tw.words_against
    FROM {inputs} x
    CROSS JOIN (SELECT w FROM {weights} WHERE term = '{INTERCEPT}') i
    LEFT JOIN ({_text_scores(policy, inputs, weights)}
    ) tw ON tw.raw_txt = x.raw_txt
    LEFT JOIN (
        SELECT f.ticket_id, sum(w.w * f.value) AS z
        FROM ({structured_sql(inputs, signals)}) f JOIN {weights} w USING (term)
        GROUP BY f.ticket_id
    ) sw ON sw.ticket_id = x.ticket_id"""


# --- fitting ---------------------------------------------------------------------------------------

def fit_emergency_model(policy: PolicyConfig, con: duckdb.DuckDBPyConnection, inputs: str,
                        truth: np.ndarray, files: list[Path], penalty: float | None = None,
                        min_df: int | None = None) -> StoredEmergencyModel:
    """The model fitted on labelled tickets: `inputs` (INPUT_COLUMNS, ticket ids numbered 0..n-1 in
    the order of `truth`, the true emergency flags) in `con`; `files` are the labelled files they
    came from (evaluation.datasets.fit_emergency_model_on_files builds the inputs)."""

    cfg = policy.emergency.learned_model
    penalty = cfg.penalty if penalty is None else penalty
    min_df = cfg.min_df if min_df is None else min_df
    rows: pd.DataFrame = con.execute(f"""
        SELECT x.ticket_id, d.term, d.value
        FROM {inputs} x JOIN ({text_rows_sql(policy, inputs)}) d USING (raw_txt)
        UNION ALL {structured_sql(inputs, cfg.signals)}""").df()
    features, x = design_matrix(rows, len(truth), min_df)
    w = fit_l2_logistic(x, np.asarray(truth, dtype=np.float64), penalty)
    return StoredEmergencyModel(
        tokenizer=TOKENIZER, penalty=penalty, min_df=min_df, trained_on=file_digests(files),
        training_texts=len(truth), signals=list(cfg.signals), features=features,
        weights=[round(float(v), _DECIMALS) + 0.0 for v in [w[-1], *w[:-1]]])


def emergency_model_json(model: StoredEmergencyModel) -> str:
    """The stored file: one key a line, the long lists on one line each. No signals (round 14) is
    left out, so a model fitted without them is the file round 13 wrote, byte for byte."""
    fields = {k: v for k, v in model.model_dump().items() if k != "signals" or v}
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items()) + "\n}\n"


# --- loading and scoring ---------------------------------------------------------------------------

def stale_reason(policy: PolicyConfig, model: StoredEmergencyModel) -> str | None:
    """Why a stored model is not the one the policy asks for (None: it is)."""
    cfg = policy.emergency.learned_model
    if unlike := fitted_otherwise(model, cfg, TOKENIZER):
        return unlike
    if model.signals != list(cfg.signals):
        return f"signals {model.signals}, not {list(cfg.signals)}"
    return trained_elsewhere(model.trained_on, training_files(policy))


def emergency_model(policy: PolicyConfig) -> StoredEmergencyModel | None:
    """The stored model the policy names, or None when it is off (or the semantic vote is, whose
    emergency vote is one of its inputs); a stale file is refused."""
    cfg = policy.emergency.learned_model
    if not (cfg.enabled and policy.scope_classification.semantic.enabled):
        return None
    path = PROJECT_ROOT / cfg.model_file
    return fresh_model(path, _SETTING, StoredEmergencyModel,
                       lambda model: stale_reason(policy, model), "emergency model")


# The weights as a table, built once per stored model (read_stored_model holds one object per file
# content): every month of a run writes the same table on its own connection.
_weights_tables: dict[int, tuple[StoredEmergencyModel, pa.Table]] = {}


def _weights_table(model: StoredEmergencyModel) -> pa.Table:
    """(term, w) of the model's non-zero weights and its intercept."""
    held = _weights_tables.get(id(model))
    if held is not None and held[0] is model:
        return held[1]
    w = np.asarray(model.weights)
    keep = np.union1d(np.flatnonzero(w), [0])
    names = [INTERCEPT, *model.features]
    table = pa.table({"term": pa.array([names[k] for k in keep], pa.string()),
                      "w": pa.array(w[keep].tolist(), pa.float64())})
    if len(_weights_tables) >= 4:  # models of other folds or files: a few held at most
        _weights_tables.clear()
    _weights_tables[id(model)] = (model, table)
    return table


def write_weights(con: duckdb.DuckDBPyConnection, model: StoredEmergencyModel) -> None:
    """The temp table clf_emergency_weights(term, w) the emergency statement joins (zero weights
    left out: they add nothing to a sum; the intercept always kept)."""
    con.register("emergency_weights_df", _weights_table(model))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {WEIGHTS} AS SELECT term::VARCHAR AS term, w::DOUBLE AS w"
                " FROM emergency_weights_df")
    con.unregister("emergency_weights_df")


def hold_sql(policy: PolicyConfig) -> tuple[float, str, str]:
    """The learned signal's hold on a call: the p it ends at, its factor and the evidence naming it.
    Without hold_full (or with hold_full at or below hold_below), the step: hold_factor below
    hold_below. With it (round 28), hold_factor below hold_below, then a linear rise to 1 at
    hold_full, so a refit that moves p a little moves the call's reading a little."""
    lm = policy.emergency.learned_model
    h, below = lm.hold_factor, lm.hold_below
    if lm.hold_full is None or lm.hold_full <= below:
        return below, str(h), f"' (x{h:g})'"
    rise = f"greatest(0.0, m.p - {below}) / {lm.hold_full - below}"
    factor = f"({h} + {1 - h} * {rise})"
    return lm.hold_full, factor, f"' (x' || round({factor}, 2) || ')'"
