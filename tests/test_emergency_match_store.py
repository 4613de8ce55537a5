"""The emergency rules' matches kept in the warehouse: a later run matches only texts it has not seen,
and the reading over stored matches is the one over the texts."""

import duckdb

from logic.emergency import emergency_rules_sql
from logic.message import write_messages
from orchestration.emergency_match_store import EMERGENCY_MATCHES, TABLE
from policy.config import default_policy
from tests.test_scope_match_store import matched_now
from warehouse.schema import ensure_warehouse

match_texts, prune, rules_md5 = (EMERGENCY_MATCHES.match_texts, EMERGENCY_MATCHES.prune,
                                  EMERGENCY_MATCHES.rules_md5)

TICKETS = [  # ticket_id, subject, description, affected_users, declared_emergency
    ("t1", "Server down", "the file server is down and nobody in the office can work", 12, True),
    ("t2", "Printer offline", "the office printer is offline", 1, False),
    ("t3", "Server down", "the file server is down and nobody in the office can work", 1, False),
    ("t4", "Password reset", "please reset my password", None, None),
    ("t5", None, None, None, None),
]
NEW = ("t6", "Ransomware", "files encrypted on every PC, ransom note on screen", 30, True)


def _tickets(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> str:
    con.execute("CREATE OR REPLACE TEMP TABLE clf_tickets (ticket_id VARCHAR, subject VARCHAR,"
                " description VARCHAR, affected_users INTEGER, declared_emergency BOOLEAN)")
    con.executemany("INSERT INTO clf_tickets VALUES (?, ?, ?, ?, ?)", rows)
    write_messages(con, None)
    return "(SELECT coalesce(subject, '') || ' . ' || coalesce(description, '') AS raw_txt FROM clf_tickets)"


def _reading(con: duckdb.DuckDBPyConnection, matches: str | None = None) -> list[tuple]:
    sql = emergency_rules_sql(default_policy(), matches)
    return sorted(con.execute(f"SELECT * FROM ({sql})").fetchall(), key=repr)


def test_a_second_run_reads_the_stored_matches_and_reads_the_same(monkeypatch) -> None:
    policy = default_policy()
    con = duckdb.connect()
    ensure_warehouse(con)
    docs = _tickets(con, TICKETS)
    expected = _reading(con)
    assert any(r[2] > 0 for r in expected)  # some ticket reads as an emergency
    assert match_texts(con, policy, docs, "first") == (4, 4)  # three texts and the empty one
    assert _reading(con, "first") == expected
    assert con.execute(f"SELECT count(DISTINCT text_md5) FROM {TABLE}").fetchone() == (4,)

    calls = matched_now(monkeypatch, EMERGENCY_MATCHES)
    docs = _tickets(con, [*TICKETS, NEW])
    assert match_texts(con, policy, docs, "second") == (5, 1)  # only the new text is matched
    assert len(calls) == 1
    assert _reading(con, "second") == _reading(con)
    # Every text stored: the rules are not matched at all, the reading is the same.
    calls.clear()
    assert match_texts(con, policy, docs, "third") == (5, 0)
    assert calls == []
    assert _reading(con, "third") == _reading(con)


def test_other_rules_do_not_read_the_stored_matches_and_prune() -> None:
    from tests.test_embedding_store import _warehouse_with_tickets

    policy = default_policy()
    em = policy.emergency
    changed = policy.model_copy(update={"emergency": em.model_copy(
        update={"dampeners": em.dampeners[1:]})})
    assert rules_md5(changed) != rules_md5(policy)
    con = _warehouse_with_tickets({
        "2026-01-01": TICKETS[0][1:3], "2026-02-01": TICKETS[1][1:3]})
    docs = _tickets(con, [*TICKETS, NEW])
    match_texts(con, policy, docs, "before")
    assert match_texts(con, changed, docs, "after") == (5, 5)
    assert prune(con, policy, ["2026-02-01"]) is None  # not every month: nothing goes
    assert prune(con, policy, ["2026-01-01", "2026-02-01"])
    # Left: this policy's matches of the two staged tickets' texts.
    left = set(con.execute(f"SELECT DISTINCT rules_md5, text_md5 FROM {TABLE}").fetchall())
    staged = [f"{s} . {d}" for _, s, d, _, _ in TICKETS[:2]]
    hashes = con.execute("SELECT md5(unnest(?))", [staged]).fetchall()
    assert left == {(rules_md5(policy), h) for (h,) in hashes}
