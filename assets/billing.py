"""Separately billable work: out-of-scope tickets and uncovered after-hours emergency work."""

import dagster as dg
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from assets.classification import scope_hits
from assets.facts import ticket_facts
from orchestration.monthly import monthly_sql_asset
from orchestration.partitions import check_each_month
from orchestration.sql_checks import sql_check

# Hours x rate per billable ticket, and uncovered after-hours emergency work:
# models/marts/out_of_scope.sql.
out_of_scope = monthly_sql_asset(
    "out_of_scope",
    description="Billable out-of-scope tickets of the month with evidence, hours, rate and amount.",
    deps=[scope_hits, ticket_facts],
    params=lambda run: {"default_rate": run.policy.rate_card.default_hourly_rate,
                        "after_hours_rate": run.policy.rate_card.after_hours_emergency,
                        "currency": run.policy.currency, "as_of": run.as_of},
    policy_tables=True,
    stats_sql="""SELECT count(*) AS row_count, coalesce(sum(billable_hours), 0) AS billable_hours,
                        coalesce(sum(amount), 0) AS amount
                 FROM marts.out_of_scope WHERE month = $month""",
    summary="{row_count} billable lines, {billable_hours:.1f} h, {amount:.2f} {currency} for {month}"
            " in {seconds:.1f} s",
    run_metadata_of=lambda run: {"currency": run.policy.currency},
)


@sql_check(out_of_scope)
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
