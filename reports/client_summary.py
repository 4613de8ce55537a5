"""The first page of a client's report: the summary tiles and the executive summary in plain
words, and what the figures rest on (approved billing, measurable SLA, the client's terms)."""

import pandas as pd

from policy.config import PolicyConfig
from policy.hours import parse_hours_spec
from reports import figures
from reports.templating import missing, plural


def _change(current: float | None, previous: float | None, label: str, unit: str = "",
            better: str | None = None, scale: float = 1.0, digits: int = 0) -> tuple[str, str]:
    """'+0.03 vs Sep 2026' and a class saying whether the move is good, bad or neutral."""
    if missing(previous) or missing(current):
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
    return (int(c["sla_tickets"] or 0) > 0 and not missing(c["sla_compliance"])
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
               f"{billed['approved_amount']:,.2f} ({plural(billed['approved_lines'], 'item')}).")
    if not billed["assessed"]:
        billing = ("Scope and emergencies could not be assessed: no ticket text was delivered for"
                   " this month, so no separately billable work is stated.")
    elif not billed["timed"]:
        # No figure at all: 0.00 would read as "nothing to pay", not "not known".
        billing = ("Amounts are not computed: no time entries were delivered for this month"
                   f" ({plural(billed['approved_lines'], 'approved item')}).")
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
