"""Schedules: pick up new deliveries daily; close each month once it is complete."""

import os

import dagster as dg

from pipelines.jobs import api_pull_job, ingest_job, monthly_job

# Deliveries arrive any day; registering and loading them is cheap and idempotent.
ingest_schedule = dg.ScheduleDefinition(
    name="ingest_daily",
    job=ingest_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

# A month is reported once it is over; the 2nd leaves a day for late exports to land.
monthly_schedule = dg.build_schedule_from_partitioned_job(
    monthly_job,
    name="monthly_close",
    day_of_month=2,
    hour_of_day=4,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

# Pull what changed in the connected APIs an hour before the daily ingest picks it up; only the
# sources whose credentials are set (docs/api-sources.md). Each run fetches only changes.
_API_CREDENTIAL = {"zendesk": "ZENDESK_API_TOKEN", "connectwise": "CONNECTWISE_PRIVATE_KEY"}


@dg.schedule(job=api_pull_job, cron_schedule="0 1 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def api_pull_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Daily pull from every connected API source."""
    vendors = [v for v, var in _API_CREDENTIAL.items() if os.environ.get(var)]
    if not vendors:
        return dg.SkipReason("no API source connected: set ZENDESK_* or CONNECTWISE_* variables")
    return dg.RunRequest(asset_selection=[dg.AssetKey(f"{v}_pull") for v in vendors])
