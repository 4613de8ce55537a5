"""Publish a month: index, client reports (HTML + PDF), dashboard, finance export; atomically."""

import ctypes
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from reports import dashboard, figures, finance, queries
from reports import pdf as pdf_printer

_ENV = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["pct"] = lambda v: "–" if v is None or pd.isna(v) else f"{v * 100:.0f}%"
_ENV.filters["num"] = lambda v, d=2: "–" if v is None or pd.isna(v) else f"{v:,.{d}f}"
_ENV.filters["int"] = lambda v: "–" if v is None or pd.isna(v) else f"{int(v):,}"


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


def client_report_name(client_id: str) -> str:
    """File name of a client's report inside the month folder."""
    return f"client-{client_id}.html"


def client_pdf_name(client_id: str) -> str:
    """File name of a client's PDF report inside the month folder."""
    return f"client-{client_id}.pdf"


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows for a template, with missing values as None (a NaN would print as 'nan')."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def _missing(v: object) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v))


def _change(current: float | None, previous: float | None, label: str, unit: str = "",
            better: str | None = None, scale: float = 1.0, digits: int = 0) -> tuple[str, str]:
    """'+0.03 vs Sep 2026' and a class saying whether the move is good, bad or neutral."""
    if _missing(previous) or _missing(current):
        return "no previous month to compare", "flat"
    delta = (current - previous) * scale
    if round(delta, digits) == 0:
        return f"no change vs {label}", "flat"
    text = f"{'+' if delta > 0 else '−'}{abs(delta):,.{digits}f}{unit} vs {label}"
    if better is None:
        return text, "flat"
    return text, "good" if (delta > 0) == (better == "up") else "bad"


def _kpis(c: pd.Series, trend: pd.DataFrame, month: str, currency: str,
          held_back: int) -> list[dict]:
    """The summary tiles: this month, the change against last month and the 12-month trend."""
    previous_month = pd.Timestamp(month) - pd.DateOffset(months=1)
    prev_rows = trend[trend["month"] == previous_month]
    p = prev_rows.iloc[0] if len(prev_rows) else pd.Series(dtype=object)
    label = previous_month.strftime("%b %Y")

    def spark(col: str, **kw) -> str:
        return figures.sparkline(trend[col].tolist(), **kw)

    declared, confirmed = int(c["emergencies_declared"] or 0), int(c["emergencies_confirmed"] or 0)
    tiles = [
        {"label": "Tickets received", "value": f"{int(c['tickets']):,}", "href": "#tickets",
         "note": f"{int(c['provider_initiated_tickets'])} opened by our monitoring, not counted",
         "change": _change(c["tickets"], p.get("tickets"), label), "spark": spark("tickets")},
        {"label": "Standard ticket units", "value": f"{int(c['standard_units']):,}", "href": "#units",
         "note": f"from {int(c['standard_tickets'])} standard tickets",
         "change": _change(c["standard_units"], p.get("standard_units"), label),
         "spark": spark("standard_units")},
        {"label": "Units per seat", "value": f"{c['units_per_seat']:.2f}", "href": "#fair-use",
         "status": c["fair_use_status"],
         "note": f"fair-use limit {c['fair_use_limit_per_seat']:.2f} · {c['seats']:.0f} seats",
         "change": _change(c["units_per_seat"], p.get("units_per_seat"), label, better="down",
                           digits=2),
         "spark": spark("units_per_seat", limit=trend["fair_use_limit_per_seat"].tolist())},
        {"label": "Response-time SLA", "href": "#response-times",
         "value": "–" if _missing(c["sla_compliance"]) else f"{c['sla_compliance']:.0%}",
         "note": f"{int(c['sla_met'] or 0)} of {int(c['sla_tickets'] or 0)} answered in time",
         "change": _change(c["sla_compliance"], p.get("sla_compliance"), label, " pts",
                           better="up", scale=100),
         "spark": spark("sla_compliance", percent=True)},
        {"label": "Emergencies declared / confirmed", "value": f"{declared} / {confirmed}",
         "href": "#emergencies",
         "note": ("none declared" if not declared else
                  f"{c['emergency_declaration_precision']:.0%} of declarations confirmed"),
         "change": _change(declared, p.get("emergencies_declared"), label, " declared"),
         "spark": spark("emergencies_declared")},
        {"label": "Out-of-scope work", "href": "#out-of-scope",
         "value": f"{currency} {(c['out_of_scope_amount'] or 0):,.0f}".strip(),
         "note": f"{int(c['out_of_scope_tickets'] or 0)} tickets · {(c['out_of_scope_hours'] or 0):.1f} h"
                 " billable separately",
         "change": _change(c["out_of_scope_amount"], p.get("out_of_scope_amount"), label,
                           f" {currency}".rstrip()),
         "spark": spark("out_of_scope_amount")},
        {"label": "Rows held back", "value": f"{held_back:,}", "href": "#data-quality",
         "note": "rows of yours that failed validation (data quality)", "change": ("", "flat"),
         "spark": ""},
    ]
    for tile in tiles:
        tile["change"], tile["change_class"] = tile["change"]
    return tiles


def render_client_report(
    con: duckdb.DuckDBPyConnection, row: pd.Series, month: str, policy_version: str,
    currency: str = "", pdf: bool = False,
) -> str:
    """One client's monthly report; every value comes from that client's rows only."""
    client_id = row["client_id"]
    trend = queries.client_trend(con, client_id, month)
    categories = queries.client_categories(con, client_id, month)
    drivers = queries.client_drivers(con, client_id, month)
    sla_trend = queries.client_sla_trend(con, client_id, month)
    quarantine = queries.client_quarantine(con, client_id, month)
    out_of_scope = queries.client_out_of_scope(con, client_id, month)
    return _ENV.get_template("client_report.html").render(
        c=row,
        month_label=pd.Timestamp(month).strftime("%B %Y"),
        policy_version=policy_version,
        kpis=_kpis(row, trend, month, currency, int(quarantine["rows"].sum())),
        pdf_name=client_pdf_name(client_id) if pdf else None,
        trend_html=figures.fair_use_trend(trend),
        trend=_records(trend),
        category_html=figures.category_mix(categories) if len(categories) else "",
        top_categories=_records(drivers[drivers["driver_type"] == "category"]),
        top_requesters=_records(drivers[drivers["driver_type"] == "requester"]),
        units=_records(queries.grouped_units(con, client_id, month)),
        sla_rows=_records(queries.client_sla_by_priority(con, client_id, month)),
        sla_trend_html=figures.sla_trend(sla_trend) if len(sla_trend) else "",
        breaches=_records(queries.client_breaches(con, client_id, month)),
        reconciliation=queries.client_reconciliation_summary(con, client_id, month),
        disagreements=_records(queries.client_reconciliation(con, client_id, month)),
        out_of_scope=_records(out_of_scope),
        oos_unreviewed=int((out_of_scope["review_status"] == "unreviewed").sum()),
        scope_hits=_records(queries.client_scope_hits(con, client_id, month)),
        emergencies=_records(queries.client_emergencies(con, client_id, month)),
        currency=currency,
        quarantine=_records(quarantine),
        rejected_files=_records(queries.rejected_files(con)),
        tickets=_records(queries.client_tickets(con, client_id, month)),
    )


def render_dashboard(con: duckdb.DuckDBPyConnection, month: str, policy_version: str,
                     currency: str, reports: dict[str, str], finance_csv: str,
                     data_docs: bool) -> str:
    """The leadership dashboard for the months up to `month`; the browser does the filtering."""
    reconciliation = queries.file_reconciliation(con)
    return _ENV.get_template("dashboard.html").render(
        month_label=pd.Timestamp(month).strftime("%B %Y"),
        policy_version=policy_version,
        data_json=dashboard.embed(dashboard.payload(con, month, currency, reports)),
        files=_records(queries.landing_file_status(con)),
        reconciliation=None if reconciliation is None else _records(reconciliation),
        rejected_files=_records(queries.rejected_files(con)),
        finance_csv=finance_csv,
        data_docs=data_docs,
    )


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_MONTH_FOLDER = re.compile(r"^\d{4}-\d{2}$")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one atomic step (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace `final` by the complete folder `tmp`; readers see the old month or the new one."""
    if not final.exists():
        tmp.rename(final)
        return
    if _exchange(tmp, final):
        shutil.rmtree(tmp)  # now holds the old month
        return
    # Without an atomic exchange, the old month is moved aside for the instant of the swap.
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(root: Path, label: str) -> None:
    """Delete half-written folders of a publish of this month that was killed part-way."""
    for stale in root.glob(f".{label}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in root.glob(f".{label}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)


def write_months_index(root: Path) -> Path:
    """The top-level index listing every published month, newest first."""
    months = [
        {"name": p.name, "label": pd.Timestamp(f"{p.name}-01").strftime("%B %Y"),
         "reports": len(list(p.glob("client-*.html"))),
         "dashboard": (p / "dashboard.html").exists(),
         "data_docs": (p / "data-quality" / "index.html").exists()}
        for p in sorted(root.iterdir(), reverse=True)
        if p.is_dir() and _MONTH_FOLDER.match(p.name) and (p / "index.html").exists()
    ]
    html = _ENV.get_template("months_index.html").render(months=months)
    target = root / "index.html"
    tmp = root / f".index.html.tmp-{os.getpid()}"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target


def _copy_data_docs(root: Path, label: str, folder: Path) -> bool:
    """Copy the month's great-expectations Data Docs (built by the data_docs asset), if any."""
    source = root / ".data_docs" / label
    if not (source / "index.html").exists():
        return False
    shutil.copytree(source, folder / "data-quality")
    return True


def _write_month(
    con: duckdb.DuckDBPyConnection, month: str, folder: Path, root: Path, clients: pd.DataFrame,
    policy_version: str, currency: str, pdf: bool,
) -> tuple[int, pdf_printer.PdfRun]:
    """Write every file of the month into `folder` (not yet visible to readers)."""
    label = month[:7]
    month_label = pd.Timestamp(month).strftime("%B %Y")
    # One copy of plotly.js per month folder instead of 4.8 MB inlined in every page.
    (folder / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    shutil.copyfile(dashboard.SCRIPT, folder / dashboard.SCRIPT.name)
    csv_path, xlsx_path, finance_lines = finance.write_export(con, month, folder)
    data_docs = _copy_data_docs(root, label, folder)
    pdf_reason = pdf_printer.unavailable_reason() if pdf else "PDF output turned off"
    reports = {}
    # A report with nothing in it is a file nobody reads: the index lists such clients instead.
    for _, row in clients[clients["tickets"].fillna(0) > 0].iterrows():
        html = render_client_report(con, row, month, policy_version, currency,
                                    pdf=pdf_reason is None)
        name = client_report_name(row["client_id"])
        (folder / name).write_text(html, encoding="utf-8")
        reports[row["client_id"]] = name
    (folder / "dashboard.html").write_text(
        render_dashboard(con, month, policy_version, currency, reports, csv_path.name, data_docs),
        encoding="utf-8",
    )
    index = _ENV.get_template("month_index.html").render(
        month_label=month_label,
        clients=_records(clients),
        report_name=client_report_name,
        pdf_name=client_pdf_name,
        pdfs=pdf_reason is None,
        policy_version=policy_version,
        currency=currency,
        data_docs=data_docs,
        portfolio_html=figures.portfolio_fair_use(clients),
        agreement=queries.automation_agreement(con, month),
        finance={"csv": csv_path.name, "xlsx": xlsx_path.name, "lines": finance_lines,
                 "amount": float(clients["out_of_scope_amount"].fillna(0).sum())},
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
    pdf: bool = True, log: Callable[[str], None] = print,
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
                                              currency, pdf)
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
