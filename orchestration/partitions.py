"""Monthly partitions: a ticket belongs to the month it was created in, in its client's zone.

A run covers one month or a contiguous range of months (a backfill is a single run). A month stays
the unit of every write (delete-then-insert of its rows), so a run over a range gives the marts a
run per month would, and each monthly asset works through the range's months itself.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from policy import paths
from policy.paths import partitions_start
from warehouse.concurrency import month_workers, side_by_side
from warehouse.schema import ensure_warehouse, prepare_session

# A month is over, and the monthly close may run, when it is over in the operator's zone
# (MSP_OPERATOR_TZ); the key is only the month's label: tickets are placed in months in their
# client's zone by staging.
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=partitions_start(),
                                                    timezone=paths.operator_tz())

# One run for a backfill of any length: the Dagster overhead of a step (and of opening the
# warehouse) is paid once per asset, not once per asset and month.
single_run = dg.BackfillPolicy.single_run()


def month_span(first: str, last: str) -> str:
    """A range of month keys as people read it: '2026-02', or '2026-01 to 2026-03'."""
    return first[:7] if first == last else f"{first[:7]} to {last[:7]}"


@dataclass
class MonthResult:
    """What one month of a step produced: figures for the metadata and a line for the log."""

    metadata: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


def for_each_month(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
    duckdb_resource: DuckDBResource,
    work: Callable[[duckdb.DuckDBPyConnection, str], MonthResult],
    *,
    concurrent: bool = True,
    prepare: Callable[[duckdb.DuckDBPyConnection, list[str]], None] | None = None,
    ensure: bool = True,
    preface: Sequence[str] = (),
) -> dict[str, MonthResult]:
    """Run `work(con, month)` for every month of the run, in month order of the result.

    `concurrent=False` for steps whose months read or delete each other's rows: the months then
    run in order on one connection, and `prepare(con, months)` may first build temp tables for
    the whole range in one pass. The warehouse schema is ensured once, before any month starts:
    DDL from two connections at once would conflict. Checks pass `ensure=False`: they read what
    their asset wrote, and a damaged table must fail the check, not the schema's views.
    The months' log lines are written from this thread, as one event, after the step's own
    `preface` lines (what it did before the months).
    """
    months = list(context.partition_keys)
    if prepare is not None and concurrent:
        raise ValueError("prepare needs concurrent=False: temp tables belong to one connection")

    def one(con: duckdb.DuckDBPyConnection, month: str) -> MonthResult:
        try:
            return work(con, month)
        except Exception as exc:
            exc.add_note(f"while computing month {month[:7]}")
            raise

    workers = min(month_workers(), len(months)) if concurrent else 1
    with duckdb_resource.get_connection() as con:
        (ensure_warehouse if ensure else prepare_session)(con)
        if workers <= 1:
            if prepare is not None:
                prepare(con, months)
            results = {month: one(con, month) for month in months}
    if workers > 1:
        results = dict(zip(months, side_by_side(duckdb_resource, months, one), strict=True))
    _log_lines(context, [*preface, *(result.summary for result in results.values())])
    record_per_month(context, results)
    return results


def _log_lines(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
               lines: Sequence[str]) -> None:
    """The step's lines as one log event (each event is a write to the run's event log, two
    connections to its SQLite file; a year's run has about ten monthly steps)."""
    lines = [line for line in lines if line]
    if lines:
        context.log.info("\n".join(lines))


def for_the_range(
    context: dg.AssetExecutionContext,
    duckdb_resource: DuckDBResource,
    work: Callable[[duckdb.DuckDBPyConnection, list[str]], dict[str, MonthResult]],
) -> dict[str, MonthResult]:
    """Run `work(con, months)` once for all months of the run: set-based over the range.

    For steps whose months read or delete each other's rows and whose statements each cover
    every month (one statement over the range keeps both cores busy where a month's rows fit in
    one of DuckDB's row groups). `work` returns each month's result, logged and recorded per
    month as for_each_month does (one log event). The warehouse schema is ensured first.
    """
    months = list(context.partition_keys)
    with duckdb_resource.get_connection() as con:
        ensure_warehouse(con)
        try:
            results = work(con, months)
        except Exception as exc:
            exc.add_note(f"while computing months {month_span(months[0], months[-1])}")
            raise
    results = {month: results[month] for month in months}
    _log_lines(context, [result.summary for result in results.values()])
    record_per_month(context, results)
    return results


def record_per_month(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, results: dict[str, MonthResult],
) -> None:
    """Give each month's materialization its own figures when a run covers several months.

    Dagster records one materialization per partition of a range run; the metadata added for a
    partition wins over the run's totals (`run_metadata`), so each month shows its own rows.
    """
    if not isinstance(context, dg.AssetExecutionContext) or len(results) < 2:
        return
    if len(context.assets_def.keys) != 1:
        return  # a multi-asset's figures belong to no one key
    for month, result in results.items():
        if result.metadata:
            context.add_asset_metadata(_metadata_values(result.metadata), partition_key=month)


def _metadata_values(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: dg.MetadataValue.json(v) if isinstance(v, list) else v for k, v in metadata.items()}


def run_metadata(results: dict[str, MonthResult], **fixed: Any) -> dict[str, Any]:
    """Metadata of a run: figures summed and lists joined over its months, and which months."""
    totals: dict[str, Any] = {}
    for result in results.values():
        for key, value in result.metadata.items():
            if isinstance(value, list):
                totals[key] = [*totals.get(key, []), *value]
            elif isinstance(value, bool) or not isinstance(value, int | float):
                totals[key] = value  # a path or a label: the last month's
            else:
                totals[key] = totals.get(key, 0) + value
    totals = _metadata_values(totals)
    if len(results) > 1:
        totals["months"] = len(results)
        totals["first_month"] = min(results)[:7]
        totals["last_month"] = max(results)[:7]
    return {**totals, **fixed}


def check_each_month(
    context: dg.AssetCheckExecutionContext,
    duckdb_resource: DuckDBResource,
    check: Callable[[duckdb.DuckDBPyConnection, str], dg.AssetCheckResult],
) -> dg.AssetCheckResult:
    """Run a month's check for every month of the run and combine the months' results."""
    checked = for_each_month(
        context, duckdb_resource,
        lambda con, month: MonthResult(metadata={"result": check(con, month)}), ensure=False,
    )
    return combine_month_checks({month: r.metadata["result"] for month, r in checked.items()})


def combine_month_checks(results: dict[str, dg.AssetCheckResult]) -> dg.AssetCheckResult:
    """One check result for a run's months: it passes when every month passes.

    The metadata of a single month is that month's; over a range, figures are summed and the
    months that failed are named.
    """
    if len(results) == 1:
        return next(iter(results.values()))
    failed = [m[:7] for m, r in results.items() if not r.passed]
    # The worst severity among failing months: an ERROR anywhere blocks the range.
    severities = [r.severity for r in results.values() if not r.passed]
    severity = (dg.AssetCheckSeverity.ERROR if dg.AssetCheckSeverity.ERROR in severities
                else severities[0] if severities else next(iter(results.values())).severity)
    metadata = run_metadata({
        month: MonthResult({k: getattr(v, "value", v) for k, v in r.metadata.items()})
        for month, r in results.items()
    })
    first = next(iter(results.values()))
    return dg.AssetCheckResult(
        passed=not failed, severity=severity, asset_key=first.asset_key,
        check_name=first.check_name,
        metadata={**metadata, "failed_months": ", ".join(failed) or "none"},
    )


def month_runs(counts: Mapping[str, int], months: list[str], budget: int) -> list[list[str]]:
    """`months` cut into runs of consecutive months of about `budget` rows each (`counts`: rows per
    month); a month is never split, so a month over the budget is a run of its own."""
    runs: list[list[str]] = []
    held = 0
    for month in months:
        if not runs or held + counts.get(month, 0) > budget and held > 0:
            runs.append([])
            held = 0
        runs[-1].append(month)
        held += counts.get(month, 0)
    return runs
