"""Round 30: structured project beside the rollout, migration or remediation that is the project
(scope_classification.own_evidence_beside; docs/decisions.md). Beside a found listed id, the
structured project call counts only its own rules (phases, milestones, a plan across workstreams),
not the neighbours' vote, the word model or the hours, which read the project the other id names.
The texts were written for this test, none from a batch."""

import duckdb
import pytest

from logic.classify import scope_hits_sql
from policy.config import PolicyConfig, default_policy

ROLLOUT = ("Please roll out Intune to every company laptop and enrol all 60 staff devices, with the"
           " compliance policies and the company apps pushed to each one.")
PHASED = (f"{ROLLOUT} We want it run in three phases with milestones, a project manager and a weekly"
          " progress report to the board.")
ALONE = "We are opening a second office next spring and need the whole IT side of it planned."
TEXTS = {"rollout": ROLLOUT, "phased": PHASED, "alone": ALONE}


def _policy(beside: bool) -> PolicyConfig:
    p = default_policy()
    sc = p.scope_classification
    wm = sc.word_model.model_copy(update={"enabled": False})
    own = {"structured_project": ["platform_implementation", "major_migration"]} if beside else {}
    return p.model_copy(update={"scope_classification": sc.model_copy(
        update={"own_evidence_beside": own, "word_model": wm, "message_only": False})})


def _calls(policy: PolicyConfig) -> dict[str, dict[str, float]]:
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE clf_tickets (ticket_id VARCHAR, subject VARCHAR, description VARCHAR,"
                " category VARCHAR, declared_emergency BOOLEAN, priority VARCHAR, affected_users INTEGER)")
    con.executemany("INSERT INTO clf_tickets VALUES (?, 'Laptops', ?, '', false, NULL, 60)",
                    list(TEXTS.items()))
    con.execute("CREATE TEMP TABLE clf_time (ticket_id VARCHAR, minutes DOUBLE, work_type VARCHAR,"
                " billable BOOLEAN, note VARCHAR, outside_hours BOOLEAN, seq INTEGER)")
    con.execute("CREATE TEMP TABLE em AS SELECT ticket_id, false AS qualifies_emergency FROM clf_tickets")
    # the neighbours vote structured project on every text (as for a project-shaped rollout)
    con.execute("CREATE TEMP TABLE clf_semantic_scope AS SELECT 'Laptops . ' || description AS raw_txt,"
                " 'structured_project' AS scope_id, 0.95 AS vote, 'neighbours' AS evidence FROM clf_tickets")
    con.execute("CREATE TEMP TABLE clf_semantic_emergency AS SELECT 'Laptops . ' || description AS raw_txt,"
                " 0.0 AS vote, '' AS evidence FROM clf_tickets")
    calls: dict[str, dict[str, float]] = {}
    for tid, sid, conf, *_ in con.execute(scope_hits_sql(policy, "em", chain=None)).fetchall():
        calls.setdefault(tid, {})[sid] = conf
    return calls


@pytest.fixture(scope="module")
def calls() -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    return _calls(_policy(False)), _calls(_policy(True))


def test_the_rollout_is_the_project_and_not_a_second_charge(calls):
    off, on = calls
    assert "platform_implementation" in off["rollout"] and "structured_project" in off["rollout"]
    assert "platform_implementation" in on["rollout"] and "structured_project" not in on["rollout"]


def test_phases_milestones_and_a_project_manager_are_evidence_of_its_own(calls):
    off, on = calls
    assert "structured_project" in on["phased"]
    assert on["phased"]["platform_implementation"] == off["phased"]["platform_implementation"]


def test_a_project_with_no_other_exclusion_keeps_every_kind_of_evidence(calls):
    off, on = calls
    assert on["alone"] == off["alone"] and "structured_project" in on["alone"]


def test_the_setting_names_exclusions():
    data = default_policy().model_dump()
    data["scope_classification"]["own_evidence_beside"] = {"structured_project": ["not_an_exclusion"]}
    with pytest.raises(ValueError):
        PolicyConfig.model_validate(data)
