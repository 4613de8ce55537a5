"""Schedules: pick up new deliveries daily; publish the previous month on the 1st."""

import os
from datetime import datetime, timedelta

import dagster as dg

from pipelines.jobs import api_pull_job, ingest_job, refresh_month_job

# The operator's zone decides when "the 1st" is; an IANA name, e.g. Europe/London.
OPERATOR_TZ = os.environ.get("MSP_OPERATOR_TZ", "UTC")
# 06:00 on the 1st: late-evening tickets of the last day in zones west of the operator's, and
# the overnight exports, have landed by then.
CLOSE_CRON = "0 6 1 * *"

# Deliveries arrive any day; registering and loading them is cheap and idempotent.
ingest_schedule = dg.ScheduleDefinition(
    name="ingest_daily",
    job=ingest_job,
    cron_schedule="0 2 * * *",
    execution_timezone=OPERATOR_TZ,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def previous_month(moment: datetime) -> str:
    """Partition key (YYYY-MM-01) of the month before the one `moment` falls in."""
    return (moment.replace(day=1) - timedelta(days=1)).replace(day=1).date().isoformat()


@dg.schedule(
    name="monthly_close",
    job=refresh_month_job,
    cron_schedule=CLOSE_CRON,
    execution_timezone=OPERATOR_TZ,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="On the 1st (operator's zone, MSP_OPERATOR_TZ): ingest and publish last month.",
)
def monthly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Request the previous month's partition once (the run key makes a retried tick a no-op)."""
    month = previous_month(context.scheduled_execution_time)
    partitions = refresh_month_job.partitions_def
    if month not in partitions.get_partition_keys(current_time=context.scheduled_execution_time):
        # Before MSP_PARTITIONS_START, or (zones east of UTC) not yet over in UTC.
        return dg.SkipReason(f"{month[:7]} is not a partition (yet)")
    return dg.RunRequest(run_key=f"monthly_close:{month}", partition_key=month,
                         tags={"msp/trigger": "monthly_close"})

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
