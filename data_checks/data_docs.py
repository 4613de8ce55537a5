"""GX Data Docs for one month, built from the validation results its asset checks stored."""

import json
import shutil
import time
import uuid
from html import escape
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import duckdb
import great_expectations as gx
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection
from great_expectations.core.expectation_suite import ExpectationSuiteSchema
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResultSchema,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from assets.billing import out_of_scope
from assets.facts import ticket_facts
from assets.marts import client_month, client_month_sla
from assets.partitions import MonthResult, for_each_month, monthly_partitions, run_metadata, single_run
from assets.raw import raw_clients, raw_tickets
from assets.resources import PipelineSettings
from assets.staging import (
    staging_clients,
    staging_ticket_events,
    staging_tickets,
    staging_time_entries,
)
from data_checks.validation import RESULTS_DDL

DOCS_FOLDER = ".data_docs"
# Tutorial images GX copies into every site that no Data Docs page shows (2.5 MB of the 4 MB).
_UNUSED_STATIC = ("images/glossary_scroller.gif", "images/iterative-dev-loop.png")


def docs_dir(published: Path, month: str) -> Path:
    """Where a month's Data Docs live; the publish step copies this folder into the month folder."""
    return published / DOCS_FOLDER / month[:7]


def _results(con: duckdb.DuckDBPyConnection, month: str) -> list[tuple]:
    """The latest stored result of every check for the month (and of the unpartitioned checks)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(RESULTS_DDL)
    return con.execute(
        """SELECT check_name, month, dagster_run_id, validated_at, suite_json, result_json, success,
                  severity, layer, table_name, rows_validated, failed_expectations
           FROM quality.validation_results
           WHERE month = CAST(? AS DATE) OR month IS NULL
           ORDER BY list_position(['raw', 'staging', 'marts'], layer), check_name""",
        [month],
    ).fetchall()


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
    suites, results = ExpectationSuiteSchema(), ExpectationSuiteValidationResultSchema()
    for name, month, run_id, validated_at, suite_json, result_json, *_ in rows:
        context.suites.add(gx.ExpectationSuite(**suites.load(json.loads(suite_json))))
        run = RunIdentifier(run_name=f"dagster-{(run_id or 'unknown')[:8]}", run_time=validated_at)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
            run_id=run,
            batch_identifier=month.isoformat()[:7] if month else "all",
        )
        result = results.load(json.loads(result_json))
        result.meta["run_id"] = run
        context.validation_results_store.set(key, result)
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


@dg.asset(
    group_name="quality",
    kinds={"duckdb", "html"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    # Every asset whose checks run in the month's run: the checks are blocking, so this asset
    # starts only after all of them have stored their results.
    deps=[raw_clients, raw_tickets, staging_clients, staging_tickets, staging_ticket_events,
          staging_time_entries, ticket_facts, out_of_scope, client_month, client_month_sla],
)
def data_docs(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """GX Data Docs of the month's validation results, in <published>/.data_docs/<YYYY-MM>/."""

    def build(con: DuckDBPyConnection, month: str) -> MonthResult:
        started = time.perf_counter()
        rows = _results(con, month)
        folder = docs_dir(settings.published, month)
        publish_docs(rows, folder)
        failed = [r[0] for r in rows if not r[6]]
        blocking = [r[0] for r in rows if not r[6] and r[7] == "ERROR"]
        return MonthResult(
            {
                "index": dg.MetadataValue.path(str(folder / "index.html")),
                "validations": len(rows),
                "failed_checks": [f"{month[:7]} {name}" for name in failed],
                "failed_blocking_checks": [f"{month[:7]} {name}" for name in blocking],
            },
            f"data docs for {month[:7]}: {len(rows)} validation results, {len(failed)} failed,"
            f" in {time.perf_counter() - started:.1f} s",
        )

    # Month after month: GX builds the docs through one data context per call.
    return dg.MaterializeResult(
        metadata=run_metadata(for_each_month(context, duckdb, build, concurrent=False))
    )
