"""Data Docs for one month, written from the validation results its asset checks stored."""

import time
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from assets.billing import out_of_scope
from assets.facts import ticket_facts
from assets.marts import client_month, client_month_sla
from assets.raw import raw_clients, raw_tickets
from assets.staging import staging_clients, staging_ticket_events, staging_tickets, staging_time_entries
from data_checks.docs_pages import publish_docs
from data_checks.validation import ensure_results_table
from orchestration.partitions import (
    MonthResult,
    monthly_partitions,
    record_per_month,
    run_metadata,
    single_run,
)
from orchestration.resources import PipelineSettings
from warehouse.schema import prepare_session

DOCS_FOLDER = ".data_docs"


def docs_dir(published: Path, month: str) -> Path:
    """Where a month's Data Docs live; the publish step copies this folder into the month folder."""
    return published / DOCS_FOLDER / month[:7]


def _results(con: duckdb.DuckDBPyConnection, month: str) -> list[tuple]:
    """The latest stored result of every check for the month (and of the unpartitioned checks)."""
    return con.execute(
        """SELECT check_name, month, dagster_run_id, validated_at, suite_json, result_json, success,
                  severity, layer, table_name, rows_validated, failed_expectations
           FROM quality.validation_results
           WHERE month = CAST(? AS DATE) OR month IS NULL
           ORDER BY list_position(['raw', 'staging', 'marts'], layer), check_name""",
        [month],
    ).fetchall()


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
    """Data Docs of the month's validation results, in <published>/.data_docs/<YYYY-MM>/."""

    months = list(context.partition_keys)
    started = time.perf_counter()
    with duckdb.get_connection() as con:
        prepare_session(con)
        ensure_results_table(con)
        stored = {month: _results(con, month) for month in months}
    # Plain HTML from the stored JSON (data_checks.docs_pages): no GX import, a few milliseconds
    # a month.
    results = {}
    for month, rows in stored.items():
        publish_docs(rows, docs_dir(settings.published, month))
        failed = [r[0] for r in rows if not r[6]]
        blocking = [r[0] for r in rows if not r[6] and r[7] == "ERROR"]
        results[month] = MonthResult({
            "index": dg.MetadataValue.path(str(docs_dir(settings.published, month) / "index.html")),
            "validations": len(rows),
            "failed_checks": [f"{month[:7]} {name}" for name in failed],
            "failed_blocking_checks": [f"{month[:7]} {name}" for name in blocking],
        })
    # Each month's materialization shows its own index and figures, the run's totals the rest.
    record_per_month(context, results)
    # One log line for the step: each is a write to the run's event log, the months' figures are
    # in the metadata.
    failed = sum(len(r.metadata["failed_checks"]) for r in results.values())
    context.log.info(f"data docs for {len(months)} month(s) in {time.perf_counter() - started:.1f} s:"
                     f" {sum(len(rows) for rows in stored.values())} validation results,"
                     f" {failed} failed")
    return dg.MaterializeResult(metadata=run_metadata(results))
