"""Round 11: the calibrated confidence (logic/calibration.py, evaluation/calibrate.py).

The states compare the calibrated confidence - the raw one and the call's semantic vote through a
map fitted on the blind batches' first-seen calls - with *_confident_at; the calls themselves
(which ids, emergency or not) do not change.
"""

import duckdb
import numpy as np
import pytest
import yaml

from evaluation.calibrate import check, fit_map, load_calls, policy_text
from evaluation.evaluate import read_curve
from logic.calibration import calibrate, calibrated_sql, confidence_map
from logic.classify import scope_hits_sql
from logic.emergency import emergency_rules_sql, emergency_sql
from logic.text_match import TICKET_TEXT
from policy.base import PolicyConfigError
from policy.classifiers import ConfidenceMap
from policy.config import PolicyConfig, default_policy, load_policy
from tests.rule_matches import Inputs, create_shared, hold_ahead, shared_messages
from tests.test_classify import (
    READING,
    RULES,
    SHIPPED,
    _bank,
    _t,
    classify,
    matched_texts,
    shipped_data,
    without_emergency_signal,
)

# A raw 0.85 compliance-documentation call from the rules alone (labelled ticket K013).
ASSURANCE = _t("k1", "Supplier assurance pack", "Our biggest customer wants a supplier assurance pack:"
               " our IT policies, a network diagram and evidence of backups and patching.")


def _variant(change) -> PolicyConfig:
    data = shipped_data()
    change(data)
    return PolicyConfig.model_validate(data)


def _rules_only(data: dict) -> None:
    data["scope_classification"]["semantic"]["enabled"] = False
    data["scope_classification"]["word_model"]["enabled"] = False  # on since round 13


def test_a_raw_0_85_scope_call_needs_review_with_the_first_seen_map():
    """First seen, scope calls at raw 0.8-0.9 were right about 73% of the time: not billable alone."""
    plain = _variant(_rules_only)
    con = duckdb.connect()
    found: list = []  # the scope statement's rows as classify ran it (not prepared again: 1.4 s)
    classify(plain, [ASSURANCE], con=con, scope_rows=found)
    (_tid, sid, raw, _evidence, state), = found
    assert (sid, raw) == ("compliance_documentation", 0.85)
    assert state == "needs review"
    shown_sql = scope_hits_sql(plain, READING, calibrated=True, matched=matched_texts(con, plain))
    shown, = con.execute(f"SELECT confidence FROM ({shown_sql})").fetchone()
    cmap = confidence_map(plain, "scope")
    assert shown == pytest.approx(float(calibrate([0.85], [0.0], cmap)[0]), abs=5e-4)
    assert shown < plain.scope_classification.call_states.scope_confident_at < 0.85
    # Without the map the same threshold reads the raw confidence: the call would be billed.
    uncalibrated = _variant(lambda d: (_rules_only(d), d["scope_classification"]["call_states"]
                                       .pop("calibration")))
    found = []
    classify(uncalibrated, [ASSURANCE], scope_rows=found)
    assert [r[4] for r in found] == ["confident"]


CASES = [
    ASSURANCE,
    _t("c1", "Kit for the interns", "Could you order three laptops and three monitors for the interns?"),
    _t("c2", "Exchange to Google", "We're moving every mailbox and shared calendar over to Google "
       "Workspace.", "Email"),
    _t("e1", "Website gone", "Our domain expired over the weekend and now the website and email are down."),
    _t("e2", "Sage", "None of the accounts team can log in to Sage this morning, six of us."),
    _t("e3", "URGENT mouse", "My mouse is not working, URGENT!!", declared=True),
    _t("e4", "Printer", "The printer on floor 2 is down, nobody can print.", affected=6),  # raw 0.32
    _t("t1", "Reboot tonight please", "Can you reboot the SQL server tonight after 9?",
       time=[(30.0, "remote", True, None, True)]),
]


def test_the_map_changes_states_and_shown_confidence_never_the_calls():
    policy = default_policy()
    uncalibrated = _variant(lambda d: d["scope_classification"]["call_states"].pop("calibration"))
    bank = _bank(policy)
    runs = {}
    for name, p in (("calibrated", policy), ("raw", uncalibrated)):
        con = duckdb.connect()
        found: list = []  # the raw statement's rows as classify ran it (not prepared again: 1.4 s)
        classify(p, CASES, bank, con, scope_rows=found)
        shown_sql = scope_hits_sql(p, READING, calibrated=True, matched=matched_texts(con, p))
        runs[name] = (con.execute(f"SELECT ticket_id, scope_id, confidence, call_state FROM"
                                  f" ({shown_sql})").fetchall(),
                      con.execute(f"SELECT ticket_id, qualifies_emergency, emergency_confidence,"
                                  " emergency_call_state FROM"
                                  f" ({emergency_sql(p, rules=RULES, calibrated=True)})"
                                  " ORDER BY ticket_id").fetchall(),
                      [row[:3] for row in found])
    (scope, emergency, raw), (scope0, emergency0, raw0) = runs["calibrated"], runs["raw"]
    assert [r[:2] for r in scope] == [r[:2] for r in scope0] and scope  # the same ids called
    assert [r[:2] for r in emergency] == [r[:2] for r in emergency0]  # the same emergencies
    assert raw == raw0  # the raw confidence is the rules' and the vote's, whatever the map
    assert [r[2] for r in scope0] == [r[2] for r in raw0]  # no map: the raw confidence is shown
    assert [r[2] for r in scope] != [r[2] for r in raw]  # with it, the calibrated one
    # a ticket below the emergency threshold is no call: the map (fitted on calls) does not apply
    assert [r[2] for r in emergency if not r[1]] == [r[2] for r in emergency0 if not r[1]]
    assert any(not r[1] and r[2] > 0 for r in emergency)
    at = policy.scope_classification.call_states
    assert all(state == "needs review" for *_, conf, state in scope if conf < at.scope_confident_at)
    assert all(state == "needs review" for _t_, q, conf, state in emergency
               if q and conf < at.emergency_confident_at)


def test_sql_and_numpy_maps_agree():
    policy = default_policy()
    con = duckdb.connect()
    raw, vote = np.linspace(0, 1, 41), np.tile([0.0, 0.3, 0.8, 1.0], 11)[:41]
    con.execute("CREATE TABLE c AS SELECT unnest(?::DOUBLE[]) AS raw, unnest(?::DOUBLE[]) AS vote",
                [raw.tolist(), vote.tolist()])
    for kind in ("scope", "emergency"):
        cmap = confidence_map(policy, kind)
        got = [r[0] for r in con.execute(f"SELECT {calibrated_sql('raw', 'vote', cmap)} FROM c").fetchall()]
        assert got == pytest.approx(calibrate(raw, vote, cmap).tolist(), abs=1e-9)
        # monotone: a higher raw confidence or a stronger vote is never a lower calibrated one
        grid = calibrate(np.repeat(raw, 5), np.tile(np.linspace(0, 1, 5), 41), cmap).reshape(41, 5)
        assert (np.diff(grid, axis=0) >= 0).all() and (np.diff(grid, axis=1) >= 0).all()


def test_the_shipped_map_is_a_refit_of_the_first_seen_calls():
    calls = load_calls()
    assert check(default_policy(), calls) == []
    # every batch of the learning curve, as it was first seen
    assert set(calls["batch"]) == set(read_curve()["batch"])
    # the knots the script writes are what the policy file holds
    text = SHIPPED.read_text()
    assert policy_text(default_policy().scope_classification.call_states.calibration, text) == text


def test_isotonic_fit_is_monotone_pools_small_blocks_and_is_never_certain():
    raw = np.array([0.5] * 10 + [0.6] * 10 + [0.7] * 10 + [0.9] * 20)
    right = np.array([1] * 6 + [0] * 4 + [1] * 4 + [0] * 6 + [1] * 7 + [0] * 3 + [1] * 20)
    cmap = fit_map(raw, right, min_calls=10)
    assert cmap.raw == [0.55, 0.7, 0.9]  # 0.5 (60%) and 0.6 (40%) violate: pooled
    assert cmap.calibrated == [round(11 / 22, 3), round(8 / 12, 3), round(21 / 22, 3)]


def test_blocks_whose_means_round_alike_are_one_knot():
    # 0.1000 (3 of 10 right) and 0.1004 (9 of 10) are two blocks, but stored to three decimals
    # they would be two knots at 0.1: one knot, the calls pooled
    raw = np.array([0.1] * 10 + [0.1004] * 10 + [0.9] * 10)
    right = np.array([1] * 3 + [0] * 7 + [1] * 9 + [0] * 1 + [1] * 10)
    cmap = fit_map(raw, right, min_calls=10)
    assert cmap.raw == [0.1, 0.9]
    assert cmap.calibrated == [round(13 / 22, 3), round(11 / 12, 3)]


@pytest.mark.parametrize(("knots", "message"), [
    ({"raw": [0.5, 0.5], "calibrated": [0.2, 0.3]}, "strictly increasing"),
    ({"raw": [0.5, 0.9], "calibrated": [0.6, 0.3]}, "must not decrease"),
    ({"raw": [0.5, 0.9], "calibrated": [0.3]}, "2 knots expected"),
])
def test_a_bad_map_is_refused_with_its_key(tmp_path, knots, message):
    data = shipped_data()
    data["scope_classification"]["call_states"]["calibration"]["scope"].update(knots)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PolicyConfigError, match=f"call_states.calibration.scope.*{message}"):
        load_policy(path)
    with pytest.raises(ValueError, match=message):
        ConfidenceMap(**knots)


def test_a_unit_takes_its_strongest_call_not_a_non_call_that_shows_more():
    """A call shows its calibrated confidence and a ticket below the call threshold its raw one, so a
    unit's reading comes from its strongest *call* (models/marts/ticket_facts.sql)."""
    from datetime import UTC, date, datetime

    from logic.business_time import Calendar, build_open_intervals
    from logic.sla import build_ticket_response
    from policy.sql import register_policy
    from tests.test_models_sql import SAMPLE_PARAMS
    from warehouse.models import model_sql
    from warehouse.schema import ensure_warehouse

    policy = default_policy()
    con = duckdb.connect()
    ensure_warehouse(con)
    build_open_intervals(con, [Calendar.always_open("24x7")], date(2026, 1, 1), date(2026, 1, 2))
    con.execute("INSERT INTO staging.calendar_intervals_coverage BY NAME"
                " SELECT * FROM open_intervals_coverage")
    register_policy(con, policy)
    for tid, parent, minute in (("P", None, 0), ("C", "P", 5)):
        con.execute("""INSERT INTO staging.tickets BY NAME SELECT ? AS ticket_id, 'ACME' AS client_id,
            DATE '2026-01-01' AS month, ? AS created_at, ?::TIMESTAMP AS created_local,
            'Server down' AS subject, '' AS description, false AS is_provider_initiated,
            ? AS parent_ticket_id, 1 AS versions_delivered, 't.csv' AS _source_file, 1 AS _source_row""",
                    [tid, datetime(2026, 1, 14, 10, minute, tzinfo=UTC),
                     datetime(2026, 1, 14, 10, minute), parent])
    # P is a call at calibrated 0.3; C no call, raw 0.45 (more than P shows).
    con.execute("""INSERT INTO marts.emergency_readings VALUES
        (DATE '2026-01-01', 'P', true, 0.3, 'the server is down for everyone', 'needs review'),
        (DATE '2026-01-01', 'C', false, 0.45, 'a follow-up', 'none')""")
    build_ticket_response(con, policy, SAMPLE_PARAMS["month"], SAMPLE_PARAMS["as_of"])
    sql = model_sql("marts/ticket_facts")
    params = {p: SAMPLE_PARAMS[p] for p in con.extract_statements(sql)[0].named_parameters}
    rows = con.execute(f"SELECT ticket_id, unit_id, qualifies_emergency, emergency_confidence,"
                       f" emergency_evidence FROM ({sql}) ORDER BY ticket_id", params).fetchall()
    assert rows == [("C", "P", True, 0.3, "same interruption as P: the server is down for everyone"),
                    ("P", "P", True, 0.3, "the server is down for everyone")]


def test_a_call_on_the_vote_alone_is_never_confident_on_its_own():
    """The vote is in a lone-vote call's raw confidence already: counted again by the map it would
    make one reviewer's decision on a near-identical ticket billable without review."""
    from tests.test_classify import _bank_of
    from tests.test_classify_round10 import BANK_ROWS, TEXT

    # the vote on its own: the learned emergency signal (round 13) holds the made-up text
    policy = _variant(without_emergency_signal)
    unanimous = _bank_of(policy, [(eid, text, labels, True) for eid, text, labels, _ in BANK_ROWS])
    con = duckdb.connect()
    found: list = []  # the emergency statement's rows as classify ran it (not run again)
    classify(policy, [_t("mail", *TEXT, category="Email")], unanimous, con, emergency_rows=found)
    (_tid, qualifies, raw, evidence, state), = found
    assert qualifies and raw >= 0.6 and evidence.startswith("semantic vote"), evidence  # vote only
    assert state == "needs review"
    calibrated = emergency_sql(policy, rules=RULES, calibrated=True)
    shown, = con.execute(f"SELECT emergency_confidence FROM ({calibrated})").fetchone()
    cmap = confidence_map(policy, "emergency")
    assert shown == pytest.approx(float(calibrate([raw], [0.0], cmap)[0]), abs=2e-3)  # the vote once


def test_a_held_emergency_call_shows_the_held_share_whatever_its_raw_confidence():
    """Round 15: calls held for review by a disagreeing vote were right about half the time first
    seen at every raw confidence; through the knots they made the 0.8-0.9 band dishonest."""
    from evaluation.calibrate import fit_kind

    cmap = confidence_map(default_policy(), "emergency")
    # below the bar: a call shown the held share is never confident
    confident_at = default_policy().scope_classification.call_states.emergency_confident_at
    assert cmap is not None and cmap.held is not None and cmap.held < confident_at
    raw, vote, held = [0.6, 0.95, 0.95], [0.0, 0.0, 0.0], [True, True, False]
    shown = calibrate(raw, vote, cmap, held)
    assert shown[0] == shown[1] == cmap.held and shown[2] > cmap.held
    con = duckdb.connect()
    got = [r[0] for r in con.execute(
        f"SELECT {calibrated_sql('raw', 'vote', cmap, held='held')} FROM (SELECT unnest(?::DOUBLE[]) AS raw,"
        " unnest(?::DOUBLE[]) AS vote, unnest(?::BOOLEAN[]) AS held)", [raw, vote, held]).fetchall()]
    assert got == pytest.approx(shown.tolist(), abs=1e-9)
    # the fit: the held calls' share by the rule of succession, the knots on the other calls
    import pandas as pd
    calls = pd.DataFrame({"raw_confidence": [0.6] * 20 + [0.95] * 20 + [0.9] * 8,
                          "vote": 0.0, "right": [True] * 10 + [False] * 10 + [True] * 20 + [True, False] * 4,
                          "held": [False] * 40 + [True] * 8})
    fitted = fit_kind(calls, held=True)
    assert fitted.held == 0.5 and fitted.raw == [0.6, 0.95] and not fitted.held_declared
    assert fit_kind(calls).held is None
    # declared too: the calls the vote disagrees with (a superset of the held ones) take the share
    calls["disagrees"] = [False] * 36 + [True] * 12
    declared = fit_kind(calls, held=True, declared=True)
    assert declared.held_declared and declared.held == round(9 / 14, 3)


def test_a_declared_emergency_call_the_vote_disagrees_with_shows_the_held_share():
    """Round 18 (calibration): declared calls with a vote below emergency_review_below were right
    0.67 first seen; the map shows them the held share (out of batch the 0.8-0.9 band 0.77 -> 0.92
    right), and the call state still holds only undeclared ones for review."""
    from evaluation.calibrate import fit, load_calls

    shipped = default_policy()
    below = shipped.scope_classification.semantic.emergency_review_below
    cs = shipped.scope_classification.call_states
    refit = fit(load_calls(), cs.calibration.fitted_on, declared=True)
    assert refit.emergency.held_declared and refit.scope == cs.calibration.scope
    policy = shipped.model_copy(update={"scope_classification": shipped.scope_classification.model_copy(
        update={"call_states": cs.model_copy(update={"calibration": refit})})})
    cmap = confidence_map(policy, "emergency")
    assert cmap is not None and cmap.held_declared

    def ticket(declared: bool) -> Inputs:
        def write(con: duckdb.DuckDBPyConnection) -> None:
            con.execute("""CREATE TEMP TABLE clf_tickets AS SELECT 'n1' AS ticket_id, 'Email' AS subject,
                'Email is down for everyone in the office, nobody can send or receive.' AS description,
                'Email' AS category, ? AS declared_emergency, NULL::VARCHAR AS priority,
                8 AS affected_users""", [declared])
        return write

    def off(p: PolicyConfig) -> PolicyConfig:
        return p.model_copy(update={"emergency": p.emergency.model_copy(update={
            "learned_model": p.emergency.learned_model.model_copy(update={"enabled": False})})})

    # both tickets' rules in one statement; each reading still runs its own on them
    hold_ahead(emergency_rules_sql(off(policy)), [ticket(True), ticket(False)])

    def reading(declared: bool, vote: float, p: PolicyConfig = policy) -> tuple:
        con = duckdb.connect()
        ticket(declared)(con)
        con.execute(f"CREATE TEMP TABLE clf_semantic_emergency AS SELECT {TICKET_TEXT} AS raw_txt,"
                    " ?::DOUBLE AS vote, '' AS evidence FROM clf_tickets", [vote])
        con.execute("CREATE TEMP TABLE clf_semantic_scope (raw_txt VARCHAR, scope_id VARCHAR,"
                    " vote DOUBLE, evidence VARCHAR)")
        shared_messages(con)
        q = off(p)
        rules = create_shared(con, RULES, emergency_rules_sql(q))  # the same text each reading
        return con.execute(emergency_sql(q, rules=rules, calibrated=True)).fetchone()[1:]

    declared = reading(True, below / 2)
    assert declared[0] and declared[1] == cmap.held and declared[3] == "needs review", declared
    assert "not declared" not in declared[2]
    assert reading(True, 0.5)[1] != cmap.held  # a vote that agrees: the knots
    undeclared = reading(False, below / 2)
    assert undeclared[1] == cmap.held and "not declared and the semantic vote disagrees" in undeclared[2]
