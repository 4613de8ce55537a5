"""Round 7 (docs/classification.md): mechanisms measured leave-one-batch-out, tested on tickets of our own."""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.test_classify import (
    SHIPPED,
    _bank_of,
    _t,
    _variant,
    classify,
    emergency_reading,
    load_cases,
    matched_texts,
    prepare_word_model,
    without_emergency_signal,
)


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy(SHIPPED)


# A planned move whose text reads like an outage to the emergency rules: what must not go down.
# Round 40: the text no longer asks for a weekend, which the rules themselves now read as work asked
# for outside the working day (emergency dampener); this test is about the neighbours' reading.
MOVE = ("Accounts server move", "Please move our accounts database and server onto the new hosted "
        "platform. The system will be down for everyone while it moves, so please agree a date with "
        "us first.")


# Classifies under a policy or bank of its own (several seconds): `make test` runs it.
@pytest.mark.slow
def test_planned_project_work_read_by_the_neighbours_is_not_an_emergency(policy):
    # The neighbours know the text as a major migration and say nothing about emergencies.
    bank = _bank_of(policy, [("M1", " . ".join(MOVE), {"major_migration"}, None)])
    tickets = [_t("p1", *MOVE, affected=15)]
    off = _variant(lambda d: (d["emergency"]["planned_work"].update(factor=1.0), without_emergency_signal(d)))
    _, before = classify(off, tickets, bank)
    assert before["p1"][0], before  # the old reading: an emergency
    # The learned emergency signal (round 13) reads the planned move as no emergency on its own ...
    signal_only = _variant(lambda d: d["emergency"]["planned_work"].update(factor=1.0))
    _, held = classify(signal_only, tickets, bank)
    assert not held["p1"][0] and "emergency model" in held["p1"][2] and "disagrees" in held["p1"][2], held
    # ... and planned work does, the signal off
    _, after = classify(_variant(without_emergency_signal), tickets, bank)
    qualifies, _, evidence, state = after["p1"]
    assert not qualifies and state == "none", after
    assert ("dampened: reads as planned work (semantic vote 1.00 for major migration: like ticket M1"
            in evidence)


# Classifies under a policy or bank of its own (several seconds): `make test` runs it.
@pytest.mark.slow
def test_an_outage_whose_neighbours_read_no_planned_work_stays_an_emergency(policy):
    outage = ("Accounts server down", "The accounts server is down for everyone since nine and nobody "
              "can post invoices.")
    bank = _bank_of(policy, [("M1", " . ".join(MOVE), {"major_migration"}, None),
                             ("O1", " . ".join(outage), set(), True)])
    _, emergency = classify(policy, [_t("o1", *outage, affected=15)], bank)
    qualifies, _, evidence, _ = emergency["o1"]
    assert qualifies and "reads as planned work" not in evidence, emergency


def test_planned_work_config_is_validated():
    with pytest.raises(Exception, match="unknown scope exclusion id"):
        _variant(lambda d: d["emergency"]["planned_work"].update(scope_ids=["migrations"]))
    with pytest.raises(Exception, match="planned_work"):
        _variant(lambda d: d["emergency"]["planned_work"].update(factor=0))


# --- the text model ------------------------------------------------------------------------------
# A check to be automated: the rules read custom implementation (0.6); neighbours that know only
# standard support disagree, so without the model the call waits for review.
LINKED = ("Timesheets", "We want the timesheets to be checked automatically when they are submitted.")


def _direction_model(policy: PolicyConfig, text: str, scope_id: str):
    """A hand-made text model: the probability rises with similarity to `text` (0.5 at 0.8)."""
    from logic.embeddings import embed
    from policy.classifiers import StoredTextModel

    sv = policy.scope_classification.semantic
    v = embed(policy, [text])[0].astype(float)
    return StoredTextModel(model=sv.model, dim=sv.dim, penalty=sv.text_model.penalty,
                           trained_on=[{"file": "hand.csv", "sha256": "0" * 64}], training_texts=1,
                           weights={scope_id: [*(30 * v).tolist(), -24.0]})


# Classifies under a policy or bank of its own (several seconds): `make test` runs it.
@pytest.mark.slow
def test_the_text_model_raises_the_vote_and_names_itself(policy):
    import duckdb

    from logic.classify import scope_hits_sql
    from logic.semantic import prepare_votes

    # neighbours that know nothing of it: standard support only
    bank = _bank_of(policy, [("S1", "Mouse broken . My mouse stopped working", set(), False)])
    model = _direction_model(policy, " . ".join(LINKED), "custom_implementation")
    calls = {}
    for name, text_model in (("without", None), ("with", model)):
        con = duckdb.connect()
        load_cases(con, [_t("l1", *LINKED)])  # the rules' inputs; the vote with or without the model
        prepare_votes(con, policy, bank, text_model=text_model)
        prepare_word_model(con, policy)
        calls[name] = {r[1]: r for r in con.execute(scope_hits_sql(
            policy, emergency_reading(con, policy), matched=matched_texts(con, policy)))
                       .fetchall()}
        vote = con.execute("SELECT vote, evidence FROM clf_semantic_scope"
                           " WHERE scope_id = 'custom_implementation'").fetchall()
        calls[name + " vote"] = vote
    assert calls["without vote"] == [] or calls["without vote"][0][0] < 0.5
    (vote, evidence), = calls["with vote"]
    assert vote > 0.99 and evidence == "the labelled tickets as a whole (text model)"
    _, _, before, _, held = calls["without"]["custom_implementation"]
    _, _, after, evidence, state = calls["with"]["custom_implementation"]
    assert held == "needs review" and state == "confident", calls
    assert after > before and "like the labelled tickets as a whole (text model)" in evidence


def test_the_shipped_text_model_is_fitted_on_the_bank_as_it_is(policy):
    """The stored weights name the bank's files with their current digests and the policy's ids:
    a changed file means a refit (python -m evaluation.fit_model)."""
    import hashlib

    from logic.text_model import text_model
    from policy.paths import PROJECT_ROOT

    model = text_model(policy)
    assert model is not None
    sv = policy.scope_classification.semantic
    assert [t.file for t in model.trained_on] == sv.exemplar_files
    assert all(t.sha256 == hashlib.sha256((PROJECT_ROOT / t.file).read_bytes()).hexdigest()
               for t in model.trained_on)
    assert set(model.weights) == set(sv.text_model.scope_ids)


def test_text_model_config_and_file_are_validated(policy):
    from policy.classifiers import StoredTextModel

    with pytest.raises(Exception, match="unknown scope exclusion id"):
        _variant(lambda d: d["scope_classification"]["semantic"]["text_model"].update(scope_ids=["x"]))
    good = _direction_model(policy, "anything", "major_migration").model_dump()
    good["weights"]["major_migration"] = good["weights"]["major_migration"][:-2]
    with pytest.raises(Exception, match="weights.major_migration"):
        StoredTextModel.model_validate(good)


def test_the_text_model_is_deterministic(policy):
    import numpy as np

    from logic.text_model import _fit_one

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5))
    y = (x[:, 0] > 0).astype(float)
    assert np.array_equal(_fit_one(x, y, 0.1), _fit_one(x, y, 0.1))
