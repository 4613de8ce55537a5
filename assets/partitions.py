"""Monthly partitions: a ticket belongs to the month it was created in, in its client's zone."""

import dagster as dg

from policy.paths import partitions_start

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=partitions_start())


def month_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    """The partition's month as an ISO date string (first of month)."""
    return context.partition_key
