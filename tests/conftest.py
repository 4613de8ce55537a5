"""Fixtures: a temporary warehouse, landing and published folder per test, set via environment.

Running the pipeline is what makes tests slow, so: a test publishes reports only when it reads
them (`run_pipeline(months, reports=True)`, or `publish_reports` on a copy of a build), builds
the months' Data Docs only then or when it reads them (`run_all(..., docs=False)` otherwise: a
fifth of a small run's CPU), prints PDFs only when it is about PDFs, and tests that only read a
built provider share one build per session (`builds`, `known_builds`, `known_built`, read
through `use_build`); a test that changes a warehouse starts from a copy of a build
(`copy_build`, `known_copy`). Tests that run the pipeline are marked `slow`: `pytest -m "not
slow"` runs the rest.
"""

import hashlib
import importlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from filelock import FileLock

from tests.builders import known_msp

# `make test`'s scheduling (slow marks, worker groups, order): pytest reads these hooks here.
from tests.scheduling import pytest_collection_modifyitems, pytest_configure  # noqa: F401

# The look-alike modules' tests are defined in tests/dampener_look_alikes.py: pytest rewrites the
# asserts of test modules only, so it is named here for their failures to show the values.
pytest.register_assert_rewrite("tests.dampener_look_alikes")

KNOWN_MONTHS = ("2026-01-01", "2026-02-01", "2026-03-01")
# The instant every build of the known MSP reads its clocks at, so that one build serves the tests
# that need a fixed one (test_operations compares marts between runs) and those that do not: its
# marts are the same as at the time of a run (only the calendars' coverage and load times differ).
KNOWN_AS_OF = "2026-11-20T00:00:00+00:00"
@pytest.fixture(scope="session")
def shipped_calls(request: pytest.FixtureRequest):
    """Every collected module's shipped cases, classified in one call under the shipped policy and
    the built-in bank (`tests.shipped_calls.ShippedCalls`; a module reads `.of(__name__)`)."""
    from policy.config import default_policy
    from tests.shipped_calls import ShippedCalls, declared_cases
    from tests.test_classify import SHIPPED, classify

    cases = declared_cases(item.module for item in request.session.items
                           if getattr(item, "module", None) is not None)
    together = [(f"{name}/{t[0]}", *t[1:]) for name, tickets in cases.items() for t in tickets]
    rows: list = []
    con = duckdb.connect()
    scope, emergency = classify(default_policy(SHIPPED), together, con=con, scope_rows=rows)
    return ShippedCalls(cases, scope, emergency, rows, con)


def _point_at(monkeypatch: pytest.MonkeyPatch, env: dict[str, Path]) -> None:
    # `make test` exports the demo's DAGSTER_HOME: tests record their runs in throw-away instances.
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("MSP_WAREHOUSE", str(env["warehouse"]))
    monkeypatch.setenv("MSP_LANDING", str(env["landing"]))
    monkeypatch.setenv("MSP_PUBLISHED", str(env["published"]))


def paths_under(root: Path) -> dict[str, Path]:
    """The MSP_* paths of a provider kept under `root`."""
    return {"warehouse": root / "warehouse.duckdb", "landing": root / "landing",
            "published": root / "published"}


def no_pdfs(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Publish HTML without printing PDFs (a Chromium that is not there), for tests that read HTML."""
    monkeypatch.setenv("MSP_CHROMIUM", str(root / "no-chromium"))


@pytest.fixture
def msp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point every MSP_* path at tmp_path, as a user would with environment variables."""
    env = paths_under(tmp_path)
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

    Reports (and the Data Docs they link to) are published only with `reports=True` (for a test
    that reads them), and their PDFs printed only with `pdfs=True` as well.
    """
    from pipelines.run import run_all

    def _run(months: list[str] | None = None, reports: bool = False, pdfs: bool = False) -> list[str]:
        if reports and not pdfs:
            no_pdfs(monkeypatch, msp_env["landing"].parent)
        return run_all(months, instance=dg.DagsterInstance.ephemeral(), reports=reports,
                       docs=reports)

    return _run


@pytest.fixture
def query(msp_env: dict[str, Path]):
    """Run a read-only query against the test warehouse and return all rows."""

    def _query(sql: str, params: list | None = None) -> list[tuple]:
        # The warehouse the MSP_* paths point at now: the test's own, or a build it reads.
        with duckdb.connect(os.environ["MSP_WAREHOUSE"], read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    return _query


def _session_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this session that every pytest-xdist worker of it shares."""
    base = tmp_path_factory.getbasetemp()
    # A worker's base is <session>/popen-gwN: its parent is the session's, the same for all.
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-builds"


_OWN_COPIES: dict[str, Path] = {}


def shared_build(tmp_path_factory: pytest.TempPathFactory, name: str, key: object,
                 build: Callable[[Path], object]) -> Path:
    """A folder built once per session by `build(folder)`, whichever xdist worker asks first.

    Built under a file lock into a folder of the session that all workers share, named by `name`
    and a digest of `key` (the build's inputs); left unchanged from then on. Each process gets a
    copy of its own (mtimes kept), so no test of one worker reads a file another is changing,
    and DuckDB's file lock is never shared between processes.
    """
    slug = f"{name}-{hashlib.sha256(repr(key).encode()).hexdigest()[:12]}"
    if slug not in _OWN_COPIES:
        shared = _session_folder(tmp_path_factory)
        shared.mkdir(parents=True, exist_ok=True)
        folder = shared / slug
        done = shared / (slug + ".built")
        with FileLock(shared / (slug + ".lock")):
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
                folder.mkdir()
                build(folder)
                done.touch()
        own = tmp_path_factory.mktemp(slug)
        shutil.copytree(folder, own, symlinks=True, dirs_exist_ok=True)
        _OWN_COPIES[slug] = own
    return _OWN_COPIES[slug]


def _save_events(instance: dg.DagsterInstance, path: Path) -> None:
    """The event logs of an instance's runs, serialized: another process reads them back."""
    path.write_text(dg.serialize_value(
        [entry for run in instance.get_runs() for entry in instance.all_logs(run.run_id)]))


def _load_events(path: Path) -> dg.DagsterInstance:
    """An in-memory instance whose event log holds the events `_save_events` wrote (the runs
    themselves are not restored: the tests read materializations and their metadata)."""
    instance = dg.DagsterInstance.ephemeral()
    for entry in dg.deserialize_value(path.read_text(), list):
        instance.store_event(entry)
    return instance


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict[str, Path]]:
    """Providers built once per session and shared by the tests that only read them.

    `builds(name, write, months, **env)` writes a landing folder with `write(landing)`, runs
    `months` without reports with the extra environment `env` (e.g. MSP_AS_OF), or only
    ingest_job when `months` is empty, and returns the paths; the same name, months and env
    give the same build, also across xdist workers
    (`shared_build`). With `reports=True` the months run as `make demo` runs them: reports, Data
    Docs and the latest month's PDFs. What the run printed is kept in `lines.json` beside the
    warehouse, its events in `events.json` (`build_instance`). Tests must not change a build:
    `copy_build` it into the test's own paths to change and re-run it.
    """

    def _build(name: str, write: Callable[[Path], object], months: tuple[str, ...],
               reports: bool = False, **env: str) -> dict[str, Path]:
        key = (name, tuple(months), tuple(sorted(env.items()))) + (("reports",) if reports else ())

        def run(root: Path) -> None:
            import pipelines.definitions
            from pipelines.run import Progress, run_all

            paths = paths_under(root)
            paths["landing"].mkdir(parents=True)
            write(paths["landing"])
            with pytest.MonkeyPatch.context() as mp:
                _point_at(mp, paths)
                for variable, value in env.items():
                    mp.setenv(variable, value)
                importlib.reload(pipelines.definitions)
                instance = dg.DagsterInstance.ephemeral()
                if months:
                    lines: list[str] = []
                    run_all(list(months), instance=instance, reports=reports, docs=reports,
                            progress=Progress(instance, out=lines.append))
                    (root / "lines.json").write_text(json.dumps(lines))
                else:
                    defs = pipelines.definitions.defs
                    assert defs.resolve_job_def("ingest_job").execute_in_process(
                        instance=instance).success
                _save_events(instance, root / "events.json")
            # Back to the asking test's paths: the Definitions read them when loaded.
            importlib.reload(pipelines.definitions)

        slug = name + "-" + ("-".join(m[:7] for m in months) or "ingest")
        return paths_under(shared_build(tmp_path_factory, slug, key, run))

    return _build


def build_instance(paths: dict[str, Path]) -> dg.DagsterInstance:
    """The events of the Dagster instance a shared build ran in, in an instance of their own."""
    return _load_events(paths["warehouse"].parent / "events.json")


def copy_build(source: dict[str, Path], target: dict[str, Path]) -> dict[str, Path]:
    """Copy a shared build's landing folder and warehouse into a test's own paths.

    The landing files keep their modification times, so the copy's warehouse knows them as read.
    """
    shutil.copytree(source["landing"], target["landing"], dirs_exist_ok=True)
    for file in source["warehouse"].parent.glob(source["warehouse"].name + "*"):
        shutil.copy2(file, target["warehouse"].parent / file.name)
    return target


def use_build(monkeypatch: pytest.MonkeyPatch, paths: dict[str, Path]) -> dict[str, Path]:
    """Point the MSP_* paths (and so `query`) at a shared build, to read it."""
    _point_at(monkeypatch, paths)
    return paths


def publish_reports(paths: dict[str, Path], months: tuple[str, ...], **env: str) -> None:
    """Publish `months` of a built provider (HTML, no PDFs) by running the report group alone on
    the marts already there, for the tests that read reports of a copy of a shared build."""
    import pipelines.definitions
    from pipelines.run import run_months

    with pytest.MonkeyPatch.context() as mp:
        _point_at(mp, paths)
        no_pdfs(mp, paths["landing"].parent)
        for variable, value in env.items():
            mp.setenv(variable, value)
        defs = importlib.reload(pipelines.definitions).defs
        reports = list(dg.AssetSelection.groups("reports").resolve(defs.resolve_asset_graph()))
        list(run_months(defs.resolve_job_def("monthly_job"), dg.DagsterInstance.ephemeral(),
                        list(months), reports))
    importlib.reload(pipelines.definitions)


@pytest.fixture(scope="session")
def known_builds(builds) -> Callable[[tuple[str, ...]], dict]:
    """The known MSP (tests/builders.py) run for some months at `KNOWN_AS_OF` (no months: ingest
    only), once per session for each set of months; returns its paths. Tests must not change it:
    see `known_copy`.

    January to March (`KNOWN_MONTHS`) runs as one backfill that publishes, as `make demo` runs:
    test_run_output reads what it printed and published, test_fair_use its reports, the others
    its warehouse and events (one run instead of a run without reports and another with them).
    The other months run without reports."""

    def _build(months: tuple[str, ...]) -> dict[str, Path]:
        return builds("known", known_msp, tuple(months), reports=tuple(months) == KNOWN_MONTHS,
                      MSP_AS_OF=KNOWN_AS_OF)

    return _build


@pytest.fixture
def known_built(known_builds, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The known MSP built for January to March 2026, shared: the MSP_* paths point at it."""
    env = known_builds(KNOWN_MONTHS)
    _point_at(monkeypatch, env)
    monkeypatch.setenv("MSP_AS_OF", KNOWN_AS_OF)
    return env


@pytest.fixture
def known_copy(known_builds, msp_env: dict[str, Path],
               monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Path]]:
    """Copy the known MSP as built for `months` into this test's paths, to change and re-run it
    at the build's as-of instant (`KNOWN_AS_OF`, set in the environment).

    The landing files keep their modification times, so the copy's warehouse knows them as read.
    """

    def _copy(months: tuple[str, ...] = KNOWN_MONTHS) -> dict[str, Path]:
        monkeypatch.setenv("MSP_AS_OF", KNOWN_AS_OF)
        return copy_build(known_builds(tuple(months)), msp_env)

    return _copy
