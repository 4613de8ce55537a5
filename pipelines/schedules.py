"""Schedules: pick up new deliveries daily; publish the previous month on the 1st."""

import os
from datetime import datetime, timedelta

import dagster as dg

from pipelines.jobs import ingest_job, refresh_month_job

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
