"""Automated calls on every ticket: scope exclusions and the emergency reading, with human review."""

import time

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from assets.calendars import business_calendars
from assets.staging import staging_review_decisions, staging_tickets, staging_time_entries
from logic.classify import emergency_rules_sql, emergency_sql, scope_hits_sql
from logic.semantic import ExemplarBank, builtin_bank, prepare_votes, review_bank
from orchestration.partitions import MonthResult, for_each_month, monthly_partitions, run_metadata, single_run
from orchestration.resources import PipelineSettings
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


# Review decisions win: an approved id stays (or is added by the reviewer), a rejected one is kept
# for the audit trail but never billed. Abstention: an unreviewed call is billable only when it is
# `confident`; one that `needs review` waits in the review queue. A hit is billable unless the
# contract in force when the ticket was opened includes that id.
# call_state: the call as billing sees it (confident | needs review | approved | rejected);
# automated_call_state: the classifier's own state (confident | needs review; NULL when a reviewer
# added the id).
_SCOPE_HITS = """
WITH automated AS (
    SELECT ticket_id, scope_id, confidence, evidence, 'automated' AS source,
           call_state AS automated_call_state
    FROM clf_hits
), reviewed AS (
    SELECT ticket_id, scope_id, verdict, reviewer, decided_at
    FROM staging.review_decisions WHERE kind = 'scope' AND is_current
), added AS (
    SELECT r.ticket_id, r.scope_id, 1.0 AS confidence, 'added by reviewer' AS evidence,
           'review' AS source, NULL::VARCHAR AS automated_call_state
    FROM reviewed r JOIN clf_tickets t USING (ticket_id)
    WHERE r.verdict = 'approved'
      AND NOT EXISTS (SELECT 1 FROM automated a WHERE a.ticket_id = r.ticket_id
                                                   AND a.scope_id = r.scope_id)
), hits AS (
    SELECT * FROM automated UNION ALL SELECT * FROM added
)
SELECT h.ticket_id, c.client_id, c.month, h.scope_id, h.confidence, h.evidence, h.source,
       coalesce(r.verdict, 'unreviewed') AS review_status, r.reviewer, r.decided_at,
       list_contains(c.included_scope, h.scope_id) AS included_in_contract,
       coalesce(r.verdict = 'approved', h.automated_call_state = 'confident')
           AND NOT list_contains(c.included_scope, h.scope_id) AS billable,
       coalesce(r.verdict, h.automated_call_state) AS call_state, h.automated_call_state
FROM hits h
JOIN staging.ticket_contract c ON c.ticket_id = h.ticket_id AND c.month = $month
LEFT JOIN reviewed r ON r.ticket_id = h.ticket_id AND r.scope_id = h.scope_id
"""


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


def _classify(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, month: str) -> None:
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
    con.execute(f"CREATE OR REPLACE TEMP TABLE clf_hits AS {scope_hits_sql(policy, 'clf_emergency')}")


@dg.asset(
    group_name="marts",
    kinds={"duckdb"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    # By key: emergency_readings is defined below.
    deps=[staging_tickets, staging_time_entries, staging_review_decisions, business_calendars,
          dg.AssetKey("emergency_readings")],
)
def scope_hits(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Scope-exclusion hits per ticket with confidence and evidence (automated), review and contract."""
    policy = settings.policy()

    def classify(con: DuckDBPyConnection, month: str) -> MonthResult:
        started = time.perf_counter()
        _classify(con, policy, month)
        replace_month(con, "marts.scope_hits", month, _SCOPE_HITS, {"month": month})
        rows, tickets, billable, reviewed, queued = con.execute(
            """SELECT count(*), count(DISTINCT ticket_id), count(*) FILTER (WHERE billable),
                      count(*) FILTER (WHERE review_status <> 'unreviewed'),
                      count(DISTINCT ticket_id) FILTER (WHERE call_state = 'needs review')
               FROM marts.scope_hits WHERE month = ?""",
            [month],
        ).fetchone()
        return MonthResult(
            {"row_count": rows, "tickets_with_hits": tickets, "billable_hits": billable,
             "reviewed_hits": reviewed, "review_queue_tickets": queued},
            f"{rows} scope hits on {tickets} tickets ({billable} billable) for {month[:7]}"
            f" in {time.perf_counter() - started:.1f} s",
        )

    return dg.MaterializeResult(metadata=run_metadata(for_each_month(context, duckdb, classify)))


@dg.asset(
    group_name="marts",
    kinds={"duckdb"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    deps=[staging_tickets],
)
def emergency_readings(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """The policy's reading of each ticket as an emergency or not, with confidence and evidence."""
    policy = settings.policy()

    def read(con: DuckDBPyConnection, month: str) -> MonthResult:
        started = time.perf_counter()
        con.execute(_CLF_INPUTS[0], {"month": month})
        # The rules run once: the vote may need them to pick the texts to embed.
        con.execute(f"CREATE OR REPLACE TEMP TABLE clf_emergency_rules AS {emergency_rules_sql(policy)}")
        votes = semantic_votes(con, policy, month, "clf_emergency_rules")
        replace_month(
            con, "marts.emergency_readings", month,
            f"SELECT CAST($month AS DATE) AS month, e.*"
            f" FROM ({emergency_sql(policy, rules='clf_emergency_rules')}) e",
            {"month": month},
        )
        rows, qualifies = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE qualifies_emergency)"
            " FROM marts.emergency_readings WHERE month = ?",
            [month],
        ).fetchone()
        return MonthResult(
            {"row_count": rows, "qualifies_emergency": qualifies, "embedded_texts": int(votes["texts"]),
             "exemplars": int(votes["exemplars"]), "embedding_seconds": float(votes["seconds"])},
            f"{rows} emergency readings ({qualifies} qualify) for {month[:7]}; semantic vote on"
            f" {votes['texts']:.0f} texts against {votes['exemplars']:.0f} exemplars"
            f" in {votes['seconds']:.1f} s;"
            f" {time.perf_counter() - started:.1f} s in all",
        )

    return dg.MaterializeResult(metadata=run_metadata(for_each_month(context, duckdb, read)))
