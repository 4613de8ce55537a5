"""What runs in a great-expectations worker process: validating a partition and rendering Data Docs.

GX's own work per validation is Python (tens of milliseconds per suite beyond the data) that holds
the GIL, and GX keeps process-wide state, so a run's checks use its other cores through worker
processes (see `data_checks.gx_processes`), not threads; a run that renders Data Docs hands
its small failing partitions and its Data Docs to one such worker (`start_gx_process`), so the
run's own process does not import GX. This module imports GX, pandas and pyarrow only, so a worker
starts in a few seconds; on one core the same functions run in the run's own process.
"""

import functools
import json
import shutil
import uuid
from functools import cache
from html import escape
from pathlib import Path
from urllib.parse import quote

import great_expectations as gx
import jinja2
import pandas as pd
import pyarrow as pa
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.core.expectation_suite import ExpectationSuiteSchema
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.datasource.fluent import PandasDatasource
from great_expectations.execution_engine import pandas_execution_engine
from great_expectations.render.view import view as gx_view

from data_checks.outcome import Outcome, to_pandas

# GX fingerprints every DataFrame batch below 1 GB by hashing all of its values, twice per
# validation (the batch is built for the result and again for the validator): 0.6 s of a 0.8 s
# validation of a month's 700k events. The fingerprint is only a batch marker in the result; ours
# are identified by check, month and Dagster run, so no batch is hashed.
pandas_execution_engine.HASH_THRESHOLD = 0



class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates kept for the process (keyed by template and source checksum).

    GX makes a new Jinja environment, so a new template cache, for every view it renders with,
    and compiles its ~50 page templates again for every Data Docs build: about a third of a
    month's build. The compiled code does not depend on the environment's filters, so one
    process-wide cache serves every build.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


gx_view.Environment = functools.partial(jinja2.Environment, bytecode_cache=_CompiledTemplates())

# Tutorial images GX copies into every site that no Data Docs page shows (2.5 MB of the 4 MB).
_UNUSED_STATIC = ("images/glossary_scroller.gif", "images/iterative-dev-loop.png")


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


def build_docs(rows: list[tuple], target: Path) -> Path:
    """Render the rows' suites and validation results as a GX Data Docs site into `target`."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        site_name="month",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(target)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    # The stored JSON goes into the context's in-memory stores as the strings they would hold:
    # the site builder reads it back through GX's schemas as before. Adding the objects through
    # the suite factory and the results store instead serialised each with marshmallow (deep
    # copies, key checks) only for the builder to parse it again: 40% of a month's build.
    suites, results = context.expectations_store, context.validation_results_store
    for name, month, run_id, validated_at, suite_json, result_json, *_ in rows:
        suite = json.loads(suite_json)
        # What the suite factory adds to a suite it stores (ids the pages show).
        suite["id"] = str(uuid.uuid4())
        for expectation in suite["expectations"]:
            expectation["id"] = str(uuid.uuid4())
        suites._store_backend.set(suites.key_to_tuple(ExpectationSuiteIdentifier(name=name)),
                                  json.dumps(suite))
        run = RunIdentifier(run_name=f"dagster-{(run_id or 'unknown')[:8]}", run_time=validated_at)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
            run_id=run,
            batch_identifier=month.isoformat()[:7] if month else "all",
        )
        result = json.loads(result_json)
        result["meta"]["run_id"] = run.to_json_dict()
        results._store_backend.set(results.key_to_tuple(key), json.dumps(result))
    context.build_data_docs(site_names=["month"])
    for unused in _UNUSED_STATIC:
        (target / "static" / unused).unlink(missing_ok=True)
    # GX's own index fills its tables with JavaScript from public CDNs, so it is empty offline.
    # Our index is plain HTML; the GX pages it links render their results server-side.
    (target / "index.html").rename(target / "gx-index.html")
    (target / "index.html").write_text(_index(rows, target), encoding="utf-8")
    return target / "index.html"


def _index(rows: list[tuple], target: Path) -> str:
    """A static index: every check with layer, severity, outcome and links to its GX pages."""
    body = []
    for name, month, _, validated_at, _, _, success, severity, layer, table, n, failed in rows:
        pages = sorted((target / "validations" / name).rglob("*.html"))
        result = pages[0].relative_to(target).as_posix() if pages else None
        status = "passed" if success else ("FAILED" if severity == "ERROR" else "warning")
        link = f'<a href="{escape(quote(result))}">{escape(name)}</a>' if result else escape(name)
        body.append(
            f'<tr class="{status.lower()}"><td>{escape(layer)}</td><td>{link}</td>'
            f"<td>{escape(table)}</td><td>{'blocking' if severity == 'ERROR' else 'warn'}</td>"
            f"<td>{status}</td><td>{n:,}</td><td>{failed}</td>"
            f"<td>{escape(month.isoformat()[:7] if month else 'all (contracts)')}</td>"
            f'<td>{escape(str(validated_at)[:19])}</td>'
            f'<td><a href="expectations/{escape(quote(name))}.html">suite</a></td></tr>'
        )
    failed_blocking = sum(1 for r in rows if not r[6] and r[7] == "ERROR")
    warnings = sum(1 for r in rows if not r[6] and r[7] != "ERROR")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data quality</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ padding: .3rem .6rem; border-bottom: 1px solid #ddd;
text-align: left; }} tr.failed td {{ background: #fde8e8; }} tr.warning td {{ background: #fff6db; }}
</style></head><body>
<h1>Data quality checks</h1>
<p>{len(rows)} great-expectations suites, {failed_blocking} blocking failure(s), {warnings}
warning(s). A blocking failure stops the month from being published. Each name links to the
suite's validation result; <a href="gx-index.html">the Great Expectations index</a> needs a network
connection for its scripts.</p>
<table><thead><tr><th>layer</th><th>check</th><th>table</th><th>severity</th><th>result</th>
<th>rows</th><th>failed expectations</th><th>partition</th><th>validated (UTC)</th><th></th></tr>
</thead><tbody>
{chr(10).join(body)}
</tbody></table></body></html>
"""


def publish_docs(rows: list[tuple], folder: Path) -> None:
    """Build into a sibling folder, then swap it in, so a reader never sees half a site."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging_dir = folder.parent / f".building-{folder.name}-{uuid.uuid4().hex[:8]}"
    old = folder.parent / f".old-{folder.name}-{uuid.uuid4().hex[:8]}"
    try:
        build_docs(rows, staging_dir)
        if folder.exists():
            folder.rename(old)
        staging_dir.rename(folder)
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
