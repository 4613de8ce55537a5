"""Publish a month: index, client reports (HTML + PDF), dashboard, finance export; atomically."""

import ctypes
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import duckdb
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from policy.config import PolicyConfig, default_policy, parse_hours_spec
from policy.paths import landing_dir
from reports import commentary as commentary_notes
from reports import dashboard, figures, finance, invoicing, queries
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
# A file name as a link: '#', '?' and '%' would otherwise end or change the path.
_ENV.filters["href"] = lambda name: quote(name, safe="")


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


PRINT_ROWS = 10
# The internal editions of the client reports (account manager, finance), inside the month folder.
INTERNAL = "internal"
# A client id used as it is in a file name: letters, digits, '.', '_' and '-', 100 bytes at most.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


def client_file_stem(client_id: str) -> str:
    """'client-<id>', or for an id that cannot be a file name or URL path as it is ('/', '..',
    '#', '?', '%', NUL, over 100 bytes) 'client-<slug>~<hash>': stable, unique ('~' is never in a
    plain id), and inside the month folder whatever the id holds."""
    if _PLAIN_ID.fullmatch(client_id) and ".." not in client_id:
        return f"client-{client_id}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", client_id).strip(".-")[:40].rstrip(".-") or "id"
    digest = hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"client-{slug.replace('..', '-')}~{digest}"


def client_report_name(client_id: str) -> str:
    """File name of a client's report inside the month folder."""
    return f"{client_file_stem(client_id)}.html"


def client_pdf_name(client_id: str) -> str:
    """File name of a client's PDF report inside the month folder."""
    return f"{client_file_stem(client_id)}.pdf"


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows for a template, with missing values as None (a NaN would print as 'nan')."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def _count(n: int, noun: str) -> str:
    """'1 item', '2 items'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


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


_SLA_UNMEASURABLE = {
    False: "no ticket with a response-time target this month",
    True: "no response events were delivered for your tickets",
}


def _sla_measurable(c: pd.Series, inputs: dict) -> bool:
    """Whether the SLA figure rests on data: targets to judge, and some response events."""
    return (int(c["sla_tickets"] or 0) > 0 and not _missing(c["sla_compliance"])
            and inputs["with_events"] > 0)


def _kpis(c: pd.Series, trend: pd.DataFrame, month: str, currency: str,
          held_back: int, billed: dict) -> list[dict]:
    """The summary tiles: this month, the change against last month and the 12-month trend."""
    previous_month = pd.Timestamp(month) - pd.DateOffset(months=1)
    prev_rows = trend[trend["month"] == previous_month]
    p = prev_rows.iloc[0] if len(prev_rows) else pd.Series(dtype=object)
    label = previous_month.strftime("%b %Y")

    def spark(col: str, **kw) -> str:
        return figures.sparkline(trend[col].tolist(), **kw)

    declared, confirmed = int(c["emergencies_declared"] or 0), int(c["emergencies_confirmed"] or 0)
    measurable = _sla_measurable(c, billed["inputs"])
    pending = billed["pending_lines"]
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
         "value": f"{c['sla_compliance']:.0%}" if measurable else "not measurable",
         "note": (f"{int(c['sla_met'] or 0)} of {int(c['sla_tickets'] or 0)} answered in time"
                  if measurable else _SLA_UNMEASURABLE[bool(int(c["sla_tickets"] or 0))]),
         "change": _change(c["sla_compliance"], p.get("sla_compliance"), label, " pts",
                           better="up", scale=100),
         "spark": spark("sla_compliance", percent=True)},
        {"label": "Emergencies declared / confirmed", "value": f"{declared} / {confirmed}",
         "href": "#emergencies",
         "note": ("none declared" if not declared else
                  f"{c['emergency_declaration_precision']:.0%} of declarations confirmed"),
         "change": _change(declared, p.get("emergencies_declared"), label, " declared"),
         "spark": spark("emergencies_declared")},
        # Only approved lines are billed: pending ones are under review, never in this total.
        {"label": "Out-of-scope work billed", "href": "#out-of-scope",
         "value": f"{currency} {billed['approved_amount']:,.2f}".strip()
         if billed["assessed"] and billed["timed"] else
         "not assessed" if not billed["assessed"] else "not computed",
         "note": f"{billed['approved_lines']} approved item(s)"
                 + (f" · {billed['approved_hours']:.2f} h" if billed["timed"] else "")
                 + (f" · {pending} under review, not billed" if pending else ""),
         "change": _change(billed["approved_amount"], p.get("oos_approved"), label,
                           f" {currency}".rstrip(), digits=2),
         "spark": spark("oos_approved")},
        {"label": "Rows held back", "value": f"{held_back:,}", "href": "#data-quality",
         "note": "rows of yours that failed validation (data quality)", "change": ("", "flat"),
         "spark": ""},
    ]
    for tile in tiles:
        tile["change"], tile["change_class"] = tile["change"]
    return tiles


_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def describe_hours(hours: dict[str, list]) -> str:
    """'Mon–Fri 08:00–18:00; Sat 09:00–13:00': consecutive days with the same hours together."""
    def spans(day: str) -> str:
        return ", ".join(f"{start}–{end}" for start, end in hours.get(day) or [])

    parts, run = [], []
    for day in [*_DAYS, None]:
        if run and (day is None or spans(day) != spans(run[0])):
            if spans(run[0]):
                name = run[0][:3].title() if len(run) == 1 else \
                    f"{run[0][:3].title()}–{run[-1][:3].title()}"
                parts.append(f"{name} {spans(run[0])}")
            run = []
        if day is not None:
            run.append(day)
    return "; ".join(parts) or "no business hours"


def _contract_terms(contract: dict | None, policy: PolicyConfig) -> dict:
    """The client's terms stated in the report: time zone, business hours, emergency cover."""
    if contract is None:
        return {"timezone": "UTC", "hours": describe_hours(policy.business_hours),
                "after_hours": False}
    spec = contract.get("business_hours")
    hours = parse_hours_spec(spec) if spec else policy.business_hours
    return {"timezone": contract["timezone"], "hours": describe_hours(hours),
            "after_hours": bool(contract["after_hours_coverage"])}


def _summary(c: pd.Series, terms: dict, billed: dict, currency: str, policy: PolicyConfig,
             plan_name: str) -> list[dict]:
    """The executive summary: one plain-words paragraph per topic, most important first."""
    settings = policy.reports
    status = c["fair_use_status"]
    fair_use = (f"You used {c['units_per_seat']:.2f} standard ticket units per covered seat this"
                f" month against the {plan_name} plan's fair-use limit of"
                f" {c['fair_use_limit_per_seat']:.2f}; "
                + ("this is the only month in the average" if int(c["rolling_months"]) == 1 else
                   f"over the last {int(c['rolling_months'])} months the average is"
                   f" {c['rolling_units_per_seat']:.2f}") + ".")
    fair_use += {"within": " That is within fair use: nothing changes for you.",
                 "watch": " That is close to the limit: we are keeping an eye on it together.",
                 "over": f" That is over the fair-use limit. {settings.over_fair_use_next_steps}",
                 }.get(status, "")
    goal = settings.sla_goal
    if _sla_measurable(c, billed["inputs"]):
        met = c["sla_compliance"] >= goal
        sla = (f"{int(c['sla_met'])} of {int(c['sla_tickets'])} tickets were answered within their"
               f" response-time target ({c['sla_compliance']:.0%}), "
               + ("meeting" if met else "below") + f" the {goal:.0%} goal.")
    else:
        met = None
        sla = ("Response times are not measurable this month: "
               + _SLA_UNMEASURABLE[bool(int(c["sla_tickets"] or 0))] + ".")
    declared, confirmed = int(c["emergencies_declared"] or 0), int(c["emergencies_confirmed"] or 0)
    emergencies = (f"{declared} ticket(s) were declared emergencies and {confirmed} were confirmed"
                   " as emergencies under the policy." if declared or confirmed else
                   "No emergencies were declared or confirmed.")
    billing = (f"Separately billable work approved this month: {currency} "
               f"{billed['approved_amount']:,.2f} ({_count(billed['approved_lines'], 'item')}).")
    if not billed["assessed"]:
        billing = ("Scope and emergencies could not be assessed: no ticket text was delivered for"
                   " this month, so no separately billable work is stated.")
    elif not billed["timed"]:
        # No figure at all: 0.00 would read as "nothing to pay", not "not known".
        billing = ("Amounts are not computed: no time entries were delivered for this month"
                   f" ({_count(billed['approved_lines'], 'approved item')}).")
    if billed["pending_lines"]:
        billing += (f" {billed['pending_lines']} further item(s) are under review and are not"
                    " billed.")
    cover = ("emergencies are covered 24x7" if terms["after_hours"] else
             "emergencies outside business hours are handled on the next business day's clock")
    return [
        {"title": "Fair use", "status": status, "text": fair_use},
        {"title": "Response times", "status": None if met is None else
         ("within" if met else "over"), "text": sla},
        {"title": "Emergencies", "status": None, "text": emergencies},
        {"title": "Billable work", "status": None, "text": billing},
        {"title": "Your terms", "status": None,
         "text": f"Business hours {terms['hours']} ({terms['timezone']}); {cover}; response-time"
                 f" compliance goal {goal:.0%}."},
    ]


def _billed(out_of_scope: pd.DataFrame, inputs: dict) -> dict:
    """Approved lines (billed) and the rest (under review, not billed), and whether the inputs
    allowed an assessment at all (ticket text, time entries)."""
    approved = out_of_scope[out_of_scope["review_status"] == "approved"]
    return {"inputs": inputs,
            "assessed": inputs["tickets"] == 0 or inputs["with_text"] > 0,
            "timed": inputs["tickets"] == 0 or inputs["with_time"] > 0,
            "approved_amount": float(approved["amount"].sum()),
            "approved_hours": float(approved["billable_hours"].sum()),
            "approved_lines": len(approved),
            "pending_lines": int((out_of_scope["review_status"] != "approved").sum())}


def _emergency_units(emergencies: pd.DataFrame) -> list[dict]:
    """Emergency tickets grouped by ticket unit: one row per interruption, with its ticket ids."""
    if emergencies.empty:
        return []
    grouped = emergencies.sort_values("created_at").groupby("unit_id", sort=False).agg(
        first_at=("created_at", "first"), subject=("subject", "first"),
        tickets=("ticket_id", "count"), ticket_ids=("ticket_id", ", ".join),
        declared=("declared_emergency", "sum"), triage=("triage_priority", "first"),
        confirmed=("confirmed_emergency", "sum"),
        evidence=("emergency_evidence", "first"))
    return _records(grouped.reset_index())


_MISSED_BY_ZERO = re.compile(r"(\d+) business minutes against a (\d+)-minute (\w+) target: missed by 0\.")


def _breach_rows(breaches: pd.DataFrame) -> list[dict]:
    """Breaches as printed: a breach under a minute shows its seconds, never 'missed by 0'."""
    rows = _records(breaches)
    for r in rows:
        minutes, target = r["response_business_minutes"], r["response_target_minutes"]
        r["minutes_text"] = _minutes_text(minutes, target)
        if minutes is not None and r["sla_explanation"]:
            late = (minutes - target) * 60
            r["sla_explanation"] = _MISSED_BY_ZERO.sub(
                f"{minutes:.2f} business minutes against a \\2-minute \\3 target: missed by"
                f" {late:.0f} seconds.", r["sla_explanation"])
    return rows


def _minutes_text(minutes: float | None, target: float | None) -> str:
    """'61 / 60': whole minutes, or two decimals where rounding would hide the verdict."""
    if minutes is None or target is None or pd.isna(minutes):
        return "–"
    if round(minutes) == round(target) and minutes != target:
        return f"{minutes:.2f} / {target:.0f}"
    return f"{minutes:.0f} / {target:.0f}"


def render_client_report(
    con: duckdb.DuckDBPyConnection, row: pd.Series, month: str, policy_version: str,
    currency: str = "", pdf: bool = False, internal: bool = False,
    policy: PolicyConfig | None = None, commentary: Markup | None = None,
) -> str:
    """One client's monthly report; every value comes from that client's rows only.

    The client edition is the document sent to the client: no evidence, confidences, classifier
    detail or staff identities, and only approved out-of-scope work in its total. The internal
    edition (account manager, finance) adds them, from the same template.
    """
    policy = policy or default_policy()
    client_id = row["client_id"]
    trend = queries.client_trend(con, client_id, month)
    oos_trend = queries.client_out_of_scope_trend(con, client_id, month)
    trend = trend.merge(oos_trend[["month", "approved"]].rename(columns={"approved": "oos_approved"}),
                        on="month", how="left")
    trend["oos_approved"] = trend["oos_approved"].fillna(0.0)
    categories = queries.client_categories(con, client_id, month)
    drivers = queries.client_drivers(con, client_id, month)
    sla_trend = queries.client_sla_trend(con, client_id, month)
    quarantine = queries.client_quarantine(con, client_id, month)
    out_of_scope = queries.client_out_of_scope(con, client_id, month)
    billed = _billed(out_of_scope, queries.client_inputs(con, client_id, month))
    if not billed["timed"]:
        # Without time entries hours and amounts are unknown, not zero: shown as '–'.
        out_of_scope = out_of_scope.assign(billable_hours=None, amount=None)
    terms = _contract_terms(queries.client_contract(con, client_id, month), policy)
    zone = terms["timezone"]
    tickets = queries.client_tickets(con, client_id, month)
    tickets["created_local"] = tickets["created_at"].dt.tz_convert(zone)
    units = queries.grouped_units(con, client_id, month)
    units["first_local"] = units["first_at"].dt.tz_convert(zone)
    emergencies = queries.client_emergencies(con, client_id, month)
    plan = policy.fair_use.plans.get(row["plan"])
    plan_name = plan.name if plan else str(row["plan"])
    settings = policy.reports
    show_pending = internal or settings.client_edition_pending == "list"
    return _ENV.get_template("client_report.html").render(
        c=row,
        internal=internal,
        commentary=commentary,
        # The PDF prints the first rows of long tables; the HTML edition holds them all.
        print_rows=PRINT_ROWS,
        up="../" if internal else "",
        provider=settings,
        plan_name=plan_name,
        terms=terms,
        summary=_summary(row, terms, billed, currency, policy, plan_name),
        month_label=pd.Timestamp(month).strftime("%B %Y"),
        policy_version=policy_version,
        kpis=_kpis(row, trend, month, currency, int(quarantine["rows"].sum()), billed),
        pdf_name=client_pdf_name(client_id) if pdf else None,
        trend_html=figures.fair_use_trend_svg(trend),
        trend=_records(trend),
        category_html=figures.category_mix_svg(categories) if len(categories) else "",
        top_categories=_records(drivers[drivers["driver_type"] == "category"]),
        top_requesters=_records(drivers[drivers["driver_type"] == "requester"]),
        units=_records(units),
        sla_rows=_records(queries.client_sla_by_priority(con, client_id, month)),
        sla_trend_html=figures.sla_trend_svg(sla_trend) if len(sla_trend) else "",
        breaches=_breach_rows(queries.client_breaches(con, client_id, month)),
        reconciliation=queries.client_reconciliation_summary(con, client_id, month),
        disagreements=_records(queries.client_reconciliation(con, client_id, month)),
        billed=billed,
        approved=_records(out_of_scope[out_of_scope["review_status"] == "approved"]),
        pending=_records(out_of_scope[out_of_scope["review_status"] != "approved"])
        if show_pending else [],
        out_of_scope=_records(out_of_scope),
        scope_hits=_records(queries.client_scope_hits(con, client_id, month)),
        emergencies=_records(emergencies),
        emergency_units=_emergency_units(emergencies),
        currency=currency,
        quarantine=_records(quarantine),
        rejected_files=_records(queries.rejected_files(con)) if internal else [],
        tickets=_records(tickets),
        tickets_csv=_tickets_csv(tickets),
    )


def _tickets_csv(tickets: pd.DataFrame) -> str:
    """The month's ticket list as a data: URI, so the one HTML file carries its own CSV."""
    table = tickets[["ticket_id", "created_local", "subject", "category", "target_priority",
                     "response_status"]].copy()
    table["created_local"] = table["created_local"].dt.strftime("%Y-%m-%d %H:%M")
    text = finance.csv_safe(table).to_csv(index=False)
    return "data:text/csv;charset=utf-8," + quote(text, safe="")


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
    for page in (folder / "data-quality").rglob("*.html"):
        depth = len(page.relative_to(folder).parts) - 1
        page.write_text(offline_data_docs(page.read_text(encoding="utf-8"), "../" * depth),
                        encoding="utf-8")
    return True


# Great Expectations' pages load bootstrap, jQuery, fonts and vega from CDNs: offline those
# requests fail and the page is unstyled. They are dropped with the page's scripts (which call
# those libraries), a small stylesheet takes their place, and a bar links back to the month (the
# published folder promises to work offline).
_REMOTE_TAG = re.compile(
    r"<link\b[^>]*\bhref=[\"']https?://[^>]*>|<script\b[^>]*>.*?</script>", re.I | re.S)
_OFFLINE_STYLE = (
    "<style>body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2933;"
    "margin:0 auto;max-width:1200px;padding:12px 24px;line-height:1.4}"
    "table{border-collapse:collapse;width:100%;font-size:.88rem;margin:8px 0}"
    "th,td{border-bottom:1px solid #e4e7eb;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f5f7fa}a{color:#2c5282}img{max-width:100%}.collapse:not(.show){display:block}"
    ".msp-nav{display:flex;gap:16px;padding:8px 0;border-bottom:1px solid #e4e7eb;margin-bottom:12px}"
    "</style>")


def offline_data_docs(html: str, up: str) -> str:
    """A Data Docs page without remote requests, styled locally, with links back to the month;
    `up` leads from the page to the month folder."""
    html = _REMOTE_TAG.sub("", html)
    nav = (f'<nav class="msp-nav"><a href="{up}index.html">← Month index</a>'
           f'<a href="{up}dashboard.html">Dashboard</a>'
           f'<a href="{up}data-quality/index.html">Data-quality docs</a></nav>')
    html = re.sub(r"(</head>)", _OFFLINE_STYLE + r"\1", html, count=1, flags=re.I)
    return re.sub(r"(<body\b[^>]*>)", r"\1" + nav.replace("\\", "\\\\"), html, count=1, flags=re.I)


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
                                            queries.portfolio_months(con, month, span=240))
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
        render_dashboard(con, month, policy_version, currency, internal, csv_path.name, data_docs),
        encoding="utf-8",
    )
    index = _ENV.get_template("month_index.html").render(
        month_label=month_label,
        clients=_records(clients),
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
