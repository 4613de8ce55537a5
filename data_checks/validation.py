"""Run a great-expectations 1.x suite on one partition's DataFrame and keep the result for Data Docs.

GX's SQL datasource does not work against DuckDB 2.0, so each check fetches only the columns its
suite needs for one month (set-based work such as "does this client resolve" is done in that SQL and
arrives as a column that GX then checks) and validates the DataFrame in an ephemeral context.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import dagster as dg
import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from dagster_duckdb import DuckDBResource
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.datasource.fluent import PandasDatasource
from great_expectations.execution_engine import pandas_execution_engine

from assets.partitions import check_each_month
from assets.resources import PipelineSettings
from policy.config import PolicyConfig, load_policy

# GX fingerprints every DataFrame batch below 1 GB by hashing all of its values, twice per
# validation (the batch is built for the result and again for the validator): 0.6 s of a 0.8 s
# validation of a month's 700k events. The fingerprint is only a batch marker in the result; ours
# are identified by check, month and Dagster run, so no batch is hashed.
pandas_execution_engine.HASH_THRESHOLD = 0

# One row per check and partition (month NULL for unpartitioned assets): the latest validation,
# which the data_docs asset renders. Dagster keeps the history of every evaluation.
RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS quality.validation_results (
    check_name VARCHAR NOT NULL,      -- the Dagster asset check, also the GX suite name
    layer VARCHAR NOT NULL,           -- raw | staging | marts
    asset VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    month DATE,                       -- NULL for an unpartitioned asset
    severity VARCHAR NOT NULL,        -- ERROR (blocks publishing) | WARN
    success BOOLEAN NOT NULL,
    rows_validated BIGINT NOT NULL,
    failed_expectations INTEGER NOT NULL,
    dagster_run_id VARCHAR,
    validated_at TIMESTAMPTZ NOT NULL,
    suite_json JSON NOT NULL,         -- the expectation suite as validated
    result_json JSON NOT NULL         -- the GX ExpectationSuiteValidationResult
)
"""

Expectations = Callable[[PolicyConfig], list[gxe.Expectation]]
Fetch = Callable[[duckdb.DuckDBPyConnection, dict], pd.DataFrame]


@dataclass(frozen=True)
class CheckSpec:
    """One Dagster asset check that runs one GX suite (named like the check) on one partition."""

    name: str
    asset: dg.AssetsDefinition
    layer: str
    blocking: bool  # True: a failure is ERROR and stops publishing; False: a WARN
    description: str
    table: str
    fetch: str | Fetch  # SQL over `$month` (partitioned assets) or a function (con, params)
    expectations: Expectations

    @property
    def partitioned(self) -> bool:
        return self.asset.partitions_def is not None


@lru_cache(maxsize=4)
def _policy(path: str, mtime_ns: int) -> PolicyConfig:
    """The policy file parsed once per version of the file, not once per check."""
    return load_policy(path)


def _fetch(con: duckdb.DuckDBPyConnection, spec: CheckSpec, params: dict) -> pd.DataFrame:
    if callable(spec.fetch):
        return spec.fetch(con, params)
    used = {k: v for k, v in params.items() if f"${k}" in spec.fetch}
    return con.execute(spec.fetch, used).df()


@cache
def _warehouse_source() -> PandasDatasource:
    """This process's ephemeral GX context and its one pandas data source."""
    context = gx.get_context(mode="ephemeral")
    # Per-metric progress bars would flood the run log once per partition.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context.data_sources.add_pandas("warehouse")


@cache
def _batch_definition(table: str) -> BatchDefinition:
    """The table's whole-DataFrame batch definition, made once per process.

    GX writes its whole project config as YAML whenever a data source, asset or batch definition
    is added: with a context per validation that was 43 ms of the 47 ms a small frame takes, and
    about 450 validations make a year's run. A batch validates through the context that owns its
    definition (GX 1.24), so the contexts Data Docs builds do not interfere.
    """
    return _warehouse_source().add_dataframe_asset(table).add_batch_definition_whole_dataframe(
        "partition"
    )


def validate(
    df: pd.DataFrame, suite: gx.ExpectationSuite, table: str
) -> gx.core.ExpectationSuiteValidationResult:
    """Validate a DataFrame against a suite (the batch is one partition of `table`)."""
    return _batch_definition(table).get_batch(batch_parameters={"dataframe": df}).validate(suite)


def failures(result: gx.core.ExpectationSuiteValidationResult) -> list[dict]:
    """The failed expectations, with counts and a few offending values, for the run log and UI."""
    out = []
    for r in result.results:
        if r.success:
            continue
        raised = (r.exception_info or {}).get("exception_message")
        out.append({
            "expectation": r.expectation_config.type,
            "kwargs": {k: v for k, v in r.expectation_config.kwargs.items() if k != "batch_id"},
            "unexpected_count": r.result.get("unexpected_count"),
            "observed_value": str(r.result.get("observed_value", ""))[:200] or None,
            "sample": [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]],
            **({"error": raised} if raised else {}),
        })
    return out


def run_check(
    spec: CheckSpec,
    con: duckdb.DuckDBPyConnection,
    settings: PipelineSettings,
    month: str | None,
    run_id: str | None,
    log: Callable[[str], None] = print,
) -> dg.AssetCheckResult:
    """Fetch the partition, validate its suite, store the result for Data Docs, report to Dagster."""
    started = time.perf_counter()
    policy = _policy(settings.policy_file, Path(settings.policy_file).stat().st_mtime_ns)
    suite = gx.ExpectationSuite(name=spec.name, expectations=spec.expectations(policy))
    suite_json = json.dumps(suite.to_json_dict(), default=str)
    params = {"month": month, "policy": policy}
    severity = dg.AssetCheckSeverity.ERROR if spec.blocking else dg.AssetCheckSeverity.WARN
    df = _fetch(con, spec, params)
    result = validate(df, suite, spec.table)
    failed = failures(result)
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(RESULTS_DDL)
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "DELETE FROM quality.validation_results WHERE check_name = ?"
        " AND month IS NOT DISTINCT FROM CAST(? AS DATE)",
        [spec.name, month],
    )
    con.execute(
        "INSERT INTO quality.validation_results VALUES"
        " (?, ?, ?, ?, CAST(? AS DATE), ?, ?, ?, ?, ?, now(), ?, ?)",
        [spec.name, spec.layer, spec.asset.key.to_user_string(), spec.table, month,
         severity.value, bool(result.success), len(df), len(failed), run_id, suite_json,
         json.dumps(result.to_json_dict(), default=str)],
    )
    con.execute("COMMIT")
    log(f"{spec.name}: {len(df)} rows of {spec.table}, {len(failed)} failed expectation(s),"
        f" {time.perf_counter() - started:.2f} s")
    return dg.AssetCheckResult(
        passed=bool(result.success),
        severity=severity,
        metadata={
            "layer": spec.layer,
            "rows_validated": len(df),
            "expectations": len(result.results),
            "failed_expectations": dg.MetadataValue.json(failed),
        },
    )


def build_check(spec: CheckSpec) -> dg.AssetChecksDefinition:
    """The Dagster asset check for a spec.

    Every check is `blocking` so that downstream assets (and data_docs) wait for it; only ERROR
    severity stops them, a WARN lets the month publish.
    """

    @dg.asset_check(
        asset=spec.asset,
        name=spec.name,
        description=spec.description,
        blocking=True,
        partitions_def=spec.asset.partitions_def,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
    ) -> dg.AssetCheckResult:
        if not spec.partitioned:
            with duckdb.get_connection() as con:
                return run_check(spec, con, settings, None, context.run.run_id, context.log.info)
        # GX validates in this thread, one month after the other; each month stores its result.
        return check_each_month(
            context, duckdb,
            lambda con, month: run_check(spec, con, settings, month, context.run.run_id,
                                         context.log.info),
            concurrent=False,
        )

    return _check


def columns_present(table: str, columns: list[str], where: str) -> Fetch:
    """Fetch the partition's rows of those `columns` that the table has, to check they all exist."""

    def fetch(con: duckdb.DuckDBPyConnection, params: dict) -> pd.DataFrame:
        schema, name = table.split(".")
        existing = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = ? AND table_name = ?", [schema, name]).fetchall()}
        present = [c for c in columns if c in existing]
        sql = f"SELECT {', '.join(present) or '1 AS no_columns'} FROM {table} {where} LIMIT 1000"
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        return con.execute(sql, used).df()

    return fetch


def exist(columns: list[str]) -> Expectations:
    """One ExpectColumnToExist per column."""
    return lambda _policy: [gxe.ExpectColumnToExist(column=c) for c in columns]
