"""The learned scope combination (logic/learned.py, evaluation/fit_model.py; docs/classification.md,
round 5)."""

import json
import socket

import duckdb
import numpy as np
import pandas as pd
import pytest

from evaluation.fit_model import _digest, fit_rows, group_of
from logic.classify import scope_hits_sql
from logic.learned import fit_logistic, predict, scope_model
from logic.message import write_messages
from logic.semantic import builtin_bank, prepare_votes
from policy.base import SCOPE_EXCLUSION_IDS
from policy.classifiers import LEARNED_FEATURES, ScopeModel
from policy.config import default_policy
from policy.paths import PROJECT_ROOT
from tests.test_classify import emergency_reading, matched_texts, prepare_word_model


def _learned(enabled: bool):
    policy = default_policy()
    data = policy.model_dump()
    data["scope_classification"]["learned"]["enabled"] = enabled
    return type(policy).model_validate(data)


@pytest.fixture(scope="module")
def policy():
    """The shipped policy with the learned combination switched on (it ships off: round 5)."""
    return _learned(True)


def _prepared(policy, rows, category: str = "") -> duckdb.DuckDBPyConnection:
    """A connection holding (ticket_id, subject, description) rows as clf_tickets, no time entries,
    and their semantic votes against the built-in bank."""
    con = duckdb.connect()
    con.execute("""CREATE TEMP TABLE clf_tickets (ticket_id VARCHAR, subject VARCHAR, description VARCHAR,
        category VARCHAR, declared_emergency BOOLEAN, priority VARCHAR, affected_users INTEGER)""")
    con.execute("""CREATE TEMP TABLE clf_time (ticket_id VARCHAR, minutes DOUBLE, work_type VARCHAR,
        billable BOOLEAN, note VARCHAR, outside_hours BOOLEAN, seq INTEGER)""")
    con.executemany("INSERT INTO clf_tickets VALUES (?, ?, ?, ?, false, NULL, 1)",
                    [(*row, category) for row in rows])
    write_messages(con, None)
    prepare_votes(con, policy, builtin_bank(policy, [PROJECT_ROOT / "evaluation" / "labelled_tickets.csv"]))
    prepare_word_model(con, policy)
    return con


def _run(policy, rows, model=None, off=False) -> dict[str, dict[str, float]]:
    """Scope calls for (ticket_id, subject, description) rows, with the built-in bank's vote."""
    if off:
        policy = _learned(False)
    con = _prepared(policy, rows)
    calls: dict[str, dict[str, float]] = {r[0]: {} for r in rows}
    hits = scope_hits_sql(policy, emergency_reading(con, policy), model=model,
                          matched=matched_texts(con, policy))
    for tid, sid, confidence, *_ in con.execute(hits).fetchall():
        calls[tid][sid] = confidence
    return calls


def _model(weights: dict[str, list[float]]) -> ScopeModel:
    return ScopeModel(features=list(LEARNED_FEATURES), l2=1.0,
                      trained_on=[{"file": "constructed", "sha256": "0" * 64}], training_rows=4,
                      weights={sid: weights.get(sid, [0.0] * len(LEARNED_FEATURES) + [-9.0])
                               for sid in SCOPE_EXCLUSION_IDS})


def test_a_learned_model_flips_a_call_the_hand_weights_make(policy):
    # Constructed training rows: for procurement, a rule firing with neighbours that do not share
    # it was wrong (the reviewers rejected such calls), the vote was right. The hand weights
    # (noisy-or, veto 0.85) still call such a ticket; the model fitted on these rows does not.
    x = np.zeros((40, len(LEARNED_FEATURES)))
    y = np.zeros(40)
    x[:20, 0] = 0.75  # rules 0.75, vote 0: rejected
    x[20:, 1] = 0.8  # vote 0.8, no rule: approved
    y[20:] = 1
    beta = fit_logistic(x, y, l2=0.1)
    assert predict(beta, x[:1])[0] < 0.3 < predict(beta, x[20:21])[0]
    model = _model({"procurement": list(beta)})
    ticket = [("p1", "Kit for the interns",
               "Could you order three laptops and three monitors for the interns?")]
    hand = _run(policy, ticket, off=True)["p1"]
    assert "procurement" in hand  # the hand weights call it
    learned = _run(policy, ticket, model=model)["p1"]
    assert "procurement" not in learned


def test_learned_calls_keep_the_rules_and_the_nearest_exemplar_as_evidence(policy):
    con_rows = [("m1", "Exchange to Google",
                 "We're moving every mailbox and shared calendar over to Google Workspace.")]
    con = _prepared(policy, con_rows, category="Email")
    hits = {r[1]: r for r in con.execute(scope_hits_sql(
        policy, emergency_reading(con, policy), matched=matched_texts(con, policy))).fetchall()}
    _tid, _sid, confidence, evidence, state = hits["major_migration"]
    assert confidence >= policy.scope_classification.learned.call_at
    assert "like labelled ticket" in evidence and "learned combination" in evidence
    assert state == ("confident" if confidence >= policy.scope_classification.learned.confident_at
                     else "needs review")


def test_fitting_is_deterministic():
    rng = np.random.default_rng(3)
    rows = pd.DataFrame(rng.random((60, len(LEARNED_FEATURES))), columns=list(LEARNED_FEATURES))
    rows["scope_id"] = [SCOPE_EXCLUSION_IDS[i % 3] for i in range(60)]
    rows["label"] = (rows["rule"] + rows["vote"] > 1).astype(float)
    first, second = fit_rows(rows), fit_rows(rows.copy())
    assert first == second
    assert first["major_migration"][0] > 0 and first["major_migration"][1] > 0  # rule and vote count for


def test_the_learned_combination_ships_off():
    assert scope_model(default_policy()) is None


def test_the_shipped_model_is_fitted_on_the_bank_as_it_is(policy):
    """The stored weights name the bank's files with their current digests: a changed file means
    the model must be refitted (python -m evaluation.fit_model)."""
    model = scope_model(policy)
    assert model is not None
    files = policy.scope_classification.semantic.exemplar_files
    assert [t.file for t in model.trained_on] == files
    assert all(t.sha256 == _digest(PROJECT_ROOT / t.file) for t in model.trained_on)
    assert set(model.weights) == set(SCOPE_EXCLUSION_IDS)


def test_a_bad_model_file_is_refused_with_its_key():
    data = json.loads((PROJECT_ROOT / "config" / "scope_model.json").read_text())
    data["features"] = ["rule", "vote"]
    with pytest.raises(ValueError, match="features must be"):
        ScopeModel.model_validate(data)


def test_groups_are_writing_batches():
    blind = PROJECT_ROOT / "evaluation" / "blind" / "batch-02.csv"
    labelled = PROJECT_ROOT / "evaluation" / "labelled_tickets.csv"
    assert group_of(blind, "B2-001") == "batch-02"
    assert group_of(labelled, "G012") == group_of(labelled, "G040") != group_of(labelled, "H012")


def test_learned_calls_need_no_network(policy, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network used")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    calls = _run(policy, [("n1", "Laptops", "Please order five laptops for the new team.")])
    assert "procurement" in calls["n1"]
