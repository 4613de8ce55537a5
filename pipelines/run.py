"""Run the whole pipeline from the command line through the same Definitions the UI loads."""

import argparse
import os
import re
import shlex
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from policy import paths

# Beta/preview notices about Dagster APIs are for developers, not for the person running the demo.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def _instance() -> dg.DagsterInstance:
    # With DAGSTER_HOME set (make demo, make ui) runs are recorded where the UI shows them.
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    Path(home).mkdir(parents=True, exist_ok=True)  # a fresh clone has no instance folder yet
    return dg.DagsterInstance.get()


def months_with_tickets() -> list[str]:
    """Partition keys covered by accepted ticket files, limited to existing partitions."""
    from pipelines import definitions

    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        lo, hi = con.execute(
            "SELECT min(min_month), max(max_month) FROM raw.landing_files"
            " WHERE entity = 'tickets' AND status = 'accepted'"
        ).fetchone()
    if lo is None:
        return []
    keys = definitions.defs.resolve_job_def("monthly_job").partitions_def.get_partition_keys()
    return [k for k in keys if lo.isoformat() <= k <= hi.isoformat()]


# Step-by-step DEBUG lines belong in the UI, not in the terminal of `make demo`.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


# Dagster's tags for a run over a range of partitions (what a single-run backfill launches).
# Set by hand because Dagster 1.13 has no range parameter in its Python API: `materialize`,
# `execute_in_process` and `execute_job` take one partition_key (dagster-io/dagster#14905, open),
# and its own `dagster asset materialize --partition-range` sets these same two tags.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def month_ranges(months: list[str], all_keys: list[str]) -> list[tuple[str, str]]:
    """Contiguous runs of `months` among the partition keys, as (first, last) pairs."""
    position = {key: i for i, key in enumerate(all_keys)}
    ranges: list[tuple[str, str]] = []
    for month in sorted(months, key=position.__getitem__):
        if ranges and position[month] == position[ranges[-1][1]] + 1:
            ranges[-1] = (ranges[-1][0], month)
        else:
            ranges.append((month, month))
    return ranges


def run_all(
    months: list[str] | None = None, instance: dg.DagsterInstance | None = None,
    reports: bool = True, progress: "Progress | None" = None, all_pdfs: bool = False,
    docs: bool = True,
) -> list[str]:
    """Ingest, then one monthly run per contiguous range of months; return the months with data.

    A range is a single run, as a backfill from the UI is: every monthly asset computes the
    range's months in one step. `reports=False` leaves out the report group, and `docs=False`
    the months' Data Docs (for tests that read neither: the checks still run and block); PDFs
    are printed for the latest month only unless `all_pdfs`. Each finished step prints a line
    with the time so far and an estimate of what is left (`progress`).
    """
    from pipelines import definitions  # imported here so the warning filters above apply

    instance = instance or _instance()
    progress = progress or Progress(instance)
    started = time.perf_counter()
    result = definitions.defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, run_config=_QUIET, run_id=progress.watch("ingest_job", [], 0),
    )
    if not result.success:
        raise SystemExit("ingest_job failed")
    months = months or months_with_tickets()
    monthly = definitions.defs.resolve_job_def("monthly_job")
    selection = monthly_selection(reports, docs)
    for span, _ in run_months(monthly, instance, months, selection, progress, all_pdfs):
        print(f"  {span} done ({time.perf_counter() - started:.1f} s)", flush=True)
    # A ticket moved to a month of this run (a corrected created_at) was counted under its old
    # month, whose marts and reports keep counting it until that month is run again.
    stale = stale_months()
    for span, _ in run_months(monthly, instance, stale, selection):
        print(f"  {span} run again: it counted tickets now staged in another month"
              f" ({time.perf_counter() - started:.1f} s)", flush=True)
    return months_reported()


def monthly_selection(reports: bool = True, docs: bool = True) -> list[dg.AssetKey] | None:
    """The monthly job's assets without the report group (`reports=False`) or the months' Data
    Docs (`docs=False`); None for the whole job."""
    from pipelines import definitions, jobs

    if reports and docs:
        return None
    left_out = dg.AssetSelection.assets()
    if not reports:
        left_out |= dg.AssetSelection.groups("reports")
    if not docs:
        left_out |= dg.AssetSelection.assets("data_docs")
    return list((jobs.monthly_job.selection - left_out).resolve(definitions.defs.resolve_asset_graph()))


def stale_months() -> list[str]:
    """Existing partitions whose marts count tickets staged since under another month."""
    from pipelines import definitions

    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT month FROM quality.stale_months ORDER BY 1").fetchall()
    keys = definitions.defs.resolve_job_def("monthly_job").partitions_def.get_partition_keys()
    return [r[0].isoformat() for r in rows if r[0].isoformat() in keys]


def run_months(
    job: dg.JobDefinition, instance: dg.DagsterInstance, months: list[str],
    selection: list[dg.AssetKey] | None = None, progress: "Progress | None" = None,
    all_pdfs: bool = False,
) -> Iterator[tuple[str, dg.ExecuteInProcessResult]]:
    """Run a monthly job once per contiguous range of `months`; yield each span and result.

    Reports get PDFs in the last range's latest month only (every month with `all_pdfs`): a
    backfill's older months are there to be looked up, the newest one is sent.
    """
    from orchestration.partitions import month_span

    ranges = month_ranges(months, job.partitions_def.get_partition_keys())
    keys = job.partitions_def.get_partition_keys()
    sizes = [keys.index(last) - keys.index(first) + 1 for first, last in ranges]
    reports = job.asset_layer.selected_asset_keys if selection is None else set(selection)
    for i, (first, last) in enumerate(ranges):
        run_id = progress.watch(job.name, keys[keys.index(first):keys.index(last) + 1],
                                sum(sizes[i + 1:])) if progress else None
        run_config = _QUIET
        if dg.AssetKey("monthly_reports") in reports:
            pdfs = "all" if all_pdfs else "latest" if i == len(ranges) - 1 else "none"
            run_config = {**_QUIET, "ops": {"monthly_reports": {"config": {"pdfs": pdfs}}}}
        result = job.execute_in_process(
            instance=instance, run_config=run_config, asset_selection=selection, run_id=run_id,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
        )
        span = month_span(first, last)
        if not result.success:
            raise SystemExit(f"{job.name} failed for {span}")
        yield span, result


def _clock(seconds: float) -> str:
    """Seconds as people read a duration: '42 s', '3 min 05 s'."""
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


@dataclass
class _Watched:
    """One run under watch: its plan, what has finished, and the previous run's step times."""

    job: str
    months: list[str]
    later_months: int  # months of the command's later runs, for the estimate
    started: float = field(default_factory=time.perf_counter)
    steps: list[str] = field(default_factory=list)
    done: dict[str, float] = field(default_factory=dict)  # step -> seconds it took
    previous: dict[str, float] = field(default_factory=dict)  # step -> seconds per month
    publishing_since: float | None = None  # when the reports step started
    published: int = 0  # months published so far


# Publishing is a run's longest step on real data (a report per client and month); without a
# previous run to go by, its time is estimated from its own months once the first is published.
_REPORTS_STEP = "monthly_reports"


class Progress:
    """The terminal view of a run: a line per finished step, and per month as reports are published.

    It listens to the events the run writes to the Dagster instance (what the UI shows), so
    Dagster's own logs stay as they are. The estimate of what is left scales the step times of
    the last successful run of the same job on this instance to this run's months (and to how
    fast this run has been so far); without such a run it extrapolates from the finished steps.
    """

    def __init__(self, instance: dg.DagsterInstance, out: Callable[[str], None] | None = None):
        from assets.publishing import PUBLISHED_PREFIX  # after the warning filters above

        self.published_prefix = PUBLISHED_PREFIX
        self.instance = instance
        self.out = out or (lambda line: print(line, flush=True))
        self.started = time.perf_counter()

    def watch(self, job: str, months: list[str], later_months: int) -> str:
        """A run id to launch the run with; its events are followed from the first one."""
        run_id = str(uuid.uuid4())
        watched = _Watched(job, months, later_months, previous=self._previous_step_times(job))
        self.instance.add_event_listener(run_id, lambda event: self._on_event(watched, event))
        return run_id

    def _previous_step_times(self, job: str) -> dict[str, float]:
        """Seconds per month of each step in the last successful run of `job`, if any."""
        runs = self.instance.get_runs(
            filters=dg.RunsFilter(job_name=job, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1)
        if not runs:
            return {}
        tags = runs[0].tags
        months = 1
        if RANGE_START_TAG in tags:
            first, last = tags[RANGE_START_TAG][:7], tags[RANGE_END_TAG][:7]
            months = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1
        return {s.step_key: (s.end_time - s.start_time) / months
                for s in self.instance.get_run_step_stats(runs[0].run_id)
                if s.start_time and s.end_time}

    def _on_event(self, run: _Watched, event: dg.EventLogEntry) -> None:
        if not run.steps and event.is_dagster_event:
            dagster_run = self.instance.get_run_by_id(event.run_id)
            if dagster_run and dagster_run.execution_plan_snapshot_id:
                plan = self.instance.get_execution_plan_snapshot(
                    dagster_run.execution_plan_snapshot_id)
                run.steps = list(plan.step_keys_to_execute) or [s.key for s in plan.steps]
        if event.step_key == _REPORTS_STEP and not event.is_dagster_event and (
            event.user_message.startswith(self.published_prefix)
        ):
            run.published += 1
            self.out(f"    {event.user_message}{self._publishing_estimate(run)}")
            return
        if not event.is_dagster_event or event.step_key is None:
            return
        kind = event.dagster_event_type
        if kind == dg.DagsterEventType.STEP_START and event.step_key == _REPORTS_STEP:
            run.publishing_since = time.perf_counter()
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            run.done[event.step_key] = event.get_dagster_event().event_specific_data.duration_ms / 1000
            self.out(self._line(run, event.step_key))
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self.out(f"  {event.step_key} failed for {self._span(run)}"
                     f" after {_clock(time.perf_counter() - run.started)}")

    @staticmethod
    def _span(run: _Watched) -> str:
        from orchestration.partitions import month_span

        return month_span(run.months[0], run.months[-1]) if run.months else "all files"

    def _line(self, run: _Watched, step: str) -> str:
        total = len(run.steps) or len(run.done)
        left, then_publishing = self._left(run)
        estimate = "" if left is None or left < 1 and not then_publishing else (
            f" · about {_clock(left)} left" + (" before publishing" if then_publishing else ""))
        return (f"  [{len(run.done):>2}/{total}] {self._span(run)} {step:<50}"
                f" {_clock(run.done[step]):>10} · elapsed {_clock(time.perf_counter() - self.started)}"
                f"{estimate}")

    def _left(self, run: _Watched) -> tuple[float | None, bool]:
        """Seconds left for this run and the command's later runs (None when nothing is known),
        and whether that leaves out publishing, which has no estimate yet."""
        remaining = [s for s in run.steps if s not in run.done]
        spent = time.perf_counter() - run.started
        months = max(1, len(run.months))
        then_publishing = False
        if run.previous and all(s in run.previous for s in [*remaining, *run.done]):
            # The previous run's times for this many months, as fast as this run has gone so far.
            expected_done = sum(run.previous[s] for s in run.done) * months
            pace = spent / expected_done if expected_done > 0 else 1.0
            left = sum(run.previous[s] for s in remaining) * months * pace
        elif run.done and run.steps:
            then_publishing = _REPORTS_STEP in remaining
            left = spent / len(run.done) * len([s for s in remaining if s != _REPORTS_STEP])
        else:
            return None, False
        later = 0.0 if then_publishing else (spent + left) / months * run.later_months
        return left + later, then_publishing

    def _publishing_estimate(self, run: _Watched) -> str:
        """' · elapsed .. · about .. left' after a published month: the step's months so far."""
        elapsed = f" · elapsed {_clock(time.perf_counter() - self.started)}"
        if run.publishing_since is None or not run.months:
            return elapsed
        spent = time.perf_counter() - run.publishing_since
        left = spent / run.published * (len(run.months) - run.published)
        run_total = time.perf_counter() - run.started + left
        left += run_total / len(run.months) * run.later_months
        return elapsed + (f" · about {_clock(left)} left" if left >= 1 else "")


def months_reported() -> list[str]:
    """Months with client-month rows: the UTC range of the files can add an empty month at an edge."""
    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT month FROM marts.client_month ORDER BY month").fetchall()
    return [r[0].isoformat() for r in rows]


def missing_pdfs_note(folder: Path, rerun: str = "make run") -> str | None:
    """The closing line when the latest month has client reports but no PDFs: what to run.

    `rerun` is the command that publishes these reports again (a mapping's or source's run
    writes to its own data folder, which `make run` does not read).
    """
    from reports.pdf import unavailable_reason

    if not list(folder.glob("client-*.html")) or list(folder.glob("client-*.pdf")):
        return None
    return f"PDFs:      none printed; {unavailable_reason(rerun) or 'see the run log'}"


def pull(vendors: list[str], instance: dg.DagsterInstance | None = None) -> None:
    """Pull once from each named API source (zendesk, connectwise) into the landing folder."""
    from pipelines import definitions

    job = definitions.defs.resolve_job_def("api_pull_job")
    try:
        result = job.execute_in_process(
            instance=instance or _instance(), run_config=_QUIET, raise_on_error=False,
            asset_selection=[dg.AssetKey(f"{v}_pull") for v in vendors],
        )
    except dg.DagsterInvalidConfigError as exc:  # e.g. a credential variable that is not set
        unset = re.findall(r'environment variable "(\w+)" which is not set', str(exc))
        problem = (f"variables not set: {', '.join(dict.fromkeys(unset))}" if unset
                   else str(exc).splitlines()[0])
        raise SystemExit(f"api pull not started: {problem} (see docs/api-sources.md)") from None
    if not result.success:
        failures = [e.message for e in result.all_events if e.is_failure and e.message]
        raise SystemExit("api pull failed: " + (failures[-1] if failures else "see the run log"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--month", action="append", help="partition key YYYY-MM-01 (repeatable)")
    parser.add_argument("--source", help="adapt a real export first into data/<source>/ (docs/adapters.md)")
    parser.add_argument("--mapping", type=Path,
                        help="a mapping YAML for your own exports, with --input (docs/adapters.md)")
    parser.add_argument("--input", type=Path,
                        help="the folder of the exports --mapping reads (or its tickets file)")
    parser.add_argument("--no-reports", action="store_true", help="compute the marts, publish nothing")
    parser.add_argument("--all-pdfs", action="store_true",
                        help="PDFs for every month, not only the latest (also MSP_ALL_PDFS=1)")
    parser.add_argument("--pull", action="append", choices=["zendesk", "connectwise"],
                        help="pull changes from this API source first (repeatable)")
    parser.add_argument("--pull-only", action="store_true", help="pull, then stop")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.pull:
        pull(args.pull)
        print(f"pulled {', '.join(args.pull)} into {paths.landing_dir() / 'api'}")
        if args.pull_only:
            return
    source_months = None
    if args.mapping or args.input:
        from adapters.mapping import MappingError
        from adapters.run import prepare_mapping, summary

        if not (args.mapping and args.input):
            parser.error("--mapping and --input go together: the mapping YAML and its exports")
        try:
            adapted = prepare_mapping(args.mapping, args.input)
        except (MappingError, FileNotFoundError) as exc:
            sys.exit(f"{exc}\n")
        print(summary(adapted), flush=True)
        source_months = adapted.months
    if args.source:
        from adapters.run import prepare_source, summary

        adapted = prepare_source(args.source)
        print(summary(adapted), flush=True)
        source_months = adapted.months  # only months with tickets: old exports span idle years
    months = run_all(args.month or source_months, reports=not args.no_reports,
                     all_pdfs=args.all_pdfs)
    if not months:
        sys.exit(f"no accepted ticket files in {paths.landing_dir()}")
    latest = paths.published_dir() / months[-1][:7] / "index.html"
    print(f"pipeline finished in {time.perf_counter() - started:.1f} s for {len(months)} months")
    print(f"warehouse: {paths.warehouse_path()}")
    if latest.exists():
        print(f"reports:   {latest}")
        rerun = ("python -m pipelines.run " + shlex.join(sys.argv[1:])
                 if args.mapping or args.source else "make run")
        if note := missing_pdfs_note(latest.parent, rerun):
            print(note)
    if args.mapping:
        print(f"all months: {paths.published_dir()}/<YYYY-MM>/index.html")
    if args.source:
        from adapters.reconcile import write_reconciliation

        print(write_reconciliation(paths.warehouse_path()))


if __name__ == "__main__":
    main()
