"""The one Definitions object that the UI, the CLI, the demo and the tests all load."""

import dagster as dg

from assets import api_sources, billing, calendars, classification, facts, marts, publishing, raw, staging
from data_checks import checks, data_docs
from orchestration.instance import relax_instance_sync
from pipelines.jobs import api_pull_job, ingest_job, monthly_job, refresh_month_job
from pipelines.resources import build_resources
from pipelines.schedules import api_pull_daily, ingest_schedule, monthly_schedule
from pipelines.sensors import landing_sensor

# Every process that loads the code location (runs, the UI, the CLI) writes run events.
relax_instance_sync()

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(
        [api_sources, raw, staging, calendars, classification, facts, billing, marts,
         data_docs, publishing]
    ),
    # Every check, SQL and great-expectations, in one step per asset (data_checks.checks).
    asset_checks=checks.expectation_checks,
    jobs=[ingest_job, monthly_job, refresh_month_job, api_pull_job],
    schedules=[ingest_schedule, monthly_schedule, api_pull_daily],
    sensors=[landing_sensor],
    resources=build_resources(),
    # DuckDB allows one writer: a run's steps execute one after another in one process (and
    # the instance runs one run at a time, see pipelines/dagster.yaml).
    executor=dg.in_process_executor,
)
