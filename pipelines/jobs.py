"""Jobs: ingest (unpartitioned), one month (after ingest), and ingest + one month for automation."""

import dagster as dg

from assets.partitions import monthly_partitions

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
    selection=dg.AssetSelection.all() - ingest_job.selection,
    partitions_def=monthly_partitions,
    description="One month end to end: raw tickets, staging, facts, marts, checks, data docs, reports.",
)

# What the schedule and the landing sensor launch: a run must not rely on another run having
# registered the new files first, so each one ingests (idempotent, skips known files) itself.
refresh_month_job = dg.define_asset_job(
    name="refresh_month_job",
    selection=dg.AssetSelection.all(),
    partitions_def=monthly_partitions,
    description="Register new deliveries, then recompute and publish one month.",
)
