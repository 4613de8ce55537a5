"""A store of rules' text matches in the warehouse, shared by the scope and emergency rules.

A rule's matches on a text are a function of that text and the rules alone, so they are kept per
(rules key, text md5): the rules key is the md5 of the rules' matching SQL with DuckDB's version
(any change to a term, a pattern or the matcher changes it, so old rows are never read for new
rules). A text that matched no rule keeps one row with no rule, so it is known as matched. The
stores: orchestration/scope_match_store.py, orchestration/emergency_match_store.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import duckdb

from logic.text_match import TICKET_TEXT, per_policy
from policy.config import PolicyConfig


def rules_key(sql: str) -> str:
    """The store's key of rules whose matching statement is `sql`: its md5 with DuckDB's version."""
    return hashlib.md5(f"{duckdb.__version__}\n{sql}".encode(), usedforsecurity=False).hexdigest()


def stored_matches(con: duckdb.DuckDBPyConnection, table: str, key: str,
                   hits_sql: Callable[[str], str], docs: str, into: str) -> tuple[int, int]:
    """match_texts over the store `table` (rules_md5, text_md5, rule_id, hits) for the rules
    keyed `key`, whose statement over a relation of texts (raw_txt) `hits_sql` gives."""
    texts, fresh = f"{into}_texts", f"{into}_fresh"
    con.execute(f"CREATE TABLE {texts} AS SELECT raw_txt, md5(raw_txt) AS text_md5, EXISTS ("
                f" SELECT 1 FROM {table} s WHERE s.rules_md5 = $key AND s.text_md5 = md5(d.raw_txt))"
                f" AS stored FROM (SELECT DISTINCT raw_txt FROM {docs}) d", {"key": key})
    try:
        if con.execute(f"SELECT count(*) FROM {texts} WHERE NOT stored").fetchone()[0]:
            new = hits_sql(f"(SELECT raw_txt FROM {texts} WHERE NOT stored)")
            con.execute(f"CREATE TABLE {fresh} AS SELECT raw_txt, rule_id, hits FROM ({new})")
        else:  # every text stored: DuckDB does not prepare the rules (0.5 s of CPU, 1.1 MB of SQL)
            con.execute(f"CREATE TABLE {fresh} (raw_txt VARCHAR, rule_id INTEGER, hits VARCHAR[])")
        # A row per new text and rule it matched, or one row without a rule (NULL text: none).
        con.execute(f"INSERT INTO {table} SELECT $key, t.text_md5, h.rule_id, h.hits"
                    f" FROM {texts} t LEFT JOIN {fresh} h USING (raw_txt)"
                    " WHERE NOT t.stored AND t.text_md5 IS NOT NULL", {"key": key})
        con.execute(f"CREATE TABLE {into} AS SELECT t.raw_txt, s.rule_id, s.hits FROM {texts} t"
                    f" JOIN {table} s ON s.rules_md5 = $key AND s.text_md5 = t.text_md5"
                    " WHERE t.stored AND s.rule_id IS NOT NULL"
                    f" UNION ALL SELECT raw_txt, rule_id, hits FROM {fresh}", {"key": key})
        return tuple(int(n) for n in con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT stored) FROM {texts}").fetchone())
    finally:
        con.execute(f"DROP TABLE IF EXISTS {fresh}")
        con.execute(f"DROP TABLE IF EXISTS {texts}")


def prune_store(con: duckdb.DuckDBPyConnection, table: str, key: str, months: list[str],
                more: str | None = None) -> int | None:
    """prune over the store `table` for the rules keyed `key`: the texts kept are the staged
    tickets' and those of the query `more` (raw_txt), if any."""
    uncovered = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT month FROM staging.tickets)"
        " WHERE month NOT IN (SELECT CAST(unnest($months) AS DATE))", {"months": months}).fetchall()[0][0]
    if uncovered:
        return None
    kept = f" UNION ALL SELECT md5(raw_txt) FROM ({more})" if more else ""
    return con.execute(
        f"DELETE FROM {table} WHERE rules_md5 <> $key OR text_md5 NOT IN ("
        f" SELECT md5(txt) FROM (SELECT DISTINCT {TICKET_TEXT} AS txt FROM staging.tickets){kept})",
        {"key": key}).fetchall()[0][0]


class TextMatchStore:
    """The matches of one set of rules kept in the warehouse table `table`: `hits_sql(policy,
    texts)` is the rules' statement over a relation of texts (raw_txt), giving (raw_txt, rule_id,
    hits). The scope and emergency stores are two of these (their modules say what they keep)."""

    def __init__(self, table: str, hits_sql: Callable[[PolicyConfig, str], str]) -> None:
        self.table, self.hits_sql = table, hits_sql
        # The rules' SQL is about 1 MB: built once per policy object, as the rules themselves are.
        self.rules_md5: Callable[[PolicyConfig], str] = per_policy(
            lambda policy: rules_key(self.hits_sql(policy, "__TEXTS__")))

    def match_texts(self, con: duckdb.DuckDBPyConnection, policy: PolicyConfig, docs: str,
                    into: str) -> tuple[int, int]:
        """Create the table `into` (raw_txt, rule_id, hits): the rules' matches of each distinct
        raw_txt of the relation `docs`. Stored matches are read; only texts not stored are matched,
        and stored. Returns (texts, texts matched now). `into` is qualified by the caller's
        database; its helper tables are made beside it and dropped."""
        return stored_matches(con, self.table, self.rules_md5(policy),
                              lambda texts: self.hits_sql(policy, texts), docs, into)

    def prune(self, con: duckdb.DuckDBPyConnection, policy: PolicyConfig, months: list[str],
              notes: str | None = None) -> int | None:
        """Delete the matches of other rules, and of texts that are no longer a staged ticket's
        text nor among `notes` (a relation of raw_txt, if any: notes, messages the rules read), when
        `months` cover every month
        with tickets (as the embedding store is pruned); returns the rows deleted, or None."""
        more = f"SELECT raw_txt FROM {notes}" if notes else None
        return prune_store(con, self.table, self.rules_md5(policy), months, more)

