"""Fixtures: a temporary warehouse, landing and published folder per test, set via environment."""

import importlib
from pathlib import Path

import dagster as dg
import duckdb
import pytest


@pytest.fixture
def msp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point every MSP_* path at tmp_path, as a user would with environment variables."""
    env = {
        "warehouse": tmp_path / "warehouse.duckdb",
        "landing": tmp_path / "landing",
        "published": tmp_path / "published",
    }
    env["landing"].mkdir()
    # `make test` exports the demo's DAGSTER_HOME: tests record their runs in throw-away instances.
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("MSP_WAREHOUSE", str(env["warehouse"]))
    monkeypatch.setenv("MSP_LANDING", str(env["landing"]))
    monkeypatch.setenv("MSP_PUBLISHED", str(env["published"]))
    return env


@pytest.fixture
def defs(msp_env: dict[str, Path]) -> dg.Definitions:
    """The project's real Definitions, rebuilt so that its resources read this test's paths."""
    import pipelines.definitions

    return importlib.reload(pipelines.definitions).defs


@pytest.fixture
def run_pipeline(defs: dg.Definitions):
    """Run ingest and then the monthly job for the given months, as `make demo` does."""
    from pipelines.run import run_all

    def _run(months: list[str] | None = None) -> list[str]:
        return run_all(months, instance=dg.DagsterInstance.ephemeral())

    return _run


@pytest.fixture
def query(msp_env: dict[str, Path]):
    """Run a read-only query against the test warehouse and return all rows."""

    def _query(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(msp_env["warehouse"]), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    return _query


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a real public export end to end (minutes); runs in make test")
