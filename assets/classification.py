"""Automated calls on every ticket: scope exclusions and the emergency reading, with human review."""

from typing import Any

import duckdb

from assets.calendars import business_calendars
from assets.staging import staging_review_decisions, staging_tickets, staging_time_entries
from logic.classify import emergency_rules_sql, emergency_sql, scope_hits_sql
from logic.semantic import ExemplarBank, builtin_bank, prepare_votes, review_bank
from orchestration.monthly import RunInputs, monthly_sql_asset
from policy.config import PolicyConfig
from policy.paths import PROJECT_ROOT
from warehouse.writes import replace_month

# The classifiers read two relations: the month's tickets and their time entries (each entry is
# marked outside_hours in staging when it started while the client's calendar was closed).
_CLF_INPUTS = [
    """CREATE OR REPLACE TEMP TABLE clf_tickets AS
       SELECT ticket_id, subject, description, category, declared_emergency,
              coalesce(final_priority, triage_priority) AS priority, affected_users
       FROM staging.tickets WHERE month = $month""",
    """CREATE OR REPLACE TEMP TABLE clf_time AS
       SELECT ticket_id, minutes, work_type, billable, note, coalesce(outside_hours, false) AS outside_hours
       FROM staging.time_entries WHERE month = $month""",
]


def prepare_inputs(con: duckdb.DuckDBPyConnection, month: str) -> None:
    """Create the temp tables clf_tickets and clf_time for the month."""
    for statement in _CLF_INPUTS:
        con.execute(statement, {"month": month})


def exemplar_bank(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, month: str) -> ExemplarBank:
    """The semantic vote's exemplars for a month's calls: the policy's concepts, the built-in
    labelled tickets and this provider's review decisions on tickets of earlier months (so a
    ticket's own decision never votes on its automated call, and agreement stays honest)."""
    files = [PROJECT_ROOT / f for f in policy.scope_classification.semantic.exemplar_files]
    return ExemplarBank.concat([builtin_bank(policy, files), review_bank(con, policy, before_month=month)])


def semantic_votes(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, month: str,
                   rules: str | None = None) -> dict[str, float]:
    """Compute the month's semantic votes (clf_tickets must exist) and keep them in staging."""
    stats = prepare_votes(con, policy, exemplar_bank(con, policy, month), rules=rules)
    replace_month(con, "staging.semantic_scope_votes", month,
                  "SELECT CAST($month AS DATE) AS month, * FROM clf_semantic_scope", {"month": month})
    replace_month(con, "staging.semantic_emergency_votes", month,
                  "SELECT CAST($month AS DATE) AS month, * FROM clf_semantic_emergency", {"month": month})
    return stats


def classify_scope(con: duckdb.DuckDBPyConnection, month: str, run: RunInputs) -> None:
    """The temp table clf_hits (and clf_tickets) that models/marts/scope_hits.sql reads."""
    prepare_inputs(con, month)
    # The emergency reading (planned after-hours work excludes emergencies) and the semantic votes
    # were computed by emergency_readings for this month: reuse them rather than match and embed
    # every text a second time.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE clf_emergency AS SELECT ticket_id, qualifies_emergency"
        " FROM marts.emergency_readings WHERE month = ?",
        [month],
    )
    con.execute("CREATE OR REPLACE TEMP TABLE clf_semantic_scope AS SELECT * EXCLUDE (month)"
                " FROM staging.semantic_scope_votes WHERE month = ?", [month])
    con.execute("CREATE OR REPLACE TEMP TABLE clf_semantic_emergency AS SELECT * EXCLUDE (month)"
                " FROM staging.semantic_emergency_votes WHERE month = ?", [month])
    con.execute(f"CREATE OR REPLACE TEMP TABLE clf_hits AS {scope_hits_sql(run.policy, 'clf_emergency')}")


def read_emergencies(con: duckdb.DuckDBPyConnection, month: str, run: RunInputs) -> dict[str, Any]:
    """The temp tables the emergency reading joins: the month's tickets, the emergency rules' matches
    and the semantic votes (kept in staging); returns the vote's figures."""
    con.execute(_CLF_INPUTS[0], {"month": month})
    # The rules run once: the vote may need them to pick the texts to embed.
    con.execute(f"CREATE OR REPLACE TEMP TABLE clf_emergency_rules AS {emergency_rules_sql(run.policy)}")
    votes = semantic_votes(con, run.policy, month, "clf_emergency_rules")
    return {"embedded_texts": int(votes["texts"]), "exemplars": int(votes["exemplars"]),
            "embedding_seconds": float(votes["seconds"])}


emergency_readings = monthly_sql_asset(
    "emergency_readings",
    description="The policy's reading of each ticket as an emergency or not, with confidence and evidence.",
    deps=[staging_tickets],
    before=read_emergencies,
    # The policy writes this model: its emergency terms and concepts become the SQL.
    select_of=lambda run: "SELECT CAST($month AS DATE) AS month, e.*"
                          f" FROM ({emergency_sql(run.policy, rules='clf_emergency_rules')}) e",
    stats_sql="""SELECT count(*) AS row_count,
                        count(*) FILTER (WHERE qualifies_emergency) AS qualifies_emergency
                 FROM marts.emergency_readings WHERE month = $month""",
    summary="{row_count} emergency readings ({qualifies_emergency} qualify) for {month}; semantic vote on"
            " {embedded_texts} texts against {exemplars} exemplars in {embedding_seconds:.1f} s;"
            " {seconds:.1f} s in all",
)

# Review decisions, the contract and the abstention bands on top of the automated calls:
# models/marts/scope_hits.sql.
scope_hits = monthly_sql_asset(
    "scope_hits",
    description="Scope-exclusion hits per ticket with confidence and evidence (automated),"
                " review and contract.",
    deps=[staging_tickets, staging_time_entries, staging_review_decisions, business_calendars,
          emergency_readings],
    before=classify_scope,
    params=lambda run: {"as_of": run.as_of},
    stats_sql="""SELECT count(*) AS row_count, count(DISTINCT ticket_id) AS tickets_with_hits,
                        count(*) FILTER (WHERE billable) AS billable_hits,
                        count(*) FILTER (WHERE review_status <> 'unreviewed') AS reviewed_hits,
                        count(DISTINCT ticket_id) FILTER (WHERE call_state = 'needs review')
                            AS review_queue_tickets
                 FROM marts.scope_hits WHERE month = $month""",
    summary="{row_count} scope hits on {tickets_with_hits} tickets ({billable_hits} billable) for {month}"
            " in {seconds:.1f} s",
)
