"""Publishing: the month's folder of client reports, PDFs, dashboard and finance export."""

import dagster as dg
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from assets.marts import client_month, client_month_drivers, client_month_sla
from assets.partitions import MonthResult, for_each_month, monthly_partitions, run_metadata, single_run
from assets.resources import PipelineSettings
from reports.publish import publish_month


@dg.asset(
    group_name="reports",
    kinds={"duckdb", "html"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    # data_docs is named, not imported: data_checks guards assets and imports them, not the reverse.
    deps=[client_month, client_month_drivers, client_month_sla, dg.AssetKey("data_docs")],
)
def monthly_reports(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """The month's published folder: index, client reports (HTML + PDF), dashboard, finance export."""
    policy = settings.policy()

    def publish(con: DuckDBPyConnection, month: str) -> MonthResult:
        published = publish_month(con, month, settings.published, policy.version, policy.currency,
                                  log=context.log.warning, policy=policy)
        if published is None:
            return MonthResult({"client_reports": 0},
                               f"no client_month rows for {month[:7]}: nothing published")
        return MonthResult(
            {
                "folder": dg.MetadataValue.path(str(published.folder)),
                "index": dg.MetadataValue.path(str(published.folder / "index.html")),
                "client_reports": published.client_reports,
                "client_pdfs": published.pdfs,
                "pdf_skipped": published.pdf_skipped_reason or "",
                "pages": published.pages,
                "finance_lines": published.finance_lines,
                "folder_bytes": published.bytes,
                "seconds": round(published.seconds, 2),
                "pdf_seconds": round(published.pdf_seconds, 2),
            },
            f"published {month[:7]}: {published.client_reports} client report(s)"
            f" in {published.seconds:.1f} s",
        )

    # One month after the other, in this thread: publishing logs as it goes and drives a browser.
    results = for_each_month(context, duckdb, publish, concurrent=False)
    return dg.MaterializeResult(metadata=run_metadata(results))
