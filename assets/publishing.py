"""Publishing: the month's folder of client reports, PDFs, dashboard and finance export."""

import os
from typing import Literal

import dagster as dg
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from assets.marts import client_month, client_month_drivers, client_month_sla
from orchestration.partitions import MonthResult, for_each_month, monthly_partitions, run_metadata, single_run
from orchestration.resources import PipelineSettings

# Each month's line in the run log starts so; `python -m pipelines.run` shows those lines.
PUBLISHED_PREFIX = "published "


class ReportsConfig(dg.Config):
    """Which months of a run get PDFs besides their HTML reports.

    latest: the run's latest month with client rows (a backfill prints the month people read,
    a one-month run prints its month); all: every month (also with MSP_ALL_PDFS=1); none.
    """

    pdfs: Literal["latest", "all", "none"] = "latest"


def all_pdfs_from_env() -> bool:
    """MSP_ALL_PDFS=1 (or true/yes): PDFs for every month of every run."""
    return os.environ.get("MSP_ALL_PDFS", "").strip().lower() in {"1", "true", "yes"}


@dg.asset(
    group_name="reports",
    kinds={"duckdb", "html"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    # data_docs is named, not imported: data_checks guards assets and imports them, not the reverse.
    deps=[client_month, client_month_drivers, client_month_sla, dg.AssetKey("data_docs")],
)
def monthly_reports(
    context: dg.AssetExecutionContext, config: ReportsConfig, duckdb: DuckDBResource,
    settings: PipelineSettings,
) -> dg.MaterializeResult:
    """The month's published folder: index, client reports (HTML + PDF), dashboard, finance export."""
    policy = settings.policy()
    pdfs = "all" if all_pdfs_from_env() else config.pdfs
    pdf_months: set[str] = set()

    def choose_pdf_months(con: DuckDBPyConnection, months: list[str]) -> None:
        if pdfs == "all":
            pdf_months.update(months)
        elif pdfs == "latest":
            latest = con.execute(
                "SELECT max(month) FROM marts.client_month WHERE month BETWEEN ? AND ?",
                [months[0], months[-1]],
            ).fetchone()[0]
            if latest is not None:
                pdf_months.add(latest.isoformat())

    # The report renderers (plotly, openpyxl, the templates: 0.4 to 0.8 s of import) load only
    # in a run that publishes, not with the code location.
    from reports.publish import publish_month

    def publish(con: DuckDBPyConnection, month: str) -> MonthResult:
        published = publish_month(con, month, settings.published, policy.version, policy.currency,
                                  pdf=month in pdf_months, log=context.log.warning, policy=policy)
        if published is None:
            context.log.info(f"{PUBLISHED_PREFIX}{month[:7]}: nothing (no client_month rows)")
            return MonthResult({"client_reports": 0})
        if month not in pdf_months:
            pdf_note = "0 PDFs (only the latest month's; MSP_ALL_PDFS=1 for all)"
        elif published.pdf_skipped_reason:
            pdf_note = f"0 PDFs ({published.pdf_skipped_reason})"
        else:
            pdf_note = f"{published.pdfs} PDFs"
        # Logged as each month finishes (not with the step's summary) so a long run shows progress.
        context.log.info(
            f"{PUBLISHED_PREFIX}{month[:7]}: {published.client_reports} client reports, {pdf_note};"
            f" {published.without_tickets} clients without tickets; {published.seconds:.1f} s"
        )
        return MonthResult(
            {
                "folder": dg.MetadataValue.path(str(published.folder)),
                "index": dg.MetadataValue.path(str(published.folder / "index.html")),
                "client_reports": published.client_reports,
                "clients_without_tickets": published.without_tickets,
                "client_pdfs": published.pdfs,
                "pdf_skipped": published.pdf_skipped_reason or "",
                "pages": published.pages,
                "finance_lines": published.finance_lines,
                "folder_bytes": published.bytes,
                "seconds": round(published.seconds, 2),
                "pdf_seconds": round(published.pdf_seconds, 2),
            },
        )

    # One month after the other, in this thread: publishing logs as it goes and drives a browser.
    results = for_each_month(context, duckdb, publish, concurrent=False, prepare=choose_pdf_months)
    return dg.MaterializeResult(metadata=run_metadata(results))
