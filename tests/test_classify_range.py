"""The classifiers match a run's months in one statement (assets/classification.py, before_range):
each month's scope hits and emergency readings are exactly what the month computed on its own,
and the month's statement no longer carries the rules' SQL (the fixed cost it removes)."""

from dataclasses import replace
from datetime import UTC, datetime

import duckdb
import numpy as np
import pytest
import yaml

from assets.classification import (
    classify_scope,
    match_emergency_range,
    match_scope_range,
    read_emergencies,
)
from logic.classify import scope_hits_sql
from logic.emergency import emergency_sql
from logic.message import write_messages
from orchestration.monthly import RunInputs
from policy.config import PolicyConfig
from policy.paths import PROJECT_ROOT
from warehouse.schema import ensure_warehouse, prepare_session

MONTHS = ["2026-01-01", "2026-02-01", "2026-03-01"]

# (ticket, month, subject, description, category, declared, priority, affected users): texts that
# hit scope rules, category hints, dampeners and emergency rules; some repeat in other months.
TICKETS = [
    ("t1", 0, "Email migration", "Please migrate all mailboxes to the new tenant next month.",
     "Project", False, "normal", 1),
    ("t2", 0, "Outage", "Email is down for the whole office, nobody can send or receive.",
     "Email", True, "high", 12),
    ("t3", 0, "Printer", "My printer shows a paper jam, not urgent.", "Hardware", True, "low", 1),
    ("t4", 1, "Email migration", "Please migrate all mailboxes to the new tenant next month.",
     "Project", False, "normal", 1),
    ("t5", 1, "Ransomware", "All our files are encrypted and there is a ransom note on the server.",
     "", True, "emergency", 8),
    ("t6", 1, "Site visit", "Can someone come onsite to install the new switch?", "Onsite", False,
     None, None),
    ("t7", 2, "Password reset", "I forgot my password, can you reset it?", None, False, "normal", 1),
    ("t8", 2, "Outage", "Email is down for the whole office, nobody can send or receive.", "Email",
     False, "high", 3),
    ("t9", 2, None, "Build a custom integration between our CRM and the accounting system.", "Dev",
     False, "normal", 2),
]
# (ticket, minutes, work type, billable, note, outside hours): several notes on one ticket.
TIME = [
    ("t1", 240, "remote", True, "Planned cutover of mailboxes", False),
    ("t1", 600, "remote", True, "migrated 40 mailboxes overnight", True),
    ("t1", 30, "remote", None, "", False),
    ("t5", 180, "remote", True, "restored the server from backup", True),
    ("t6", 120, "onsite", True, "travelled to site, installed and configured the switch", False),
    ("t6", 45, "travel", False, None, False),
    ("t9", 900, "remote", True, "wrote the integration; tested the sync", False),
    ("t8", 20, "remote", True, "email back up", False),
]


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    """The shipped policy without the semantic vote (no embedding: the rules are what is matched
    once per range; the vote is computed per month on either path)."""
    data = yaml.safe_load((PROJECT_ROOT / "config" / "policy.yaml").read_text())
    data["scope_classification"]["semantic"]["enabled"] = False
    return PolicyConfig.model_validate(data)


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    ensure_warehouse(con)
    for tid, m, subject, description, category, declared, priority, affected in TICKETS:
        con.execute("""INSERT INTO staging.tickets BY NAME SELECT ? AS ticket_id, CAST(? AS DATE) AS month,
                       ? AS subject, ? AS description, ? AS category, ? AS declared_emergency,
                       ? AS final_priority, ? AS affected_users, 'c1' AS client_id,
                       CAST(? AS TIMESTAMPTZ) AS created_at, CAST(? AS TIMESTAMP) AS created_local,
                       false AS is_provider_initiated, 1 AS versions_delivered,
                       'tickets.csv' AS _source_file, 1 AS _source_row""",
                    [tid, MONTHS[m], subject, description, category, declared, priority, affected,
                     MONTHS[m] + " 10:00:00+00", MONTHS[m] + " 10:00:00"])
    month_of = {t[0]: MONTHS[t[1]] for t in TICKETS}
    for tid, minutes, work_type, billable, note, outside in TIME:
        con.execute("""INSERT INTO staging.time_entries BY NAME SELECT ? AS ticket_id,
                       CAST(? AS DATE) AS month, ? AS minutes, ? AS work_type, ? AS billable,
                       ? AS note, ? AS outside_hours, CAST(? AS TIMESTAMPTZ) AS started_at,
                       'time_entries.csv' AS _source_file, 1 AS _source_row""",
                    [tid, month_of[tid], minutes, work_type, billable, note, outside,
                     month_of[tid] + " 12:00:00+00"])
    con.close()
    return path


def _classify(con: duckdb.DuckDBPyConnection, run: RunInputs) -> tuple[list, list]:
    """Every month's emergency readings and scope calls, as the assets compute them."""
    readings, hits = [], []
    for month in MONTHS:
        read_emergencies(con, month, run)
        rows = con.execute(f"SELECT * FROM ({emergency_sql(run.policy, rules='clf_emergency_rules')})"
                           " ORDER BY ticket_id").fetchall()
        readings += [(month, *r) for r in rows]
        con.execute("DELETE FROM marts.emergency_readings WHERE month = ?", [month])
        con.execute("INSERT INTO marts.emergency_readings BY NAME SELECT CAST(? AS DATE) AS month, e.*"
                    f" FROM ({emergency_sql(run.policy, rules='clf_emergency_rules')}) e", [month])
        classify_scope(con, month, run)
        hits += [(month, *r) for r in con.execute("FROM clf_hits ORDER BY ticket_id, scope_id").fetchall()]
    return readings, hits


# Classifies under a policy or bank of its own (several seconds): `make test` runs it.
@pytest.mark.slow
def test_a_range_classifies_each_month_as_the_month_alone(warehouse, policy):
    run = RunInputs(policy, datetime(2026, 4, 1, tzinfo=UTC))
    with duckdb.connect(str(warehouse)) as con:
        prepare_session(con)
        alone = _classify(con, run)
    for matched in ("every text", "none: the texts' matches stored by the first range"):
        with duckdb.connect(str(warehouse)) as con, duckdb.connect(str(warehouse)) as hook:
            prepare_session(con)
            prepare_session(hook)
            with match_emergency_range(hook, MONTHS, run) as em, match_scope_range(hook, MONTHS, run) as sc:
                # The months run on connections of their own: the matches must be visible to them.
                ranged = _classify(con, replace(run, shared={**em, **sc}))
                scope_sql = sc["scope_sql"]
            attached = {r[0] for r in hook.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
        assert not any(name.startswith("clf_range") for name in attached), "the range database is detached"
        assert ranged == alone, matched
    readings, hits = alone
    # The data exercises what the range must reproduce: calls in several months, evidence from
    # time-entry notes and from categories, emergencies that qualify.
    assert {h[0] for h in hits} == set(MONTHS)
    assert any("time-entry notes" in h[4] for h in hits), hits
    assert any('category "' in h[4] for h in hits), hits
    assert any(r[2] for r in readings), readings
    assert ranged == alone
    # The month's statement is small: the rules' SQL (about 0.9 MB) is run once per range.
    assert len(scope_sql) < len(scope_hits_sql(policy, "clf_emergency")) / 10


def test_the_rules_are_built_once_per_policy(policy):
    """The scope and emergency rules' SQL is a function of the policy: built once per policy
    object, not in every step and month; another policy gets its own."""
    from logic.emergency import emergency_rules_sql
    from logic.scope_rules import scope_rules

    assert scope_rules(policy) is scope_rules(policy)
    assert emergency_rules_sql(policy) is emergency_rules_sql(policy)
    data = policy.model_dump()
    data["emergency"]["min_confidence"] = 0.9
    other = PolicyConfig.model_validate(data)
    assert emergency_rules_sql(other) is not emergency_rules_sql(policy)


def test_a_range_reads_each_month_s_exemplars_once(warehouse, policy):
    """The exemplar bank of every month, from what the range read once (the built-in exemplars and
    the review decisions in force), is the bank the month reads on its own."""
    from assets.classification import exemplar_bank

    voting = PolicyConfig.model_validate(
        {**policy.model_dump(), "scope_classification": {
            **policy.scope_classification.model_dump(),
            "semantic": {**policy.scope_classification.semantic.model_dump(), "enabled": True}}})
    run = RunInputs(voting, datetime(2026, 4, 1, tzinfo=UTC))
    with duckdb.connect(str(warehouse)) as con:
        prepare_session(con)
        # t1 (January) approved then rejected; t5 (February) confirmed; t4's decision after the as-of.
        for i, row in enumerate([
                ("t1", "scope", "major_migration", "approved", "2026-02-01 09:00+00", False),
                ("t1", "scope", "major_migration", "rejected", "2026-02-03 09:00+00", True),
                ("t5", "emergency", None, "confirmed", "2026-03-02 09:00+00", True),
                ("t4", "scope", "major_migration", "approved", "2026-04-02 09:00+00", True)]):
            con.execute("INSERT INTO staging.review_decisions VALUES ($1, 'as delivered', $2, $3, $4,"
                        " 'lead', $5, NULL, $6, 'd.csv', $7)", [*row, i + 1])
        alone = [exemplar_bank(con, voting, m, run.as_of) for m in MONTHS]
        with match_emergency_range(con, MONTHS, run) as shared:
            ranged = [exemplar_bank(con, voting, m, run.as_of, shared["builtin_bank"], shared["review_rows"])
                      for m in MONTHS]
            # The decisions made exemplars once for the run (ReviewBanks), each month its part.
            once = [exemplar_bank(con, voting, m, run.as_of, shared["builtin_bank"], None,
                                  shared["review_banks"]) for m in MONTHS]
    reviews = [b.ids[b.sources.index("review"):] if "review" in b.sources else [] for b in alone]
    assert reviews == [[], ["t1"], ["t1", "t5"]]  # earlier months' tickets, decisions by the as-of
    for a, r, o in zip(alone, ranged, once, strict=True):
        for b in (r, o):
            assert (a.ids, a.texts, a.described, a.sources) == (b.ids, b.texts, b.described, b.sources)
            assert np.array_equal(a.labels, b.labels, equal_nan=True) and np.array_equal(a.weights, b.weights)
            assert a.labels.shape == b.labels.shape and a.labels.dtype == b.labels.dtype


def test_a_ticket_s_notes_are_one_text_whatever_the_entries_order(tmp_path, policy):
    """Two tickets with the same notes logged in the same order are one text to the scope rules'
    store, however their entries lie in staging: the notes are joined in the order they were
    logged (started_at, entry_id), not in the order DuckDB aggregates them, which differed between
    two runs on the same data (15,025 rows against 15,024 in the 100k benchmark's store)."""
    run = RunInputs(policy, datetime(2026, 4, 1, tzinfo=UTC))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        ensure_warehouse(con)
        prepare_session(con)
        for tid in ("a", "b"):
            con.execute("""INSERT INTO staging.tickets BY NAME SELECT ? AS ticket_id,
                           DATE '2026-01-01' AS month, 'Printer' AS subject, 'Jams' AS description,
                           'c1' AS client_id,
                           TIMESTAMPTZ '2026-01-05 10:00:00+00' AS created_at,
                           TIMESTAMP '2026-01-05 10:00:00' AS created_local, false AS is_provider_initiated,
                           1 AS versions_delivered, 't.csv' AS _source_file, 1 AS _source_row""", [tid])
        # a's entries staged first to last, b's last to first.
        first, second = "cleared the jam", "replaced the roller"
        for tid, entry, hour, note in [("a", "a1", 9, first), ("a", "a2", 11, second),
                                       ("b", "b2", 11, second), ("b", "b1", 9, first)]:
            con.execute("""INSERT INTO staging.time_entries BY NAME SELECT ? AS ticket_id, ? AS entry_id,
                           DATE '2026-01-01' AS month, 30 AS minutes, 'remote' AS work_type,
                           true AS billable, ? AS note, false AS outside_hours,
                           make_timestamptz(2026, 1, 5, ?, 0, 0) AS started_at,
                           'e.csv' AS _source_file, 1 AS _source_row""", [tid, entry, note, hour])
        with match_scope_range(con, ["2026-01-01"], run) as shared:
            notes = con.execute(f"SELECT ticket_id, raw_txt FROM {shared['scope_range']}.notes"
                                " ORDER BY ticket_id").fetchall()
        stored = con.execute("SELECT count(DISTINCT text_md5) FROM staging.scope_text_matches").fetchone()[0]
    assert notes == [("a", f"{first} . {second}"), ("b", f"{first} . {second}")]
    assert stored == 2  # the tickets' text and their notes


def test_one_statement_for_a_range_gives_each_month_its_own_votes():
    """by_month: one text voted on differently in two months (each month's exemplar bank) gets
    each month's vote, under the hand weights and a learned model, as the months alone give it."""
    from logic.word_model import word_model, write_weights
    from policy.base import SCOPE_EXCLUSION_IDS
    from policy.classifiers import LEARNED_FEATURES, ScopeModel

    shipped = PolicyConfig.model_validate(yaml.safe_load((PROJECT_ROOT / "config/policy.yaml").read_text()))
    text = ("Site visit", "Can someone come onsite to install the new switch?")
    tickets = [("a1", MONTHS[0], *text), ("b1", MONTHS[1], *text),
               ("b2", MONTHS[1], "Printer", "My printer shows a paper jam.")]
    raw = f"{text[0]} . {text[1]}"
    # month, vote on onsite (the scope vote) and the emergency vote's row (the text was embedded)
    votes = [(MONTHS[0], 0.9), (MONTHS[1], 0.0)]
    model = ScopeModel(features=list(LEARNED_FEATURES), l2=1.0,
                       trained_on=[{"file": "constructed", "sha256": "0" * 64}], training_rows=4,
                       weights={sid: [0.0] * len(LEARNED_FEATURES) + [-9.0] for sid in SCOPE_EXCLUSION_IDS}
                       | {"onsite": [2.0, 12.0, 0, 0, 0, 0, 0, -4.0]})
    con = duckdb.connect()
    write_weights(con, shipped, word_model(shipped))
    con.execute("CREATE TABLE t (month DATE, ticket_id VARCHAR, subject VARCHAR, description VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(m, tid, s, d) for tid, m, s, d in tickets])
    con.execute("CREATE TABLE sv AS SELECT CAST(m AS DATE) AS month, ? AS raw_txt, 'onsite' AS scope_id,"
                " v AS vote, 'a labelled visit' AS evidence FROM (VALUES " +
                ", ".join(f"('{m}', {v})" for m, v in votes) + ") x(m, v)", [raw])
    con.execute("CREATE TABLE ev AS SELECT month, raw_txt, 0.0 AS vote, NULL::VARCHAR AS evidence FROM sv")
    con.execute("CREATE TABLE clf_emergency (ticket_id VARCHAR, qualifies_emergency BOOLEAN)")
    con.execute("CREATE TABLE clf_time (ticket_id VARCHAR, minutes DOUBLE, work_type VARCHAR,"
                " billable BOOLEAN, note VARCHAR, outside_hours BOOLEAN, seq INTEGER)")

    def relations(where: str, by_month: bool) -> None:
        """The statement's inputs of the months `where` selects (with their month: by_month)."""
        columns = "*" if by_month else "* EXCLUDE (month)"
        con.execute(f"CREATE OR REPLACE TABLE clf_tickets AS SELECT {columns}, 'Onsite' AS category,"
                    " false AS declared_emergency, 'normal' AS priority, 1 AS affected_users"
                    f" FROM t WHERE {where}")
        write_messages(con, None)
        for name, source in (("clf_semantic_scope", "sv"), ("clf_semantic_emergency", "ev")):
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {columns} FROM {source} WHERE {where}")

    for learned in (None, model):
        alone = []
        for month in MONTHS[:2]:
            relations(f"month = DATE '{month}'", by_month=False)
            alone += con.execute(scope_hits_sql(shipped, "clf_emergency", model=learned)).fetchall()
        relations("true", by_month=True)
        ranged = con.execute(scope_hits_sql(shipped, "clf_emergency", model=learned,
                                            by_month=True)).fetchall()
        assert sorted(ranged) == sorted(alone), learned
        # the month matters: the same text, called with its month's vote
        a1, b1 = ({r[1:3] for r in ranged if r[0] == tid} for tid in ("a1", "b1"))
        assert a1 != b1, ranged
