"""Where things live: embedded defaults under the git-ignored data/ folder, each overridable."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def warehouse_path() -> Path:
    """The DuckDB warehouse file (MSP_WAREHOUSE)."""
    return _path("MSP_WAREHOUSE", PROJECT_ROOT / "data" / "warehouse.duckdb")


def landing_dir() -> Path:
    """The landing folder that delivered files are dropped into (MSP_LANDING)."""
    return _path("MSP_LANDING", PROJECT_ROOT / "data" / "landing")


def published_dir() -> Path:
    """The root of published reports; a folder per month below it (MSP_PUBLISHED)."""
    return _path("MSP_PUBLISHED", PROJECT_ROOT / "data" / "published")


def policy_file() -> Path:
    """The versioned policy config (MSP_POLICY)."""
    return _path("MSP_POLICY", PROJECT_ROOT / "config" / "policy.yaml")


def partitions_start() -> str:
    """First month of the monthly partitions (MSP_PARTITIONS_START, YYYY-MM-01)."""
    return os.environ.get("MSP_PARTITIONS_START", "2024-01-01")


def as_of() -> str:
    """The instant the SLA clock is read at (MSP_AS_OF, ISO 8601); empty = the time of the run."""
    return os.environ.get("MSP_AS_OF", "")


def operator_tz() -> str:
    """The operator's zone (MSP_OPERATOR_TZ, IANA name): when a month is over and the schedules run."""
    return os.environ.get("MSP_OPERATOR_TZ", "UTC")
