"""Fixtures: a temporary warehouse, landing and published folder per test, set via environment.

Running the pipeline is what makes tests slow, so: a test publishes reports only when it reads
them (`run_pipeline(months, reports=True)`), prints PDFs only when it is about PDFs, and tests that
only read a built provider share one build per session (`known_built`); a test that changes a
warehouse starts from a copy of a build (`known_copy`). Tests that run the pipeline are marked
`slow`: `pytest -m "not slow"` runs the rest.
"""

import importlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.builders import known_msp

KNOWN_MONTHS = ("2026-01-01", "2026-02-01", "2026-03-01")
# The Dagster instance each known build ran in (in memory), for the tests that read its events.
KNOWN_INSTANCES: dict[tuple[str, ...], dg.DagsterInstance] = {}
# Fixtures that run the pipeline: a test asking for one is end to end, and marked slow. Besides
# this file's, the provider fixtures of the modules that build one at module scope.
E2E_FIXTURES = {
    "run_pipeline", "known_built", "known_copy", "ops_env",  # this file, test_operations
    "demo", "dirty", "built", "known", "hostile", "catalogue", "real_runs",  # module builds
}
# Tests that run the pipeline without such a fixture (a subprocess, generated deliveries), by
# node id prefix, until their modules mark them themselves.
E2E_TESTS = ("tests/test_mappings.py::test_example_mapping_publishes_from_its_example_export",
             "tests/test_hostile_")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs the pipeline end to end (a built provider or a real public export);"
        " `make test` runs these, `pytest -m 'not slow'` leaves them out")
    # One month at a time: on 2 shared cores, months side by side and the GX worker processes
    # they start cost more than they save on test-sized data. The tests of that path set it to 2.
    os.environ.setdefault("MSP_MONTH_WORKERS", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (E2E_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.nodeid.startswith(E2E_TESTS)):
            item.add_marker(pytest.mark.slow)


def _point_at(monkeypatch: pytest.MonkeyPatch, env: dict[str, Path]) -> None:
    # `make test` exports the demo's DAGSTER_HOME: tests record their runs in throw-away instances.
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("MSP_WAREHOUSE", str(env["warehouse"]))
    monkeypatch.setenv("MSP_LANDING", str(env["landing"]))
    monkeypatch.setenv("MSP_PUBLISHED", str(env["published"]))


def _paths(root: Path) -> dict[str, Path]:
    return {"warehouse": root / "warehouse.duckdb", "landing": root / "landing",
            "published": root / "published"}


def no_pdfs(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Publish HTML without printing PDFs (a Chromium that is not there), for tests that read HTML."""
    monkeypatch.setenv("MSP_CHROMIUM", str(root / "no-chromium"))


@pytest.fixture
def msp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point every MSP_* path at tmp_path, as a user would with environment variables."""
    env = _paths(tmp_path)
    env["landing"].mkdir()
    _point_at(monkeypatch, env)
    return env


@pytest.fixture
def defs(msp_env: dict[str, Path]) -> dg.Definitions:
    """The project's real Definitions, rebuilt so that its resources read this test's paths."""
    import pipelines.definitions

    return importlib.reload(pipelines.definitions).defs


@pytest.fixture
def run_pipeline(defs: dg.Definitions, msp_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    """Run ingest and then the monthly job for the given months, as `make demo` does.

    Reports are published only with `reports=True` (for a test that reads them), and their PDFs
    printed only with `pdfs=True` as well.
    """
    from pipelines.run import run_all

    def _run(months: list[str] | None = None, reports: bool = False, pdfs: bool = False) -> list[str]:
        if reports and not pdfs:
            no_pdfs(monkeypatch, msp_env["landing"].parent)
        return run_all(months, instance=dg.DagsterInstance.ephemeral(), reports=reports)

    return _run


@pytest.fixture
def query(msp_env: dict[str, Path]):
    """Run a read-only query against the test warehouse and return all rows."""

    def _query(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(msp_env["warehouse"]), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    return _query


@pytest.fixture(scope="session")
def known_builds(tmp_path_factory: pytest.TempPathFactory) -> Callable[[tuple[str, ...]], dict]:
    """The known MSP (tests/builders.py) run without reports for some months, once per session
    for each set of months; returns its paths. Tests must not change it: see `known_copy`."""
    built: dict[tuple[str, ...], dict[str, Path]] = {}

    def _build(months: tuple[str, ...]) -> dict[str, Path]:
        if months not in built:
            import pipelines.definitions
            from pipelines.run import run_all

            env = _paths(tmp_path_factory.mktemp("known-" + "-".join(m[:7] for m in months)))
            known_msp(env["landing"])
            with pytest.MonkeyPatch.context() as mp:
                _point_at(mp, env)
                importlib.reload(pipelines.definitions)
                instance = dg.DagsterInstance.ephemeral()
                run_all(list(months), instance=instance, reports=False)
                KNOWN_INSTANCES[months] = instance
            # Back to the asking test's paths: the Definitions read them when loaded.
            importlib.reload(pipelines.definitions)
            built[months] = env
        return built[months]

    return _build


@pytest.fixture
def known_built(known_builds, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The known MSP built for January to March 2026, shared: the MSP_* paths point at it."""
    env = known_builds(KNOWN_MONTHS)
    _point_at(monkeypatch, env)
    return env


@pytest.fixture
def known_copy(known_builds, msp_env: dict[str, Path]) -> Callable[..., dict[str, Path]]:
    """Copy the known MSP as built for `months` into this test's paths, to change and re-run it.

    The landing files keep their modification times, so the copy's warehouse knows them as read.
    """

    def _copy(months: tuple[str, ...] = KNOWN_MONTHS) -> dict[str, Path]:
        source = known_builds(tuple(months))
        shutil.copytree(source["landing"], msp_env["landing"], dirs_exist_ok=True)
        for file in source["warehouse"].parent.glob(source["warehouse"].name + "*"):
            shutil.copy2(file, msp_env["warehouse"].parent / file.name)
        return msp_env

    return _copy
