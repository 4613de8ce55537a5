"""Publish a month: index page, one report per client, shared plotly.js; written atomically."""

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from reports import figures, finance, queries

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
    bytes: int
    seconds: float


def client_report_name(client_id: str) -> str:
    """File name of a client's report inside the month folder."""
    return f"client-{client_id}.html"


def _change(current: float | None, previous: float | None) -> str:
    if previous is None or pd.isna(previous) or current is None or pd.isna(current):
        return "no previous month"
    delta = current - previous
    return f"{'+' if delta >= 0 else ''}{delta:,.2f} vs previous month"


def render_client_report(
    con: duckdb.DuckDBPyConnection, row: pd.Series, month: str, policy_version: str,
    currency: str = "",
) -> str:
    """One client's monthly report; every value comes from that client's rows only."""
    client_id = row["client_id"]
    trend = queries.client_trend(con, client_id, month)
    categories = queries.client_categories(con, client_id, month)
    drivers = queries.client_drivers(con, client_id, month)
    sla_trend = queries.client_sla_trend(con, client_id, month)
    return _ENV.get_template("client_report.html").render(
        c=row,
        month_label=pd.Timestamp(month).strftime("%B %Y"),
        policy_version=policy_version,
        units_change=_change(row["units_per_seat"], row["prev_units_per_seat"]),
        trend_html=figures.fair_use_trend(trend),
        trend=trend.to_dict("records"),
        category_html=figures.category_mix(categories) if len(categories) else "",
        top_categories=drivers[drivers["driver_type"] == "category"].to_dict("records"),
        top_requesters=drivers[drivers["driver_type"] == "requester"].to_dict("records"),
        units=queries.grouped_units(con, client_id, month).to_dict("records"),
        sla_rows=queries.client_sla_by_priority(con, client_id, month).to_dict("records"),
        sla_trend_html=figures.sla_trend(sla_trend) if len(sla_trend) else "",
        breaches=queries.client_breaches(con, client_id, month).to_dict("records"),
        reconciliation=queries.client_reconciliation_summary(con, client_id, month),
        disagreements=queries.client_reconciliation(con, client_id, month).to_dict("records"),
        out_of_scope=queries.client_out_of_scope(con, client_id, month).to_dict("records"),
        scope_hits=queries.client_scope_hits(con, client_id, month).to_dict("records"),
        emergencies=queries.client_emergencies(con, client_id, month).to_dict("records"),
        currency=currency,
        provider_tickets=queries.provider_initiated(con, client_id, month).to_dict("records"),
    )


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace `final` by `tmp` so that readers never see a half-written folder."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def write_months_index(root: Path) -> Path:
    """The top-level index listing every published month, newest first."""
    months = sorted(
        (p.name for p in root.iterdir() if p.is_dir() and (p / "index.html").exists()),
        reverse=True,
    )
    html = _ENV.get_template("months_index.html").render(months=months)
    target = root / "index.html"
    tmp = root / ".index.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target


def publish_month(
    con: duckdb.DuckDBPyConnection, month: str, root: Path, policy_version: str, currency: str = ""
) -> Published | None:
    """Write root/YYYY-MM/ (index, client reports, plotly.min.js) atomically; None if no data."""
    started = time.perf_counter()
    clients = queries.client_months(con, month)
    if clients.empty:
        return None
    root.mkdir(parents=True, exist_ok=True)
    label = month[:7]
    tmp = root / f".{label}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    # One copy of plotly.js per month folder instead of 4.8 MB inlined in every page.
    (tmp / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    csv_path, xlsx_path, finance_lines = finance.write_export(con, month, tmp)
    for _, row in clients.iterrows():
        html = render_client_report(con, row, month, policy_version, currency)
        (tmp / client_report_name(row["client_id"])).write_text(html, encoding="utf-8")
    index = _ENV.get_template("month_index.html").render(
        month_label=pd.Timestamp(month).strftime("%B %Y"),
        clients=clients.to_dict("records"),
        report_name=client_report_name,
        policy_version=policy_version,
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
    (tmp / "index.html").write_text(index, encoding="utf-8")
    final = root / label
    _swap_in(tmp, final)
    write_months_index(root)
    size = sum(p.stat().st_size for p in final.rglob("*") if p.is_file())
    return Published(final, len(clients), finance_lines, size, time.perf_counter() - started)
