"""Schedules: pick up new deliveries daily; close each month once it is complete."""

import dagster as dg

from pipelines.jobs import ingest_job, monthly_job

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
