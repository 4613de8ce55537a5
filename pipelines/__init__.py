"""The Dagster code location: wiring only (Definitions, resources, jobs, schedules)."""
