"""Schedules: pick up new deliveries daily; publish the previous month on the 1st."""

import os

import dagster as dg

from pipelines.jobs import api_pull_job, ingest_job, refresh_month_job
from policy.paths import operator_tz

# The operator's zone decides when "the 1st" is; an IANA name, e.g. Europe/London.
OPERATOR_TZ = operator_tz()

# Deliveries arrive any day; registering and loading them is cheap and idempotent.
ingest_schedule = dg.ScheduleDefinition(
    name="ingest_daily",
    job=ingest_job,
    cron_schedule="0 2 * * *",
    execution_timezone=OPERATOR_TZ,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


# The partitions' own schedule: Dagster requests the month that has just ended (in the
# partitions' zone, the operator's), with the partition key as run key, so a retried tick never
# runs a month twice, and nothing before MSP_PARTITIONS_START. 06:00 on the 1st: late-evening
# tickets of the last day in zones west of the operator's, and the overnight exports, have landed.
monthly_schedule = dg.build_schedule_from_partitioned_job(
    refresh_month_job,
    name="monthly_close",
    description="On the 1st (operator's zone, MSP_OPERATOR_TZ): ingest and publish last month.",
    day_of_month=1,
    hour_of_day=6,
    minute_of_hour=0,
    tags={"msp/trigger": "monthly_close"},
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
