"""Publish a month: index, client reports (HTML + PDF), dashboard, finance export; atomically."""

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from plotly.offline import get_plotlyjs

from policy.config import PolicyConfig, default_policy
from policy.paths import landing_dir
from reports import commentary as commentary_notes
from reports import dashboard, figures, finance, invoicing, portfolio, queries
from reports import pdf as pdf_printer
from reports.client_report import render_client_report
from reports.client_summary import describe_hours
from reports.file_names import client_file_stem, client_pdf_name, client_report_name
from reports.month_folder import (
    _copy_data_docs,
    _remove_leftovers,
    _swap_in,
    offline_data_docs,
    write_months_index,
)
from reports.templating import ENV, records

__all__ = ["INTERNAL", "Published", "client_file_stem", "client_pdf_name", "client_report_name",
           "describe_hours", "finance", "offline_data_docs", "publish_month",
           "render_client_report", "render_dashboard", "write_months_index"]


@dataclass(frozen=True)
class Published:
    """What one publish wrote."""

    folder: Path
    client_reports: int
    finance_lines: int
    pdfs: int
    pdf_skipped_reason: str | None
    pages: int
    bytes: int
    seconds: float
    pdf_seconds: float
    # Clients with no tickets in the month: listed on the month index, no report of their own.
    without_tickets: int = 0


# The internal editions of the client reports (account manager, finance), inside the month folder.
INTERNAL = "internal"


def render_dashboard(con: duckdb.DuckDBPyConnection, month: str, policy_version: str,
                     currency: str, reports: dict[str, str], finance_csv: str,
                     data_docs: bool, plan_names: dict[str, str] | None = None) -> str:
    """The leadership dashboard for the months up to `month`; the browser does the filtering."""
    reconciliation = queries.file_reconciliation(con)
    return ENV.get_template("dashboard.html").render(
        month_label=pd.Timestamp(month).strftime("%B %Y"),
        policy_version=policy_version,
        data_json=dashboard.embed({**dashboard.payload(con, month, currency, reports),
                                   "plan_names": plan_names or {}}),
        files=records(queries.landing_file_status(con)),
        reconciliation=None if reconciliation is None else records(reconciliation),
        rejected_files=records(queries.rejected_files(con)),
        finance_csv=finance_csv,
        data_docs=data_docs,
    )


def _write_month(
    con: duckdb.DuckDBPyConnection, month: str, folder: Path, root: Path, clients: pd.DataFrame,
    policy_version: str, currency: str, pdf: bool, policy: PolicyConfig,
    log: Callable[[str], None],
) -> tuple[int, pdf_printer.PdfRun]:
    """Write every file of the month into `folder` (not yet visible to readers)."""
    label = month[:7]
    month_label = pd.Timestamp(month).strftime("%B %Y")
    # One copy of plotly.js per month folder instead of 4.8 MB inlined in every page.
    (folder / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    shutil.copyfile(dashboard.SCRIPT, folder / dashboard.SCRIPT.name)
    closed = invoicing.is_invoiced(root, month)
    adjustments = None
    if closed:
        # Invoiced: the export stays as finance invoiced it, whatever the warehouse says now.
        csv_path, xlsx_path, finance_lines = invoicing.closed_export(root, month, folder)
    else:
        csv_path, xlsx_path, finance_lines = finance.write_export(con, month, folder)
        adjustments = invoicing.adjustments(con, root, month,
                                            portfolio.months(con, month, span=240))
        if len(adjustments):
            finance.add_adjustments(csv_path, xlsx_path, adjustments, invoicing.ADJUSTMENT_COLUMNS)
    data_docs = _copy_data_docs(root, label, folder)
    pdf_reason = pdf_printer.unavailable_reason() if pdf else "PDF output turned off"
    reports, internal = {}, {}
    (folder / INTERNAL).mkdir()
    notes, problems = commentary_notes.read_commentary(landing_dir(), month,
                                                       set(clients["client_id"]))
    for problem in problems:
        log(f"commentary for {label}: {problem}")
    # A report with nothing in it is a file nobody reads: the index lists such clients instead.
    for _, row in clients[clients["tickets"].fillna(0) > 0].iterrows():
        name = client_report_name(row["client_id"])
        for edition, target in ((False, reports), (True, internal)):
            html = render_client_report(con, row, month, policy_version, currency,
                                        pdf=pdf_reason is None, internal=edition, policy=policy,
                                        commentary=notes.get(row["client_id"]))
            path = f"{INTERNAL}/{name}" if edition else name
            (folder / path).write_text(html, encoding="utf-8")
            target[row["client_id"]] = path
    # The dashboard is for staff: each client links to its internal edition.
    (folder / "dashboard.html").write_text(
        render_dashboard(con, month, policy_version, currency, internal, csv_path.name, data_docs,
                         {plan_id: plan.name for plan_id, plan in policy.fair_use.plans.items()}),
        encoding="utf-8",
    )
    index = ENV.get_template("month_index.html").render(
        month_label=month_label,
        clients=records(clients),
        plan_names={plan_id: plan.name for plan_id, plan in policy.fair_use.plans.items()},
        report_name=client_report_name,
        pdf_name=client_pdf_name,
        internal_dir=INTERNAL,
        pdfs=pdf_reason is None,
        policy_version=policy_version,
        currency=currency,
        data_docs=data_docs,
        portfolio_html=figures.portfolio_fair_use(clients),
        agreement=queries.automation_agreement(con, month),
        finance={"csv": csv_path.name, "xlsx": xlsx_path.name, "lines": finance_lines,
                 "totals": [] if closed else finance.month_totals(con, month), "closed": closed,
                 "adjustments": 0 if adjustments is None else len(adjustments)},
        totals={
            "clients": len(clients),
            "tickets": int(clients["tickets"].sum()),
            "standard_units": int(clients["standard_units"].sum()),
            "over": int((clients["fair_use_status"] == "over").sum()),
            "watch": int((clients["fair_use_status"] == "watch").sum()),
        },
    )
    (folder / "index.html").write_text(index, encoding="utf-8")
    if pdf_reason is not None:
        return finance_lines, pdf_printer.PdfRun([], pdf_reason)
    return finance_lines, pdf_printer.print_pages(folder / name for name in reports.values())


def publish_month(
    con: duckdb.DuckDBPyConnection, month: str, root: Path, policy_version: str, currency: str = "",
    pdf: bool = True, log: Callable[[str], None] = print, policy: PolicyConfig | None = None,
) -> Published | None:
    """Write root/YYYY-MM/ atomically: index, client reports (HTML + PDF), dashboard, finance
    export, data-quality docs and one plotly.min.js. None when the month has no client rows."""
    started = time.perf_counter()
    clients = queries.client_months(con, month)
    if clients.empty:
        return None
    root.mkdir(parents=True, exist_ok=True)
    label = month[:7]
    _remove_leftovers(root, label)
    tmp = root / f".{label}.tmp-{os.getpid()}"
    tmp.mkdir()
    try:
        finance_lines, pdf_run = _write_month(con, month, tmp, root, clients, policy_version,
                                              currency, pdf, policy or default_policy(), log)
        final = root / label
        _swap_in(tmp, final)
    except BaseException:
        # A failed or interrupted publish leaves the previous month as it was.
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_months_index(root)
    if pdf and pdf_run.skipped_reason:  # PDFs turned off on purpose need no warning
        log(f"PDF skipped for {label}: {pdf_run.skipped_reason}; the HTML reports are published")
    files = [p for p in final.rglob("*") if p.is_file()]
    without_tickets = int((clients["tickets"].fillna(0) <= 0).sum())
    return Published(
        folder=final, client_reports=len(clients) - without_tickets, finance_lines=finance_lines,
        pdfs=len(pdf_run.written), pdf_skipped_reason=pdf_run.skipped_reason,
        pages=len([p for p in files if p.suffix == ".html"]),
        bytes=sum(p.stat().st_size for p in files), seconds=time.perf_counter() - started,
        pdf_seconds=pdf_run.seconds, without_tickets=without_tickets,
    )
