"""Round 12 (docs/classification.md): the word model, fitted on labelled files and scored in SQL."""

import csv
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest

from evaluation.datasets import fit_word_model_on_files
from logic.classify import scope_hits_sql
from logic.message import write_messages
from logic.semantic import prepare_votes
from logic.word_model import (
    STOP_WORDS,
    reference_probabilities,
    scores_sql,
    stale_reason,
    weight_array,
    word_model,
    word_model_json,
    write_weights,
)
from policy.config import PolicyConfig, default_policy
from tests.test_classify import SHIPPED, _bank_of, emergency_reading, matched_texts, shipped_data
from tests.test_classify_range import warehouse  # noqa: F401 (a fixture: tickets of three months)

COLUMNS = ["ticket_id", "subject", "description", "category", "affected_users", "declared_emergency",
           "time_entries", "true_scope", "true_emergency"]
# Eight labelled tickets: "zorblax" appears in two procurement tickets only (min_df 2).
ROWS = [
    ("W1", "Zorblax units", "Please get us two zorblax docks for the new starters.", "Hardware", "",
     "procurement"),
    ("W2", "More zorblax", "We need a zorblax adapter for each meeting room, quote please.", "Hardware", "",
     "procurement"),
    ("W3", "Printer jam", "The printer in the hall keeps jamming on page two.", "Printing", "remote:20", ""),
    ("W4", "Password reset", "Locked out of my account again, please reset the password.", "Account",
     "remote:10", ""),
    ("W5", "Install in office", "Can someone come in and install the new switch in the office?", "Network",
     "onsite:120;travel:30", "onsite"),
    ("W6", "Printer toner", "The printer says toner low but we replaced it.", "Printing", "remote:15", ""),
    ("W7", "Office visit", "Engineer to come in and install the switch cabinet.", "Network", "onsite:90",
     "onsite"),
    ("W8", "Docks", "Please get us docks and an adapter for the meeting room.", "Hardware", "",
     "procurement"),
]


def _write(path: Path, rows=ROWS) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for tid, subject, description, category, time, scope in rows:
            w.writerow([tid, subject, description, category, 1, "false", time, scope, "false"])
    return path


def _policy(labelled: Path, model_file: Path | None = None, raw_states: bool = False,
            **word) -> PolicyConfig:
    data = shipped_data()
    if raw_states:  # the states on the raw confidence, confident from 0.6 (round 11's map off)
        data["scope_classification"]["call_states"].pop("calibration", None)
        data["scope_classification"]["call_states"]["scope_confident_at"] = 0.6
    data["scope_classification"]["semantic"]["exemplar_files"] = [str(labelled)]
    data["emergency"]["learned_model"]["enabled"] = False  # its stored fit is the shipped bank's
    data["scope_classification"]["word_model"].update(
        {"enabled": True, **({"model_file": str(model_file)} if model_file else {}), **word})
    return PolicyConfig.model_validate(data)


@pytest.fixture()
def labelled(tmp_path) -> Path:
    return _write(tmp_path / "labelled.csv")


def _tokens(text: str) -> set[str]:
    """An independent Python reading of the tokenisation (the SQL's reference)."""
    toks = [t for t in re.split(r"[^a-z0-9]+", text.lower())
            if len(t) >= 2 and not t.isdigit() and t not in STOP_WORDS]
    return set(toks) | {f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)}


def _sql_probabilities(policy: PolicyConfig, model, tickets: list[tuple]) -> dict[tuple[str, str], float]:
    """scores_sql over (ticket_id, text, category, total_min, onsite_min, after_min) rows."""
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE tk (ticket_id VARCHAR, raw_txt VARCHAR, raw_cat VARCHAR)")
    con.execute("CREATE TEMP TABLE st (ticket_id VARCHAR, total_min DOUBLE, onsite_min DOUBLE,"
                " travel_min DOUBLE, after_min DOUBLE)")
    con.executemany("INSERT INTO tk VALUES (?, ?, ?)", [t[:3] for t in tickets])
    con.executemany("INSERT INTO st VALUES (?, ?, ?, 0, ?)", [(t[0], *t[3:]) for t in tickets])
    write_weights(con, policy, model)
    return {(tid, sid): p for tid, sid, p, _ in con.execute(scores_sql("tk", "st")).fetchall()}


def test_fitting_is_deterministic(labelled):
    policy = _policy(labelled)
    first = word_model_json(fit_word_model_on_files(policy, [labelled]))
    assert first == word_model_json(fit_word_model_on_files(policy, [labelled]))
    stored = json.loads(first)
    assert "zorblax" in stored["features"] and "the" not in stored["features"]  # a stop word
    assert "=category:hardware" in stored["features"] and "=onsite" in stored["features"]


def test_a_word_seen_only_in_one_ids_tickets_raises_that_ids_probability(labelled):
    policy = _policy(labelled)
    model = fit_word_model_on_files(policy, [labelled])
    p = _sql_probabilities(policy, model, [
        ("with", "Need a zorblax for Sam", "", 0, 0, 0),
        ("without", "Need a thing for Sam", "", 0, 0, 0)])
    assert p[("with", "procurement")] > p[("without", "procurement")] + 0.05, p
    # ... and no other id's
    assert p[("with", "onsite")] <= p[("without", "onsite")] + 1e-9, p


def test_sql_scoring_equals_a_numpy_reference(labelled):
    policy = _policy(labelled)
    model = fit_word_model_on_files(policy, [labelled])
    tickets = [("a", "Zorblax docks . please come in and install them", "Hardware", 150.0, 120.0, 0.0),
               ("b", "Printer jamming again, 3rd time (page two)", "Printing", 20.0, 0.0, 20.0),
               ("c", "", "", 0.0, 0.0, 0.0),
               ("d", "Install the switch; an engineer to come in", "network ", 600.0, 0.0, 0.0)]
    sql = _sql_probabilities(policy, model, tickets)
    for tid, text, category, total, onsite, after in tickets:
        features = _tokens(text) | ({f"=category:{category.strip().lower()}"} if category.strip() else set())
        features |= ({"=onsite"} if onsite > 0 else set()) | ({"=after_hours"} if after > 0 else set())
        ref = reference_probabilities(model, [features])
        column = model.features.index("=log_hours")
        for sid in model.weights:
            # log_hours is not binary: added to the reference's logit
            w = weight_array(model, sid)
            z = np.log(ref[sid][0] / (1 - ref[sid][0])) + w[1 + column] * np.log(1 + total / 60)
            assert sql[(tid, sid)] == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-9), (tid, sid)


def test_a_stale_model_is_refused(labelled, tmp_path):
    model_file = tmp_path / "word_model.json"
    policy = _policy(labelled, model_file)
    model_file.write_text(word_model_json(fit_word_model_on_files(policy, [labelled])))
    assert word_model(policy) is not None  # fitted on the files as they are
    _write(labelled, ROWS[:-1])  # the labelled file changed since
    with pytest.raises(ValueError, match="stale word model .*exemplar_files"):
        word_model(policy)
    other = _policy(labelled, model_file, penalty=3.0)  # or the settings did
    assert "penalty" in stale_reason(other, fit_word_model_on_files(policy, [labelled]))
    missing = _policy(labelled, tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError, match="word_model.model_file"):
        word_model(missing)


def test_the_call_names_the_word_model(labelled):
    # No rule and no neighbour reads procurement into "zorblax": the word model is the evidence.
    call = _zorblax_call(_policy(labelled, weight=0.7), labelled)
    assert "word model" in call[3] and '"zorblax' in call[3], call


def test_the_shipped_word_model_is_fitted_on_the_bank_as_it_is():
    policy = default_policy(SHIPPED)
    cfg = policy.scope_classification.word_model
    from policy.classifiers import StoredWordModel
    from policy.paths import PROJECT_ROOT

    model = StoredWordModel.model_validate(json.loads((PROJECT_ROOT / cfg.model_file).read_text()))
    assert stale_reason(policy, model) is None
    assert set(model.weights) == set(cfg.scope_ids)


def test_word_model_config_is_validated(labelled):
    with pytest.raises(Exception, match="unknown scope exclusion id"):
        _policy(labelled, scope_ids=["procurment"])
    with pytest.raises(Exception, match="weight"):
        _policy(labelled, weight=1.5)


def _zorblax_call(policy: PolicyConfig, labelled: Path) -> tuple:
    con = duckdb.connect()
    con.execute("""CREATE TEMP TABLE clf_tickets AS SELECT 'n1' AS ticket_id, 'Zorblax' AS subject,
        'Two zorblax docks and a zorblax adapter for the room' AS description, 'Hardware' AS category,
        false AS declared_emergency, NULL::VARCHAR AS priority, 1 AS affected_users""")
    con.execute("""CREATE TEMP TABLE clf_time (ticket_id VARCHAR, minutes DOUBLE, work_type VARCHAR,
        billable BOOLEAN, note VARCHAR, outside_hours BOOLEAN, seq INTEGER)""")
    write_messages(con, None)
    prepare_votes(con, policy, _bank_of(policy, [("X1", "printer jam", set(), None)]), text_model=None)
    write_weights(con, policy, fit_word_model_on_files(policy, [labelled]))
    hits = con.execute(scope_hits_sql(policy, emergency_reading(con, policy),
                                      matched=matched_texts(con, policy))).fetchall()
    return next(r for r in hits if r[1] == "procurement")


def test_review_only_keeps_a_call_made_by_the_word_model_out_of_the_confident_state(labelled):
    # Weight 1: the word model alone makes a call above scope_confident_at (0.6) ...
    loud = _policy(labelled, raw_states=True, weight=1.0)
    _, _, confidence, evidence, state = _zorblax_call(loud, labelled)
    assert confidence >= 0.6 and state == "confident" and evidence.startswith("word model"), evidence
    # ... which review_only sends to a reviewer: nothing else says procurement.
    held = _zorblax_call(_policy(labelled, raw_states=True, weight=1.0, review_only=True), labelled)
    assert held[2] == confidence and held[4] == "needs review", held


# The pipeline's path (assets/classification.py) with the word model on: several seconds (the
# semantic vote embeds the bank), `make test` runs it.
@pytest.mark.slow
def test_the_pipeline_writes_the_weights_and_the_calls_name_the_word_model(warehouse):  # noqa: F811
    from datetime import UTC, datetime

    from orchestration.monthly import RunInputs
    from tests.test_classify_range import MONTHS, _classify
    from warehouse.schema import prepare_session

    data = shipped_data()
    data["scope_classification"]["word_model"]["enabled"] = True
    run = RunInputs(PolicyConfig.model_validate(data), datetime(2026, 4, 1, tzinfo=UTC))
    with duckdb.connect(str(warehouse)) as con:
        prepare_session(con)
        _, hits = _classify(con, run)
    assert {h[0] for h in hits} <= set(MONTHS)
    migration = [h for h in hits if h[1] == "t1" and h[2] == "major_migration"]
    assert migration and "word model" in migration[0][4], hits


# Round 13: the scoring pivots the weights to a column per id and looks up the evidence words only
# where the caller shows them; the probabilities are the per-id join's.
def _per_id_reference_sql(tickets: str, state: str) -> str:
    """Round 12's statement: every term joined with every id's weight, words for every pair."""
    from logic.word_model import INTERCEPT, _unnest_terms, structured_sql, tokens_sql

    return f"""
    SELECT t.ticket_id, i.scope_id, 1 / (1 + exp(-(i.w + coalesce(x.z, 0) + coalesce(g.z, 0)))) AS p, x.words
    FROM {tickets} t
    CROSS JOIN (SELECT scope_id, w FROM clf_word_weights WHERE term = '{INTERCEPT}') i
    LEFT JOIN (
        SELECT d.raw_txt, w.scope_id, sum(w.w) AS z,
               max_by(d.term, struct_pack(w := w.w, t := d.term), 3) FILTER (WHERE w.w > 0) AS words
        FROM (SELECT {_unnest_terms('raw_txt')} FROM (SELECT raw_txt, {tokens_sql('raw_txt')} AS tok
              FROM (SELECT DISTINCT raw_txt FROM {tickets}))) d
        JOIN clf_word_weights w USING (term) GROUP BY d.raw_txt, w.scope_id) x
        ON x.raw_txt = t.raw_txt AND x.scope_id = i.scope_id
    LEFT JOIN (
        SELECT f.ticket_id, w.scope_id, sum(w.w * f.value) AS z
        FROM ({structured_sql(tickets, state)}) f JOIN clf_word_weights w USING (term)
        GROUP BY f.ticket_id, w.scope_id) g ON g.ticket_id = t.ticket_id AND g.scope_id = i.scope_id"""


def test_pivoted_scoring_equals_the_per_id_join_and_words_only_where_asked(labelled):
    policy = _policy(labelled)
    model = fit_word_model_on_files(policy, [labelled])
    con = duckdb.connect()
    con.execute("""CREATE TEMP TABLE tk AS SELECT * FROM (VALUES
        ('a', 'Zorblax docks and a zorblax adapter', 'Hardware'),
        ('b', 'Zorblax docks and a zorblax adapter', ''),
        ('c', 'Printer jamming again', 'Printing'), ('d', '', ''), ('e', NULL, 'Network'),
        ('f', 'Engineer to come in and install the switch', 'Network')) v(ticket_id, raw_txt, raw_cat)""")
    con.execute("""CREATE TEMP TABLE st AS SELECT ticket_id, CASE ticket_id WHEN 'f' THEN 150.0 ELSE 10.0 END
        AS total_min, CASE ticket_id WHEN 'f' THEN 120.0 ELSE 0.0 END AS onsite_min, 0.0 AS travel_min,
        CASE ticket_id WHEN 'c' THEN 10.0 ELSE 0.0 END AS after_min FROM tk""")
    write_weights(con, policy, model)
    ref = {(r[0], r[1]): r[2:] for r in con.execute(_per_id_reference_sql("tk", "st")).fetchall()}
    every = {(r[0], r[1]): r[2:] for r in con.execute(scores_sql("tk", "st")).fetchall()}
    assert set(every) == set(ref) and len(ref) == 6 * len(policy.scope_classification.word_model.scope_ids)
    for key, (p, words) in ref.items():
        assert every[key][0] == pytest.approx(p, abs=1e-12) and every[key][1] == words, key
    assert every[("a", "procurement")][1][0] == "zorblax"
    # words only where the caller shows the evidence; p unchanged
    shown = {(r[0], r[1]): r[2:] for r in con.execute(
        scores_sql("tk", "st", scope_ids=["procurement", "onsite"], words_where="p > 0.5")).fetchall()}
    assert {sid for _, sid in shown} == {"procurement", "onsite"}
    for key, (p, words) in shown.items():
        assert p == pytest.approx(ref[key][0], abs=1e-12)
        assert words in (ref[key][1], None) and (words is not None or p <= 0.5), key
    assert shown[("a", "procurement")][1] == ref[("a", "procurement")][1]
    assert sum(words is None for _, words in shown.values()) >= 6  # most pairs skip the evidence
    # the words are the text's: shown on b too, whose own p (no category) may be below the floor
    assert shown[("b", "procurement")][1] == shown[("a", "procurement")][1]
