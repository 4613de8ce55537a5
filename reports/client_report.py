"""One client's monthly report, in its client edition (sent to the client) or its internal
edition (account manager, finance), from one template."""

import re
from urllib.parse import quote

import duckdb
import pandas as pd
from markupsafe import Markup

from policy.config import PolicyConfig, default_policy
from reports import figures, finance, queries
from reports.client_summary import _billed, _contract_terms, _kpis, _summary
from reports.file_names import client_pdf_name
from reports.templating import ENV, records

# The PDF prints the first rows of long tables; the HTML edition holds them all.
PRINT_ROWS = 10


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
    return records(grouped.reset_index())


_MISSED_BY_ZERO = re.compile(r"(\d+) business minutes against a (\d+)-minute (\w+) target: missed by 0\.")


def _breach_rows(breaches: pd.DataFrame) -> list[dict]:
    """Breaches as printed: a breach under a minute shows its seconds, never 'missed by 0'."""
    rows = records(breaches)
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
    contract = queries.client_contract(con, client_id, month)
    terms = _contract_terms(contract, policy)
    # The client's own currency, from its contract (staging defaults it to the policy's).
    currency = (contract or {}).get("currency") or currency
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
    return ENV.get_template("client_report.html").render(
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
        trend=records(trend),
        category_html=figures.category_mix_svg(categories) if len(categories) else "",
        top_categories=records(drivers[drivers["driver_type"] == "category"]),
        top_requesters=records(drivers[drivers["driver_type"] == "requester"]),
        units=records(units),
        sla_rows=records(queries.client_sla_by_priority(con, client_id, month)),
        sla_trend_html=figures.sla_trend_svg(sla_trend) if len(sla_trend) else "",
        breaches=_breach_rows(queries.client_breaches(con, client_id, month)),
        reconciliation=queries.client_reconciliation_summary(con, client_id, month),
        disagreements=records(queries.client_reconciliation(con, client_id, month)),
        billed=billed,
        approved=records(out_of_scope[out_of_scope["review_status"] == "approved"]),
        pending=records(out_of_scope[out_of_scope["review_status"] != "approved"])
        if show_pending else [],
        out_of_scope=records(out_of_scope),
        scope_hits=records(queries.client_scope_hits(con, client_id, month)),
        emergencies=records(emergencies),
        emergency_units=_emergency_units(emergencies),
        currency=currency,
        quarantine=records(quarantine),
        rejected_files=records(queries.rejected_files(con)) if internal else [],
        tickets=records(tickets),
        tickets_csv=_tickets_csv(tickets),
    )


def _tickets_csv(tickets: pd.DataFrame) -> str:
    """The month's ticket list as a data: URI, so the one HTML file carries its own CSV."""
    table = tickets[["ticket_id", "created_local", "subject", "category", "target_priority",
                     "response_status"]].copy()
    table["created_local"] = table["created_local"].dt.strftime("%Y-%m-%d %H:%M")
    text = finance.csv_safe(table).to_csv(index=False)
    return "data:text/csv;charset=utf-8," + quote(text, safe="")
