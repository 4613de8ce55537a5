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

from logic.classify import scope_text_hits_sql
from orchestration.match_store import TextMatchStore
from warehouse.mart_tables import SCOPE_TEXT_MATCHES

TABLE = SCOPE_TEXT_MATCHES.name  # created with the warehouse (warehouse.schema.ensure_warehouse)
SCOPE_MATCHES = TextMatchStore(TABLE, scope_text_hits_sql)
