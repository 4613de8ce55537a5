"""Run the whole pipeline from the command line through the same Definitions the UI loads."""

import argparse
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator
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
    reports: bool = True,
) -> list[str]:
    """Ingest, then one monthly run per contiguous range of months; return the months with data.

    A range is a single run, as a backfill from the UI is: every monthly asset computes the
    range's months in one step. `reports=False` leaves out the report group.
    """
    from pipelines import definitions, jobs  # imported here so the warning filters above apply

    instance = instance or _instance()
    started = time.perf_counter()
    result = definitions.defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, run_config=_QUIET
    )
    if not result.success:
        raise SystemExit("ingest_job failed")
    months = months or months_with_tickets()
    monthly = definitions.defs.resolve_job_def("monthly_job")
    selection = None if reports else list(
        (jobs.monthly_job.selection - dg.AssetSelection.groups("reports")).resolve(
            definitions.defs.resolve_asset_graph()
        )
    )
    for span, _ in run_months(monthly, instance, months, selection):
        print(f"  {span} done ({time.perf_counter() - started:.1f} s)", flush=True)
    # A ticket moved to a month of this run (a corrected created_at) was counted under its old
    # month, whose marts and reports keep counting it until that month is run again.
    stale = stale_months()
    for span, _ in run_months(monthly, instance, stale, selection):
        print(f"  {span} run again: it counted tickets now staged in another month"
              f" ({time.perf_counter() - started:.1f} s)", flush=True)
    return months_reported()


def stale_months() -> list[str]:
    """Existing partitions whose marts count tickets staged since under another month."""
    from pipelines import definitions

    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT month FROM quality.stale_months ORDER BY 1").fetchall()
    keys = definitions.defs.resolve_job_def("monthly_job").partitions_def.get_partition_keys()
    return [r[0].isoformat() for r in rows if r[0].isoformat() in keys]


def run_months(
    job: dg.JobDefinition, instance: dg.DagsterInstance, months: list[str],
    selection: list[dg.AssetKey] | None = None,
) -> Iterator[tuple[str, dg.ExecuteInProcessResult]]:
    """Run a monthly job once per contiguous range of `months`; yield each span and result."""
    from assets.partitions import month_span

    for first, last in month_ranges(months, job.partitions_def.get_partition_keys()):
        result = job.execute_in_process(
            instance=instance, run_config=_QUIET, asset_selection=selection,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
        )
        span = month_span(first, last)
        if not result.success:
            raise SystemExit(f"{job.name} failed for {span}")
        yield span, result


def months_reported() -> list[str]:
    """Months with client-month rows: the UTC range of the files can add an empty month at an edge."""
    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT month FROM marts.client_month ORDER BY month").fetchall()
    return [r[0].isoformat() for r in rows]


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
    months = run_all(args.month or source_months, reports=not args.no_reports)
    if not months:
        sys.exit(f"no accepted ticket files in {paths.landing_dir()}")
    latest = paths.published_dir() / months[-1][:7] / "index.html"
    print(f"pipeline finished in {time.perf_counter() - started:.1f} s for {len(months)} months")
    print(f"warehouse: {paths.warehouse_path()}")
    if latest.exists():
        print(f"reports:   {latest}")
    if args.mapping:
        print(f"all months: {paths.published_dir()}/<YYYY-MM>/index.html")
    if args.source:
        from adapters.reconcile import write_reconciliation

        print(write_reconciliation(paths.warehouse_path()))


if __name__ == "__main__":
    main()
