"""Separately billable work: out-of-scope tickets and uncovered after-hours emergency work."""

import time

import dagster as dg
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from assets.classification import scope_hits
from assets.facts import ticket_facts
from orchestration.partitions import (
    MonthResult,
    check_each_month,
    for_each_month,
    monthly_partitions,
    run_metadata,
    single_run,
)
from orchestration.resources import PipelineSettings
from policy.sql import register_policy
from warehouse.writes import replace_month

# Amount = billable hours logged on the ticket x the rate: the contract's own hourly rate, else the
# rate card's rate for the ticket's primary (most confident) billable category, else its default.
# A time entry counts as billable unless it is explicitly marked billable = false.
_OUT_OF_SCOPE = """
WITH billable_hits AS (
    SELECT * FROM marts.scope_hits WHERE month = $month AND billable
), per_ticket AS (
    SELECT ticket_id,
           arg_max(scope_id, (confidence, scope_id)) AS primary_category,
           list(scope_id ORDER BY confidence DESC, scope_id) AS scope_categories,
           string_agg(scope_id || ': ' || evidence, ' | ' ORDER BY confidence DESC, scope_id)
               AS evidence,
           max(confidence) AS confidence,
           CASE WHEN bool_or(review_status = 'approved') THEN 'approved' ELSE 'unreviewed' END
               AS review_status,
           max(reviewer) AS reviewer
    FROM billable_hits GROUP BY ticket_id
), hours AS (
    SELECT ticket_id, sum(minutes) FILTER (WHERE coalesce(billable, true)) / 60.0 AS billable_hours
    FROM staging.time_entries WHERE month = $month GROUP BY ticket_id
), priced AS (
    SELECT p.*, f.client_id, f.created_at, f.subject, c.name AS client_name, c.currency,
           coalesce(h.billable_hours, 0) AS billable_hours,
           coalesce(c.hourly_rate, r.rate, $default_rate) AS hourly_rate,
           CASE WHEN c.hourly_rate IS NOT NULL THEN 'contract'
                WHEN r.rate IS NOT NULL THEN 'rate card: ' || p.primary_category
                ELSE 'rate card default' END AS rate_source
    FROM per_ticket p
    JOIN marts.ticket_facts f ON f.ticket_id = p.ticket_id AND f.month = $month
    JOIN staging.ticket_contract c ON c.ticket_id = p.ticket_id AND c.month = $month
    LEFT JOIN hours h ON h.ticket_id = p.ticket_id
    LEFT JOIN policy_rate r ON r.scope_id = p.primary_category
), after_hours AS (
    -- Emergency work outside business hours for a client without after-hours cover: the policy
    -- offers that response only where contracted, so it is billed, at the contract's rate or the
    -- rate card's after-hours emergency rate.
    SELECT f.ticket_id, 'after_hours_emergency' AS primary_category,
           CAST([] AS VARCHAR[]) AS scope_categories,
           concat(CAST(round(f.after_hours_emergency_minutes) AS BIGINT),
                  ' min of emergency work outside business hours; the contract has no after-hours',
                  ' cover (emergency confirmed by ', f.confirmed_by, ')') AS evidence,
           1.0 AS confidence,
           CASE WHEN f.confirmed_by LIKE 'review by %' THEN 'approved' ELSE 'unreviewed' END
               AS review_status,
           CASE WHEN f.confirmed_by LIKE 'review by %' THEN substr(f.confirmed_by, 11) END
               AS reviewer,
           f.client_id, f.created_at, f.subject, c.name AS client_name, c.currency,
           f.after_hours_emergency_minutes / 60.0 AS billable_hours,
           coalesce(c.hourly_rate, $after_hours_rate, $default_rate) AS hourly_rate,
           CASE WHEN c.hourly_rate IS NOT NULL THEN 'contract'
                WHEN $after_hours_rate IS NOT NULL THEN 'rate card: after_hours_emergency'
                ELSE 'rate card default' END AS rate_source
    FROM marts.ticket_facts f
    JOIN staging.ticket_contract c ON c.ticket_id = f.ticket_id AND c.month = $month
    -- A ticket already billed as out of scope has all its hours on that line.
    WHERE f.month = $month AND f.after_hours_emergency_billable AND NOT f.billable_out_of_scope
), lines AS (
    SELECT * FROM priced UNION ALL BY NAME SELECT * FROM after_hours
)
SELECT client_id, client_name, CAST($month AS DATE) AS month, ticket_id, created_at, subject,
       scope_categories, primary_category, evidence, confidence, review_status, reviewer,
       round(billable_hours, 2) AS billable_hours, hourly_rate, rate_source,
       round(round(billable_hours, 2) * hourly_rate, 2) AS amount,
       -- the contract's currency (staging fills in the policy's when the row names none)
       coalesce(currency, $currency) AS currency
FROM lines
"""


@dg.asset(
    group_name="marts",
    kinds={"duckdb"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    deps=[scope_hits, ticket_facts],
)
def out_of_scope(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Billable out-of-scope tickets of the month with evidence, hours, rate and amount."""
    policy = settings.policy()
    params = {"default_rate": policy.rate_card.default_hourly_rate,
              "after_hours_rate": policy.rate_card.after_hours_emergency, "currency": policy.currency}

    def build(con: DuckDBPyConnection, month: str) -> MonthResult:
        started = time.perf_counter()
        register_policy(con, policy)
        replace_month(con, "marts.out_of_scope", month, _OUT_OF_SCOPE, {"month": month, **params})
        rows, hours, amount = con.execute(
            "SELECT count(*), sum(billable_hours), sum(amount) FROM marts.out_of_scope WHERE month = ?",
            [month],
        ).fetchone()
        return MonthResult(
            {"row_count": rows, "billable_hours": float(hours or 0), "amount": float(amount or 0)},
            f"{rows} billable lines, {float(hours or 0):.1f} h, {float(amount or 0):.2f}"
            f" {policy.currency} for {month[:7]} in {time.perf_counter() - started:.1f} s",
        )

    results = for_each_month(context, duckdb, build)
    return dg.MaterializeResult(metadata=run_metadata(results, currency=policy.currency))


@dg.asset_check(asset=out_of_scope, blocking=True, partitions_def=monthly_partitions)
def out_of_scope_amounts(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Every amount is hours x rate, and every line is a ticket flagged billable in the facts."""

    def check(con: DuckDBPyConnection, month: str) -> dg.AssetCheckResult:
        wrong, orphan = con.execute(
            """SELECT count(*) FILTER (WHERE abs(amount - round(billable_hours * hourly_rate, 2)) > 0.005),
                      count(*) FILTER (WHERE ticket_id NOT IN (
                          SELECT ticket_id FROM marts.ticket_facts
                          WHERE month = $m AND (billable_out_of_scope OR after_hours_emergency_billable)))
               FROM marts.out_of_scope WHERE month = $m""",
            {"m": month},
        ).fetchone()
        return dg.AssetCheckResult(
            passed=wrong == 0 and orphan == 0,
            metadata={"amount_mismatches": wrong, "lines_not_flagged_in_facts": orphan},
        )

    return check_each_month(context, duckdb, check)
