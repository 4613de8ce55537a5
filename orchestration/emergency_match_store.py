"""The emergency rules' matches kept in the warehouse, so that a run matches only new texts.

A run's emergency step matched every distinct ticket text of its months against the emergency
rules (their term sets, text rules and dampeners) every time. Those matches are a function of the
text and the rules alone (logic.emergency.emergency_text_hits_sql); the reading's per-ticket parts
(affected users, declared emergency) are applied after, by emergency_rules_sql over them. Kept
as the scope rules' matches are (orchestration/scope_match_store.py): keyed by the md5 of the
rules' SQL with DuckDB's version and the md5 of the text the rules read (with
emergency.message_only a ticket text's message: round 30, as the scope store keys them); a text
that matched nothing keeps one row with no rule.
"""

from __future__ import annotations

from logic.emergency import emergency_text_hits_sql
from orchestration.match_store import TextMatchStore
from warehouse.mart_tables import EMERGENCY_TEXT_MATCHES

TABLE = EMERGENCY_TEXT_MATCHES.name  # created with the warehouse (warehouse.schema.ensure_warehouse)
EMERGENCY_MATCHES = TextMatchStore(TABLE, emergency_text_hits_sql)
