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

KNOWN_MONTHS = ("2026-01-01", "2026-02-01", "2026-03-01")
# The instant every build of the known MSP reads its clocks at, so that one build serves the tests
# that need a fixed one (test_operations compares marts between runs) and those that do not: its
# marts are the same as at the time of a run (only the calendars' coverage and load times differ).
KNOWN_AS_OF = "2026-11-20T00:00:00+00:00"
# Fixtures that run the pipeline: a test asking for one is end to end, and marked slow. Besides
# this file's, the provider fixtures of the modules that build one at module scope.
E2E_FIXTURES = {
    "run_pipeline", "builds", "ops_env",  # this file (known_built, known_copy...), test_operations
    "demo", "dirty", "built", "known", "hostile", "catalogue", "real_runs",  # module builds
    "msp", "month", "editions",  # test_report_*, test_browser: providers built with tests/report_msp
    "browser",  # test_browser: a headless Chromium
    "backfill",  # test_run_output: the known MSP's three months as one run that publishes
    "published",  # test_fair_use: the reports that run published
}
# Tests that run the pipeline without such a fixture (a subprocess, generated deliveries, a run
# of their own), or are slow for another reason, by node id prefix.
SLOW_TESTS = ("tests/test_mappings.py::test_example_mapping_publishes_from_its_example_export",
             "tests/test_hostile_", "tests/test_sla.py", "tests/test_api_files_vs_api.py",
             "tests/test_run_output.py::test_an_export_without_event_dates",
             # Not end to end but seconds each on 2 cores: property tests checked against a walk
             # minute by minute, and classifications that embed texts under a policy of their own.
             "tests/test_business_time.py::test_business_minutes_match_the_minute_walk",
             "tests/test_business_time.py::test_next_opening_matches_the_minute_walk",
             "tests/test_business_time.py::test_night_hours_on_change_nights_match_the_minute_walk",
             "tests/test_business_time.py::test_always_open_equals_real_elapsed_minutes",
             "tests/test_classify.py::test_thresholds_come_from_the_config",
             "tests/test_classify.py::test_terms_come_from_the_config",
             "tests/test_classify.py::test_semantic_veto_lowers_a_rule_call",
             "tests/test_classify.py::test_semantic_vote_names_the_nearest_exemplar",
             "tests/test_classify.py::test_call_states_follow_the_configured_bands",
             "tests/test_classify.py::test_demo_ground_truth_evaluates",
             "tests/test_classify.py::test_labelled_evaluation_meets_targets",
             "tests/test_classify.py::test_review_decision_changes_the_call_on_a_similar_ticket",
             "tests/test_classify.py::test_above_the_text_budget_only_uncertain_texts_are_embedded",
             # The slowest of `-m "not slow"` (5 to 27 s each on a loaded 2-core machine): each
             # runs the rule SQL two to four times under policies or banks of its own.
             "tests/test_classify.py::test_a_batch_scored_with_itself_out_of_the_bank",
             "tests/test_classify.py::test_learning_curve_records_a_batch_once",
             "tests/test_classify.py::test_a_visit_asked_for_but_only_remote_work_logged",
             "tests/test_classify_round6.py::test_a_rule_call_the_neighbours_disagree_with",
             "tests/test_classify_round6.py::test_a_declaration_",
             "tests/test_classify_round6.py::test_a_call_at_0_6_the_vote_does_not_hold",
             "tests/test_classify_learned.py::test_a_learned_model_flips_a_call",
             "tests/test_classify_learned.py::test_learned_calls_",
             "tests/test_semantic_blocks.py::test_votes_do_not_depend_on_blocks_cache",
             "tests/test_semantic_blocks.py::test_a_block_of_similarities_is_bounded",
             # Added since (2026-12-04): 2-6 s of CPU each in a whole run, 46 of the 99 s the
             # tests of `-m "not slow"` took there (make test-fast had grown to 2 min).
             "tests/test_calibration.py::test_the_map_changes_states_and_shown_confidence",
             "tests/test_calibration.py::test_a_raw_0_85_scope_call_needs_review",
             "tests/test_calibration.py::test_a_call_on_the_vote_alone_is_never_confident",
             "tests/test_scope_match_store.py::test_stored_matches_are_the_rules_own",
             "tests/test_scope_match_store.py::test_other_rules_do_not_read_the_stored_matches",
             "tests/test_classify_round14.py::",
             "tests/test_classify_round15.py::test_the_chain_lifts_structured_project_work",
             "tests/test_classify_round12.py::test_review_only_keeps_a_call_made_by_the_word_model",
             "tests/test_emergency_model.py::test_round_15_a_rule_call_on_routine_text",
             "tests/test_emergency_model.py::test_the_signal_raises_a_terse_incident",
             "tests/test_emergency_model.py::test_a_notice_field_state_raises_an_unseen",
             "tests/test_emergency_model.py::test_the_signal_holds_an_over_declared",
             "tests/test_adapters.py::test_servicenow_variants_give_the_same_canonical_files",
             "tests/test_operations.py::test_monthly_close_publishes_the_previous_month",
             # 2026-12-05 (t7): 8 s of CPU, 3000 texts voted twice; the cone's bound it rests on
             # stays in `-m "not slow"` (test_a_cone_bounds_its_members).
             "tests/test_semantic_prune.py::test_votes_with_cones_are_the_votes_of_whole_rows",
             # 2026-12-05 (t10): the two costliest of `-m "not slow"` in a whole run (9.9 and 6.3 s
             # of CPU at load 19, of 125 s): the run's cones' twin of the test above, and a range's
             # votes against each month's (test_a_range_classifies... is slow already).
             "tests/test_semantic_prune.py::test_votes_with_a_runs_cones_are_the_votes_of_whole_rows",
             "tests/test_classify_range.py::test_one_statement_for_a_range_gives_each_month_its_own_votes")
# The longest work units of `make test` (a module's group, or one test), longest first, from the
# durations of a whole run on 2 workers (2026-12-04, 18:34, load 6-15: seconds of wall in brackets):
# they start first, so that the quick tests fill in at the end instead of one long test running
# alone on one worker while the other has nothing left; the first two go to different workers.
# test_publish and test_demo read the demo test_browser builds (under a file lock): not side by side.
LONGEST_FIRST = ("tests/test_browser.py",  # one group (237)
                 "tests/test_expectations.py",  # (192)
                 "tests/test_operations.py::test_two_runs_started_together",  # (160)
                 "tests/test_adapters.py::test_servicenow_log_end_to_end",  # its group (103)
                 "tests/test_run_output.py::test_a_backfill",  # its group (72)
                 "tests/test_operations.py::test_a_run_killed_mid_way",  # (58)
                 "tests/test_api_files_vs_api.py",  # (53)
                 "tests/test_report_invoicing.py",  # (52)
                 "tests/test_classify_range.py::test_a_range_classifies",  # (45)
                 "tests/test_mappings.py::test_example_mapping_publishes",  # (41 for halopsa)
                 "tests/test_sla.py::test_events_after_the_as_of_instant",  # (41)
                 "tests/test_publish.py",  # its group (61, of it 29 waiting for the demo build)
                 "tests/test_operations.py::test_a_backfill_is_one_run",  # (36)
                 "tests/test_ingest.py::test_rerun_and_redelivered_file_add_nothing",  # (36)
                 "tests/test_report_currency.py",  # (35)
                 "tests/test_semantic_blocks.py::test_a_block_of_similarities",  # (34)
                 "tests/test_hostile_generative.py")  # (30)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs the pipeline end to end (a built provider or a real public export),"
        " a browser, or takes seconds of CPU on its own; `make test` runs these,"
        " `pytest -m 'not slow'` leaves them out")
    # One month at a time: on 2 shared cores, months side by side and the GX worker processes
    # they start cost more than they save on test-sized data. The tests of that path set it to 2.
    os.environ.setdefault("MSP_MONTH_WORKERS", "1")
    # xdist hands out groups in the order `_longest_first` gives, not by their number of tests.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    config.pluginmanager.register(_GroupIds(), "msp-loadgroup-ids")


class _GroupIds:
    """Give the tests marked `xdist_group` the `<nodeid>@<group>` ids `--dist loadgroup` groups by.

    pytest-xdist 3.8 writes them into `item._nodeid`, which pytest 9.2 no longer reads (its node
    ids are structured), so without this `make test` silently grouped nothing and each worker
    built a module's provider again (pytest-dev/pytest-xdist#1386; the fix, #1388, is unreleased).
    """

    @pytest.hookimpl(trylast=True)  # after xdist's own hook, on each worker
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        try:
            from _pytest.nodeid import NodeId
        except ImportError:  # pytest before 9.2: xdist's own renaming works
            return
        if not getattr(config.option, "loadgroup", False):
            return
        for item in items:
            groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                             for m in item.iter_markers("xdist_group")})
            suffix = f"@{'_'.join(groups)}"  # a parameter id may hold an "@" of its own
            if groups and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
                item._id = NodeId.parse(f"{item.nodeid}{suffix}")


# The session's one classification of every module's `shipped_cases()` (tests/shipped_calls.py):
# the tests that read it run on one worker (`--dist loadgroup`), which classifies them once.
SHIPPED_GROUP = "shipped-classification"


@pytest.fixture(scope="session")
def shipped_calls(request: pytest.FixtureRequest):
    """Every collected module's shipped cases, classified in one call under the shipped policy and
    the built-in bank (`tests.shipped_calls.ShippedCalls`; a module reads `.of(__name__)`)."""
    from policy.config import load_policy
    from tests.shipped_calls import ShippedCalls, declared_cases
    from tests.test_classify import SHIPPED, classify

    cases = declared_cases(item.module for item in request.session.items
                           if getattr(item, "module", None) is not None)
    together = [(f"{name}/{t[0]}", *t[1:]) for name, tickets in cases.items() for t in tickets]
    rows: list = []
    con = duckdb.connect()
    scope, emergency = classify(load_policy(SHIPPED), together, con=con, scope_rows=rows)
    return ShippedCalls(cases, scope, emergency, rows, con)


# Module-scoped classifications of several tests' cases at once (test_classify's and round 6's and 8's
# `shipped`, round 6's `rules_only`, round 8's `disagreeing`, round 14's `prepared` votes and
# reading): grouped like a module's build, so that `--dist loadgroup` runs them once, not once on
# each worker.
SHARED_CLASSIFICATIONS = {"shipped", "rules_only", "disagreeing", "prepared",
                          "rules_read_ahead"}  # round 21's and 22's one-ticket rules, read at once


def _module_build(item: pytest.Item) -> bool:
    """Whether the test reads a provider its module builds once (a module-scoped fixture), or a
    classification its module makes once for several tests (`SHARED_CLASSIFICATIONS`)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(definition.scope == "module"
               for name in (E2E_FIXTURES | SHARED_CLASSIFICATIONS) & set(info.names_closure)
               for definition in info.name2fixturedefs.get(name, ()))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (E2E_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.nodeid.startswith(SLOW_TESTS)):
            item.add_marker(pytest.mark.slow)
        # With `-n 2 --dist loadgroup` (make test), a module's tests that share its build run
        # on one worker, which builds it once; the other tests go wherever a worker is free.
        if "shipped_calls" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(SHIPPED_GROUP))
        elif _module_build(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    _longest_first(items)


def _longest_first(items: list[pytest.Item]) -> None:
    """Order the tests as xdist hands them out: the LONGEST_FIRST units, then the other slow
    ones, then the rest, each part by its units' number of tests (the order xdist would give
    them); a group's tests stay together, in their own order."""
    def group(item: pytest.Item) -> str:
        marker = item.get_closest_marker("xdist_group")
        return marker.args[0] if marker else item.nodeid

    def rank(item: pytest.Item) -> int:
        known = [i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)]
        return known[0] if known else len(LONGEST_FIRST) + (item.get_closest_marker("slow") is None)

    ranks: dict[str, int] = {}
    first: dict[str, int] = {}
    size: dict[str, int] = {}
    for position, item in enumerate(items):
        unit = group(item)
        ranks[unit] = min(ranks.get(unit, rank(item)), rank(item))
        first.setdefault(unit, position)
        size[unit] = size.get(unit, 0) + 1
    position = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (ranks[group(item)], -size[group(item)], first[group(item)],
                                 position[id(item)]))


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
