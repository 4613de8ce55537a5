"""What runs in a great-expectations worker process: validating a partition that failed the screen.

GX's own work per validation is Python (tens of milliseconds per suite beyond the data) that holds
the GIL, and GX keeps process-wide state, so a run's checks use its other cores through worker
processes (see `data_checks.gx_processes`), not threads; a run hands its small failing partitions
to one such worker (`start_gx_process`, started on the first), so the run's own process does not
import GX. Data Docs are written without GX (`data_checks.docs_pages`). This module imports GX,
pandas and pyarrow only, so a worker starts in a few seconds; on one core the same functions run
in the run's own process.
"""

import json
from functools import cache

import great_expectations as gx
import pandas as pd
import pyarrow as pa
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.core.expectation_suite import ExpectationSuiteSchema
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.datasource.fluent import PandasDatasource
from great_expectations.execution_engine import pandas_execution_engine

from data_checks.outcome import Outcome, to_pandas

# GX fingerprints every DataFrame batch below 1 GB by hashing all of its values, twice per
# validation (the batch is built for the result and again for the validator): 0.6 s of a 0.8 s
# validation of a month's 700k events. The fingerprint is only a batch marker in the result; ours
# are identified by check, month and Dagster run, so no batch is hashed.
pandas_execution_engine.HASH_THRESHOLD = 0


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
    about 450 validations make a year's run.
    """
    return _warehouse_source().add_dataframe_asset(table).add_batch_definition_whole_dataframe(
        "partition"
    )


def warm() -> None:
    """Worker start: build the GX context before the first partition arrives."""
    _warehouse_source()


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


def validate_partition(data: pd.DataFrame | pa.Table, suite_json: str, table: str) -> Outcome:
    """Validate one partition's rows (a DataFrame, or an Arrow table from DuckDB) against a suite."""
    df = data if isinstance(data, pd.DataFrame) else to_pandas(data)
    suite = gx.ExpectationSuite(**ExpectationSuiteSchema().load(json.loads(suite_json)))
    result = validate(df, suite, table)
    return Outcome(bool(result.success), len(result.results), failures(result),
                   json.dumps(result.to_json_dict(), default=str))
