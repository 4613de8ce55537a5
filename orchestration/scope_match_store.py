"""The scope text rules' matches kept in the warehouse, so that a run matches only new texts.

A run's scope step matched every distinct text of its months (tickets' subject . description,
their time entries' notes) against the scope rules, about 0.7 s of CPU for a 100k provider's
month beside the 0.5 s DuckDB takes to prepare the rules; most of a month's texts were matched by
an earlier run (templated requests, alerts, stock notes). A text's matches depend on that text
and the rules alone (logic.classify.scope_text_hits_sql: a function of the text), so the stored
rows are the ones matching it again would give. Keyed by the md5 of the rules' SQL with DuckDB's
version (any change to the policy's terms or to the matcher changes the SQL, so old rows are
never read for new rules) and the md5 of the text; a text that matched no rule keeps one row with
no rule, so it is known as matched.
"""

from __future__ import annotations

import duckdb

from logic.classify import scope_text_hits_sql
from logic.text_match import per_policy
from orchestration.match_store import prune_store, rules_key, stored_matches
from policy.config import PolicyConfig
from warehouse.mart_tables import SCOPE_TEXT_MATCHES

TABLE = SCOPE_TEXT_MATCHES.name  # created with the warehouse (warehouse.schema.ensure_warehouse)


@per_policy
def rules_md5(policy: PolicyConfig) -> str:
    """The key of the policy's scope text rules: their SQL (every pattern) and DuckDB's version."""
    return rules_key(scope_text_hits_sql(policy, "__DOCS__"))


def match_texts(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, docs: str,
                into: str) -> tuple[int, int]:
    """Create the table `into` (raw_txt, rule_id, hits): the scope text rules' matches of each
    distinct raw_txt of the relation `docs`, as scope_text_hits_sql gives them. Stored matches
    are read; only texts not stored are matched, and stored. Returns (texts, texts matched now).

    `into` is qualified by the caller's database (an attached in-memory one for a run's months);
    its helper tables are made beside it and dropped.
    """
    return stored_matches(con, TABLE, rules_md5(policy),
                          lambda texts: scope_text_hits_sql(policy, texts), docs, into)


def prune(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, months: list[str],
          notes: str) -> int | None:
    """Delete the matches of other rules, and of texts that are no longer a staged ticket's text
    nor among `notes` (the relation of the run's notes, raw_txt), when `months` cover every month
    with tickets (as the embedding store is pruned); returns the rows deleted, or None."""
    return prune_store(con, TABLE, rules_md5(policy), months, f"SELECT raw_txt FROM {notes}")
