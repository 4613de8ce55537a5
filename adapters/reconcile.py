"""Reconcile our response-time verdict with the source system's own SLA verdict (`source_sla_met`).

The two rarely measure the same thing: the policy's response time stops at the first human agent
action, in business minutes; a PSA's SLA flag (ServiceNow `made_sla`) usually tracks resolution on
its own schedule. So next to the agreement rate this report tests which definition the source's
flag follows: it finds, per priority, the resolution-time limit that best reproduces the flag. When
that agrees far better than our response verdict does, the disagreement is a definition difference,
not an error on either side.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

# Candidate resolution limits, in calendar hours, tried per priority.
_LIMITS_HOURS = [1, 2, 4, 8, 12, 16, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720]

_COMPARED = """
SELECT f.ticket_id, f.client_id, f.month, f.target_priority, f.response_met, f.source_sla_met,
       f.response_business_minutes, f.response_target_minutes, f.first_response_event,
       f.sla_explanation, t.created_at, t.resolved_at,
       date_diff('minute', t.created_at, t.resolved_at) / 60.0 AS resolution_hours
FROM marts.ticket_facts f JOIN staging.tickets t USING (ticket_id, month)
WHERE f.source_sla_met IS NOT NULL AND f.response_met IS NOT NULL
"""


def reconciliation(con: duckdb.DuckDBPyConnection) -> dict:
    """Agreement figures, the best resolution rule per priority, and sample disagreements."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE compared AS {_COMPARED}")
    with_verdict, compared, agree = con.execute(
        """SELECT (SELECT count(*) FROM marts.ticket_facts WHERE source_sla_met IS NOT NULL),
                  count(*), count(*) FILTER (WHERE response_met = source_sla_met)
           FROM compared"""
    ).fetchone()
    from_view = con.execute(
        "SELECT coalesce(sum(tickets_compared), 0), coalesce(sum(agree), 0) FROM marts.sla_reconciliation"
    ).fetchone()
    matrix = con.execute(
        """SELECT response_met, source_sla_met, count(*),
                  round(median(resolution_hours), 1), round(median(response_business_minutes), 1)
           FROM compared GROUP BY ALL ORDER BY 1, 2"""
    ).fetchall()
    limits = ", ".join(str(h) for h in _LIMITS_HOURS)
    rules = con.execute(
        f"""WITH tried AS (
                SELECT c.target_priority, h.limit_hours,
                       count(*) FILTER (WHERE coalesce(c.resolution_hours <= h.limit_hours, false)
                                              = c.source_sla_met) AS agree,
                       count(*) AS n
                FROM compared c CROSS JOIN (SELECT unnest([{limits}]) AS limit_hours) h
                GROUP BY ALL
            )
            SELECT target_priority, arg_max(limit_hours, agree) AS limit_hours, max(agree) AS agree,
                   any_value(n) AS n
            FROM tried GROUP BY ALL ORDER BY n DESC"""
    ).fetchall()
    rule_agree = sum(r[2] for r in rules)
    samples = con.execute(
        """SELECT ticket_id, client_id, target_priority, response_met, source_sla_met,
                  round(resolution_hours, 1), sla_explanation
           FROM compared WHERE response_met <> source_sla_met
           ORDER BY response_met, resolution_hours DESC NULLS FIRST, ticket_id LIMIT 10"""
    ).fetchall()
    return {
        "tickets_with_source_verdict": with_verdict,
        "compared": compared,
        "agree": agree,
        "agreement_rate": agree / compared if compared else None,
        "view_totals": {"compared": int(from_view[0]), "agree": int(from_view[1])},
        "matrix": matrix,
        "resolution_rules": rules,
        "resolution_rule_agree": rule_agree,
        "resolution_rule_rate": rule_agree / compared if compared else None,
        "samples": samples,
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def render(figures: dict) -> str:
    """The reconciliation as Markdown."""
    if not figures["compared"]:
        return ("# SLA reconciliation with the source's own verdict\n\n"
                f"No ticket carries both the source's verdict and ours"
                f" ({figures['tickets_with_source_verdict']:,} carry the source's): nothing to compare.\n")
    lines = [
        "# SLA reconciliation with the source's own verdict",
        "",
        f"- tickets with a source verdict: {figures['tickets_with_source_verdict']:,}; compared"
        f" (our response clock also decided, i.e. not pending and an SLA applies):"
        f" {figures['compared']:,}",
        f"- **agreement of our response verdict with the source: {_pct(figures['agreement_rate'])}**"
        f" ({figures['agree']:,} agree, {figures['compared'] - figures['agree']:,} disagree)",
        f"- agreement of the best resolution-time rule with the source:"
        f" **{_pct(figures['resolution_rule_rate'])}**",
        "",
        "| our response verdict | source verdict | tickets | median hours to resolve |"
        " median response business minutes |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for ours, theirs, n, hours, minutes in figures["matrix"]:
        lines.append(f"| {'met' if ours else 'missed'} | {'met' if theirs else 'missed'} | {n:,} |"
                     f" {hours} | {minutes} |")
    lines += ["", "Why they differ:", ""]
    cells = {(ours, theirs): (n, hours, minutes) for ours, theirs, n, hours, minutes in figures["matrix"]}
    if (True, False) in cells:
        n, hours, minutes = cells[(True, False)]
        lines.append(
            f"- {n:,} tickets were answered in time by the policy's clock (median {minutes} business"
            f" minutes to the first human action) yet the source says its SLA was missed: they took a"
            f" median {hours} hours to resolve. The source's flag follows resolution, which the policy"
            " says response time is not: a definition difference.")
    if (False, True) in cells:
        n, hours, minutes = cells[(False, True)]
        lines.append(
            f"- {n:,} tickets had no human action within the response target (median {minutes}"
            f" business minutes, or none at all) yet met the source's SLA, resolved in a median"
            f" {hours} hours: the source runs no response clock, so a slow first touch on a ticket"
            " resolved within its resolution target is not a breach there.")
    lines += ["", "Resolution limit (calendar hours) that best reproduces the source's verdict:", "",
              "| priority | limit hours | agreement | tickets |", "| --- | ---: | ---: | ---: |"]
    for priority, limit, agree, n in figures["resolution_rules"]:
        lines.append(f"| {priority} | {limit} | {_pct(agree / n)} | {n:,} |")
    lines += ["", "Disagreeing tickets (first 10):", "",
              "| ticket | client | priority | ours | source | hours to resolve | our clock |",
              "| --- | --- | --- | --- | --- | ---: | --- |"]
    for tid, client, priority, ours, theirs, hours, explanation in figures["samples"]:
        lines.append(f"| {tid} | {client} | {priority} | {'met' if ours else 'missed'} |"
                     f" {'met' if theirs else 'missed'} | {hours} | {explanation} |")
    return "\n".join(lines) + "\n"


def write_reconciliation(warehouse: Path) -> str:
    """Compute, write `<warehouse folder>/sla-reconciliation.md` and return the Markdown."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        text = render(reconciliation(con))
    (warehouse.parent / "sla-reconciliation.md").write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    print(write_reconciliation(Path(sys.argv[1])))
