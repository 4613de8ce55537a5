"""Client-month marts: volumes, fair use against the plan, peer view, drivers and response times.

Each is one SELECT over the ticket facts in models/marts/<name>.sql, written a month at a time
(orchestration.monthly).
"""

import dagster as dg

from assets.billing import out_of_scope
from assets.facts import ticket_facts
from assets.staging import staging_clients
from orchestration.monthly import monthly_sql_asset

client_month = monthly_sql_asset(
    "client_month",
    description="One row per client and month: tickets, standard units, seats and fair-use status.",
    deps=[
        # Fair use is judged on the rolling window: this month's facts and the two before.
        dg.AssetDep(
            ticket_facts,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-2, end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        ),
        staging_clients,
        out_of_scope,
    ],
    params=lambda run: {"rolling": run.policy.fair_use.rolling_months,
                        "watch_ratio": run.policy.fair_use.watch_ratio,
                        "policy_version": run.policy.version},
    policy_tables=True,
    stats_sql="""SELECT count(*) AS row_count, coalesce(sum(standard_units), 0) AS standard_units,
                        count(*) FILTER (WHERE fair_use_status = 'over') AS clients_over,
                        count(*) FILTER (WHERE fair_use_status = 'watch') AS clients_watch
                 FROM marts.client_month WHERE month = $month""",
    summary="{row_count} client rows for {month} in {seconds:.1f} s",
    run_metadata_of=lambda run: {"policy_version": run.policy.version},
)

client_month_drivers = monthly_sql_asset(
    "client_month_drivers",
    description="What drives each client's volume: top categories and busiest requesters of the month.",
    deps=[ticket_facts],
    params={"top": 5},
    stats_sql="SELECT count(*) AS row_count FROM marts.client_month_drivers WHERE month = $month",
    summary="{row_count} driver rows for {month}",
)

client_month_sla = monthly_sql_asset(
    "client_month_sla",
    description="Response-time compliance per client, month and target priority, with p50/p90 minutes.",
    deps=[ticket_facts],
    stats_sql="""SELECT count(*) AS row_count, coalesce(sum(sla_tickets), 0) AS sla_tickets,
                        coalesce(sum(sla_met), 0) AS sla_met
                 FROM marts.client_month_sla WHERE month = $month""",
    summary="{row_count} SLA rows ({sla_tickets} tickets with a verdict) for {month}",
)
