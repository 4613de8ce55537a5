"""A factory for the monthly SQL assets, as dagster-dbt makes one asset per model.

Each such asset has one shape: for every month of the run, optionally prepare what its SELECT
reads (Python between the SQL: temp tables, or the month's rows of a side table), replace the
month's rows of its table with its model's SELECT (models/<group>/<name>.sql, or a SELECT the policy
writes; delete-then-insert in one transaction), read a few figures of what it wrote, and report them
per month and summed over the run. An asset whose months depend on each other is written out by
hand in its module.
"""

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import dagster as dg
from duckdb import DuckDBPyConnection

from orchestration.partitions import (
    MonthResult,
    for_each_month,
    month_span,
    monthly_partitions,
    run_metadata,
    single_run,
)
from orchestration.resources import PipelineSettings
from policy.config import PolicyConfig
from policy.sql import register_policy
from warehouse.models import model_sql
from warehouse.schema import ensure_warehouse
from warehouse.writes import replace_month


@dataclass(frozen=True)
class RunInputs:
    """What a run reads once, before its first month: the policy in force and the as-of instant,
    and what the asset's `before_range` prepared for all of its months (`shared`)."""

    policy: PolicyConfig
    as_of: datetime
    shared: Mapping[str, Any] = field(default_factory=dict)


Params = Mapping[str, Any] | Callable[[RunInputs], Mapping[str, Any]]
# Work for all of a run's months at once, on its own connection, before the first month; what it
# yields becomes RunInputs.shared, and it cleans up when the last month is done.
RangeHook = Callable[[DuckDBPyConnection, list[str], RunInputs], AbstractContextManager[Mapping[str, Any]]]


def monthly_sql_asset(
    name: str,
    *,
    description: str,
    deps: Sequence[dg.AssetsDefinition | dg.AssetDep | dg.AssetKey],
    stats_sql: str,
    summary: str,
    group_name: str = "marts",
    model: str | None = None,
    select_of: Callable[[RunInputs], str] | None = None,
    table: str | None = None,
    params: Params | None = None,
    policy_tables: bool = False,
    before: Callable[[DuckDBPyConnection, str, RunInputs], Mapping[str, Any] | None] | None = None,
    before_range: RangeHook | None = None,
    run_metadata_of: Callable[[RunInputs], Mapping[str, Any]] | None = None,
    rows_of: str | None = None,
) -> dg.AssetsDefinition:
    """A monthly asset that writes `table` (default `<group_name>.<name>`) from `model`'s SELECT.

    - `model`: the SQL file under models/ (default `<group_name>/<name>`), read now, so a
      missing file fails the code location's load. It gets `$month` and `params`: a mapping,
      or a function of the run's `RunInputs` (computed once per run, not per month).
    - `select_of(run)`: the SELECT itself, for a model the policy writes (built once per run;
      no model file is read then).
    - `policy_tables`: register the policy's lookup tables (policy.sql) on the month's
      connection first; `before(con, month, run)` then builds any other temp table it reads
      (and may write the month's rows of a side table); figures it returns join the stats'.
    - `before_range(con, months, run)`: a context manager entered once before the run's first
      month (work that is the same for every month, such as preparing a large statement once);
      what it yields is `run.shared` for `before` and `select_of`. Its connection stays open
      until the last month is done; what it keeps for the months must be visible to their
      connections (an attached in-memory database, not a temp table).
    - `rows_of`: a table with a `month` column (the staged tickets) without whose month's rows the
      SELECT returns no row: a month where it has none (the empty first or last month of a range)
      only has its rows deleted, neither `before` nor the SELECT run (planning the scope
      statement alone costs 0.2 s of CPU, whatever the month's size). For assets whose `before`
      returns no figures and writes no table of the warehouse.
    - `stats_sql`: one row of figures of the month's rows, read with `$month` after the write;
      its column names are the metadata keys (NULL sums must be coalesced in the SQL).
    - `summary`: the month's log line, a format string over those figures, `month` (YYYY-MM),
      `seconds` and the run metadata of `run_metadata_of(run)`, which is added to the run's.
    The policy and the as-of instant come from the `settings` resource, which the asset
    requires only when it uses one of them.
    """
    model_select = None if select_of is not None else model_sql(model or f"{group_name}/{name}")
    table = table or f"{group_name}.{name}"
    uses_settings = (callable(params) or policy_tables or any(
        hook is not None for hook in (select_of, before, before_range, run_metadata_of)))

    @dg.asset(
        name=name,
        description=description,
        group_name=group_name,
        kinds={"duckdb"},
        partitions_def=monthly_partitions,
        backfill_policy=single_run,
        deps=deps,
        required_resource_keys={"duckdb", "settings"} if uses_settings else {"duckdb"},
    )
    def _monthly_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        run = None
        if uses_settings:
            settings: PipelineSettings = context.resources.settings
            run = RunInputs(policy=settings.policy(), as_of=settings.as_of_timestamp())
        preface: list[str] = []  # logged with the months' lines, as one event
        with ExitStack() as stack:
            if before_range is not None:
                con = stack.enter_context(context.resources.duckdb.get_connection())
                # The range hook may write tables the schema gained since the warehouse was made
                # (a step run alone on an older warehouse); a known schema costs one lookup.
                ensure_warehouse(con)
                started = time.perf_counter()
                months = list(context.partition_keys)
                shared = stack.enter_context(before_range(con, months, run))
                run = replace(run, shared=shared)
                preface.append(f"{name}: prepared for {month_span(months[0], months[-1])}"
                               f" in {time.perf_counter() - started:.1f} s")
            return _materialize(context, run, preface)

    def _materialize(context: dg.AssetExecutionContext, run: RunInputs | None,
                     preface: list[str]) -> dg.MaterializeResult:
        fixed = dict(run_metadata_of(run)) if run_metadata_of is not None else {}
        sql_params = dict(params(run) if callable(params) else params or {})
        select_sql = select_of(run) if select_of is not None else model_select

        def build(con: DuckDBPyConnection, month: str) -> MonthResult:
            started = time.perf_counter()
            if rows_of is not None and not con.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {rows_of} WHERE month = CAST(? AS DATE))",
                    [month]).fetchone()[0]:
                con.execute(f"DELETE FROM {table} WHERE month = ?", [month])
                figures = _figures(con, stats_sql, month)
                return MonthResult(figures, summary.format(
                    **fixed, **figures, month=month[:7],
                    seconds=time.perf_counter() - started))
            if policy_tables:
                register_policy(con, run.policy)
            prepared = before(con, month, run) if before is not None else None
            replace_month(con, table, month, select_sql, {"month": month, **sql_params})
            figures = {**_figures(con, stats_sql, month), **(prepared or {})}
            return MonthResult(figures, summary.format(
                **fixed, **figures, month=month[:7], seconds=time.perf_counter() - started))

        results = for_each_month(context, context.resources.duckdb, build, preface=preface)
        return dg.MaterializeResult(metadata=run_metadata(results, **fixed))

    return _monthly_asset


def _figures(con: DuckDBPyConnection, stats_sql: str, month: str) -> dict[str, Any]:
    """The stats query's one row as {column: value}; DECIMAL sums as floats (metadata is JSON)."""
    cursor = con.execute(stats_sql, {"month": month})
    row = cursor.fetchone()
    return {column[0]: float(value) if isinstance(value, Decimal) else value
            for column, value in zip(cursor.description, row, strict=True)}
