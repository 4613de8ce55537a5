"""Resources per environment; every path has an embedded default under data/ and an env override."""

from __future__ import annotations

from assets.api_sources import api_resources
from orchestration.resources import PipelineSettings, WarehouseResource
from policy import paths


def build_resources() -> dict[str, object]:
    """Resources for the environment described by MSP_* variables (read when called)."""
    warehouse = paths.warehouse_path()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return {
        # One writer at a time: DuckDB allows a single read-write process per file, and a
        # run's process holds the file open from its first step to its end.
        "duckdb": WarehouseResource(database=str(warehouse)),
        "settings": PipelineSettings(
            landing_dir=str(paths.landing_dir()),
            published_dir=str(paths.published_dir()),
            policy_file=str(paths.policy_file()),
            as_of=paths.as_of(),
        ),
        **api_resources(),
    }
