"""The scope text rules' matches kept in the warehouse: a later run matches only texts it has not seen."""

import duckdb
import pytest

from logic.classify import scope_text_hits_sql
from orchestration.match_store import TextMatchStore
from orchestration.scope_match_store import SCOPE_MATCHES, TABLE
from policy.config import default_policy
from warehouse.schema import ensure_warehouse

match_texts, prune, rules_md5 = SCOPE_MATCHES.match_texts, SCOPE_MATCHES.prune, SCOPE_MATCHES.rules_md5

SEEN = ["Laptop quote . please quote a new laptop for the new starter",
        "Printer offline . the office printer is offline",  # matches no scope rule
        "Install Adobe . please install Adobe Acrobat on my PC"]
NEW = "Office move . we are moving office next month, please move the network"


def _docs(con: duckdb.DuckDBPyConnection, texts: list[str]) -> str:
    con.execute("CREATE OR REPLACE TEMP TABLE docs (raw_txt VARCHAR)")
    con.executemany("INSERT INTO docs VALUES (?)", [[t] for t in texts])
    return "(SELECT raw_txt FROM docs)"


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return sorted(con.execute(f"SELECT raw_txt, rule_id, hits FROM {table}").fetchall(), key=repr)


def matched_now(monkeypatch: pytest.MonkeyPatch, store: TextMatchStore = SCOPE_MATCHES) -> list[str]:
    """The relations `store`'s rules are matched on (the store's own statement, when it matches)."""
    calls: list[str] = []
    original = store.hits_sql

    def counting(policy, texts):  # type: ignore[no-untyped-def]
        calls.append(texts)
        return original(policy, texts)

    monkeypatch.setattr(store, "hits_sql", counting)
    return calls


def test_stored_matches_are_the_rules_own_and_only_new_texts_are_matched(monkeypatch) -> None:
    policy = default_policy()
    con = duckdb.connect()
    ensure_warehouse(con)
    texts = [*SEEN, SEEN[0], None]  # a repeated text, and a NULL one (never stored)
    docs = _docs(con, texts)
    expected = _rows(con, f"({scope_text_hits_sql(policy, docs)})")
    assert match_texts(con, policy, docs, "first") == (4, 4)
    assert _rows(con, "first") == expected
    # A row per text and rule it matched; the text that matched nothing keeps one row, no rule.
    assert con.execute(f"SELECT count(DISTINCT text_md5), count(*) FILTER (WHERE rule_id IS NULL)"
                       f" FROM {TABLE}").fetchone() == (3, 1)

    calls = matched_now(monkeypatch)
    later = _docs(con, [*texts, NEW])
    expected = _rows(con, f"({scope_text_hits_sql(policy, later)})")
    assert match_texts(con, policy, later, "second") == (5, 2)  # the new text and the NULL one
    assert _rows(con, "second") == expected
    assert any(NEW in r[0] for r in expected if r[0])
    # Every text stored: the rules' statement is not even prepared.
    calls.clear()
    again = _docs(con, [*SEEN, NEW])
    assert match_texts(con, policy, again, "third") == (4, 0)
    assert calls == []
    assert _rows(con, "third") == _rows(con, f"({scope_text_hits_sql(policy, again)})")


def test_other_rules_do_not_read_the_stored_matches() -> None:
    policy = default_policy()
    first = policy.scope_exclusions[0]
    changed = policy.model_copy(update={"scope_exclusions": [
        first.model_copy(update={"rules": first.rules[1:]}), *policy.scope_exclusions[1:]]})
    assert rules_md5(changed) != rules_md5(policy)
    con = duckdb.connect()
    ensure_warehouse(con)
    docs = _docs(con, SEEN)
    match_texts(con, policy, docs, "before")
    assert match_texts(con, changed, docs, "after") == (3, 3)
    assert _rows(con, "after") == _rows(con, f"({scope_text_hits_sql(changed, docs)})")


def test_a_run_over_every_month_prunes_other_rules_and_texts_gone() -> None:
    from tests.test_embedding_store import _warehouse_with_tickets

    policy = default_policy()
    con = _warehouse_with_tickets({
        "2026-01-01": ("Laptop quote", "please quote a new laptop for the new starter"),
        "2026-02-01": ("Printer offline", "the office printer is offline")})
    note = "Moved the network to the new office"
    con.execute("CREATE TEMP TABLE notes AS SELECT ? AS raw_txt", [note])
    match_texts(con, policy, _docs(con, [*SEEN[:2], note, "Gone . a superseded text"]), "hits")
    con.execute(f"INSERT INTO {TABLE} VALUES ('other rules', 'x', NULL, NULL)")
    stored = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    assert prune(con, policy, ["2026-02-01"], "notes") is None  # not every month: nothing goes
    assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == stored
    assert prune(con, policy, ["2026-01-01", "2026-02-01"], "notes") == 2
    left = {r[0] for r in con.execute(f"SELECT DISTINCT text_md5 FROM {TABLE}").fetchall()}
    assert left == {r[0] for r in con.execute("SELECT md5(unnest(?))", [[*SEEN[:2], note]]).fetchall()}


def test_a_range_hook_finds_the_schema_s_new_tables_in_an_older_warehouse(tmp_path) -> None:
    """scope_hits run alone on a warehouse made before the store existed: the monthly factory
    ensures the schema before the range hook writes the store (it failed with a missing table)."""
    from contextlib import contextmanager

    import dagster as dg

    from orchestration.monthly import monthly_sql_asset
    from orchestration.resources import PipelineSettings, WarehouseResource
    from policy.paths import policy_file

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_warehouse(con)
        con.execute(f"DROP TABLE {TABLE}")  # as made by the code before the store
        con.execute("UPDATE quality.schema_version SET version = 'older'")

    @contextmanager
    def hook(con, months, run):  # type: ignore[no-untyped-def]
        yield {"stored": match_texts(con, run.policy, _docs(con, SEEN), "hits")}

    probe = monthly_sql_asset(
        "probe", description="a range hook writing the store", deps=[], before_range=hook,
        select_of=lambda run: f"SELECT CAST($month AS DATE) AS month, {run.shared['stored'][1]} AS n",
        table="staging.probe",
        stats_sql="SELECT count(*) AS row_count FROM staging.probe WHERE month = $month",
        summary="{row_count} for {month}")
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE staging.probe (month DATE, n INTEGER)")
    settings = PipelineSettings(landing_dir=str(tmp_path), published_dir=str(tmp_path),
                                policy_file=str(policy_file()))
    result = dg.materialize([probe], partition_key="2026-01-01", resources={
        "duckdb": WarehouseResource(database=str(path)), "settings": settings})
    assert result.success
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT n FROM staging.probe").fetchall() == [(3,)]
