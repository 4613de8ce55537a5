"""The one Definitions object that the UI, the CLI, the demo and the tests all load."""

import dagster as dg

from assets import (
    api_sources,
    billing,
    calendars,
    classification,
    facts,
    landing,
    marts,
    publishing,
    raw,
    staging,
)
from data_checks import checks
from pipelines.jobs import api_pull_job, ingest_job, monthly_job
from pipelines.resources import build_resources
from pipelines.schedules import api_pull_daily, ingest_schedule, monthly_schedule

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(
        [api_sources, landing, raw, staging, calendars, classification, facts, billing, marts, publishing]
    ),
    asset_checks=dg.load_asset_checks_from_modules([raw, staging, facts, billing, marts, checks]),
    jobs=[ingest_job, monthly_job, api_pull_job],
    schedules=[ingest_schedule, monthly_schedule, api_pull_daily],
    resources=build_resources(),
)
