"""SQL asset checks declared beside their asset and run in that asset's one check step.

A Dagster step has a fixed cost (its events in the run's event log, a warehouse connection, the
session set-up), and a one-month run had nine steps for nine SQL checks besides the asset's
great-expectations step. `@sql_check` keeps a check next to the asset it guards, as
`@dg.asset_check` did, and records it; `data_checks.checks` runs an asset's SQL checks and its
suites in one step, each still its own blocking asset check with its own result and history.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

CheckFn = Callable[..., dg.AssetCheckResult]


@dataclass(frozen=True)
class SqlCheck:
    """One blocking asset check computed by `fn(context=..., duckdb=...)` (the arguments it names)."""

    name: str
    asset: dg.AssetsDefinition
    description: str
    fn: CheckFn

    def run(self, context: dg.AssetCheckExecutionContext, duckdb: object) -> dg.AssetCheckResult:
        """The check's result, keyed to its asset and name (as a multi-asset check reports it)."""
        wanted = inspect.signature(self.fn).parameters
        given = {k: v for k, v in (("context", context), ("duckdb", duckdb)) if k in wanted}
        result = self.fn(**given)
        return dg.AssetCheckResult(
            passed=result.passed, asset_key=self.asset.key, check_name=self.name,
            metadata=result.metadata, severity=result.severity, description=result.description,
        )


SQL_CHECKS: list[SqlCheck] = []


def sql_check(asset: dg.AssetsDefinition, name: str | None = None,
              description: str | None = None) -> Callable[[CheckFn], CheckFn]:
    """Declare `fn` a blocking SQL check of `asset`, named after the function (or `name`), its
    docstring the description (or `description`); partitioned like the asset."""

    def register(fn: CheckFn) -> CheckFn:
        SQL_CHECKS.append(SqlCheck(name or fn.__name__, asset,
                                   description or inspect.getdoc(fn) or fn.__name__, fn))
        return fn

    return register
