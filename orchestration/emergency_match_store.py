"""The emergency rules' matches kept in the warehouse, so that a run matches only new texts.

A run's emergency step matched every distinct ticket text of its months against the emergency
rules (their term sets, text rules and dampeners) every time. Those matches are a function of the
text and the rules alone (logic.emergency.emergency_text_hits_sql); the reading's per-ticket parts
(affected users, declared emergency) are applied after, by emergency_rules_sql over them. Kept
as the scope rules' matches are (orchestration/scope_match_store.py): keyed by the md5 of the
rules' SQL with DuckDB's version and the md5 of the text; a text that matched nothing keeps one
row with no rule.
"""

from __future__ import annotations

import duckdb

from logic.emergency import emergency_text_hits_sql
from logic.text_match import per_policy
from orchestration.match_store import prune_store, rules_key, stored_matches
from policy.config import PolicyConfig
from warehouse.mart_tables import EMERGENCY_TEXT_MATCHES

TABLE = EMERGENCY_TEXT_MATCHES.name  # created with the warehouse (warehouse.schema.ensure_warehouse)


@per_policy
def rules_md5(policy: PolicyConfig) -> str:
    """The key of the policy's emergency rules: their matching SQL and DuckDB's version."""
    return rules_key(emergency_text_hits_sql(policy, "__TEXTS__"))


def match_texts(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, docs: str,
                into: str) -> tuple[int, int]:
    """Create the table `into` (raw_txt, rule_id, hits): the emergency rules' matches of each
    distinct raw_txt of `docs`, stored ones read, the others matched and stored. Returns (texts,
    texts matched now)."""
    return stored_matches(con, TABLE, rules_md5(policy),
                          lambda texts: emergency_text_hits_sql(policy, texts), docs, into)


def prune(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, months: list[str]) -> int | None:
    """Delete the matches of other rules and of texts no staged ticket has, when `months` cover
    every month with tickets; returns the rows deleted, or None."""
    return prune_store(con, TABLE, rules_md5(policy), months)
