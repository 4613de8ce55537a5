"""Jobs: ingest (unpartitioned), one month (after ingest), and ingest + one month for automation."""

import dagster as dg

from orchestration.partitions import monthly_partitions

# Files, contracts, events and time entries are loaded per delivered file, not per month.
ingest_job = dg.define_asset_job(
    name="ingest_job",
    selection=dg.AssetSelection.groups("raw", "staging") - dg.AssetSelection.assets(
        "raw_tickets", "staging_tickets", "staging_ticket_events", "staging_time_entries"
    ),
    description="Register landing files; load contracts, events, time entries and reviews.",
)

# One month from raw tickets to published reports; re-run it to recompute a month.
monthly_job = dg.define_asset_job(
    name="monthly_job",
    selection=dg.AssetSelection.all() - ingest_job.selection - dg.AssetSelection.groups("api"),
    partitions_def=monthly_partitions,
    description="One month end to end: raw tickets, staging, facts, marts, checks, data docs, reports.",
)

# What the schedule and the landing sensor launch: a run must not rely on another run having
# registered the new files first, so each one ingests (idempotent, skips known files) itself.
refresh_month_job = dg.define_asset_job(
    name="refresh_month_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("api"),
    partitions_def=monthly_partitions,
    description="Register new deliveries, then recompute and publish one month.",
)

# Pull what changed in the connected helpdesk/PSA APIs into the landing folder (docs/api-sources.md).
api_pull_job = dg.define_asset_job(
    name="api_pull_job",
    selection=dg.AssetSelection.groups("api"),
    description="Pull changed tickets from the connected APIs and deliver them as landing files.",
    # dlt opens the warehouse file itself: one pull at a time, never two writers.
    executor_def=dg.in_process_executor,
)
