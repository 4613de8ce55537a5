"""Publishing: the month's folder of client reports, PDFs, dashboard and finance export."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.marts import client_month, client_month_drivers, client_month_sla
from assets.partitions import monthly_partitions
from assets.resources import PipelineSettings
from reports.publish import publish_month


@dg.asset(
    group_name="reports",
    kinds={"duckdb", "html"},
    partitions_def=monthly_partitions,
    # data_docs is named, not imported: data_checks guards assets and imports them, not the reverse.
    deps=[client_month, client_month_drivers, client_month_sla, dg.AssetKey("data_docs")],
)
def monthly_reports(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """The month's published folder: index, client reports (HTML + PDF), dashboard, finance export."""
    month = context.partition_key
    policy = settings.policy()
    with duckdb.get_connection() as con:
        published = publish_month(con, month, settings.published, policy.version, policy.currency,
                                  log=context.log.warning)
    if published is None:
        context.log.warning(f"no client_month rows for {month[:7]}: nothing published")
        return dg.MaterializeResult(metadata={"client_reports": 0})
    return dg.MaterializeResult(
        metadata={
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
        }
    )
