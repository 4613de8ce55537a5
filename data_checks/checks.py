"""Dagster asset checks that run the great-expectations suites on the partition just written."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.facts import ticket_facts
from assets.marts import client_month
from assets.partitions import monthly_partitions
from data_checks.suites import client_month_suite, ticket_facts_suite, validate


def _result(df, build) -> dg.AssetCheckResult:
    passed, failures = validate(df, build)
    return dg.AssetCheckResult(
        passed=passed,
        metadata={"rows_validated": len(df), "failed_expectations": dg.MetadataValue.json(failures)},
    )


@dg.asset_check(asset=client_month, blocking=True, partitions_def=monthly_partitions)
def client_month_expectations(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """great-expectations suite marts.client_month on the month's rows (blocks publishing)."""
    with duckdb.get_connection() as con:
        df = con.execute(
            "SELECT * FROM marts.client_month WHERE month = ?", [context.partition_key]
        ).df()
    return _result(df, client_month_suite)


@dg.asset_check(asset=ticket_facts, blocking=True, partitions_def=monthly_partitions)
def ticket_facts_expectations(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """great-expectations suite marts.ticket_facts on the month's rows."""
    with duckdb.get_connection() as con:
        df = con.execute(
            "SELECT ticket_id, client_id, month, unit_id, is_standard, priority, logged_minutes"
            " FROM marts.ticket_facts WHERE month = ?",
            [context.partition_key],
        ).df()
    return _result(df, ticket_facts_suite)
