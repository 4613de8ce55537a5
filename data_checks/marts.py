"""Marts layer suites: the published numbers. Anything wrong here blocks the month's publishing."""

from __future__ import annotations

import duckdb
import pandas as pd

from assets.billing import out_of_scope
from assets.facts import ticket_facts
from assets.marts import client_month, client_month_sla
from data_checks import expectations as ex
from data_checks.validation import CheckSpec, contract_check, frame
from policy.base import FAIR_USE_STATUSES, PRIORITIES, RESPONSE_STATUSES, SCOPE_EXCLUSION_IDS
from policy.config import PolicyConfig

_MONTH = "WHERE month = $month"
# Billed after-hours emergency work has its own line category besides the scope exclusions.
_LINE_CATEGORIES = [*SCOPE_EXCLUSION_IDS, "after_hours_emergency"]


def _between(column: str, low: float | None = None, high: float | None = None, **kw):
    return ex.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high, **kw)


def _a_ge_b(a: str, b: str) -> ex.Expectation:
    return ex.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing"
    )


def _fact_ids(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        *[ex.ExpectColumnValuesToNotBeNull(column=c)
          for c in ("ticket_id", "client_id", "month", "unit_id", "is_standard", "policy_version")],
        ex.ExpectColumnValuesToBeUnique(column="ticket_id"),
        ex.ExpectColumnValuesToBeNull(column="unresolved_client_id"),
    ]


def _fact_sets(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        ex.ExpectColumnValuesToBeInSet(column="priority", value_set=list(PRIORITIES)),
        ex.ExpectColumnValuesToBeInSet(column="target_priority", value_set=list(PRIORITIES)),
        ex.ExpectColumnValuesToBeInSet(column="response_status", value_set=list(RESPONSE_STATUSES)),
        ex.ExpectColumnValuesToBeNull(column="unknown_scope_id"),
    ]


def _fact_clock(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        ex.ExpectColumnValuesToBeNull(column="response_before_creation"),
        _between("response_business_minutes", 0),
        _between("response_target_minutes", 0, strict_min=True),
        ex.ExpectColumnValuesToBeNull(column="verdict_disagrees_with_minutes"),
    ]


def _fact_minutes(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        _between("logged_minutes", 0),
        _between("after_hours_emergency_minutes", 0),
        _a_ge_b("logged_minutes", "after_hours_emergency_minutes"),
    ]


def _client_month_keys(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        *[ex.ExpectColumnValuesToNotBeNull(column=c) for c in ("client_id", "month", "plan")],
        ex.ExpectCompoundColumnsToBeUnique(column_list=["client_id", "month"]),
        ex.ExpectColumnValuesToBeNull(column="unresolved_client_id"),
    ]


def _client_month_invariants(policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        _between("sla_compliance", 0, 1),
        _a_ge_b("sla_tickets", "sla_met"),
        _a_ge_b("tickets", "standard_tickets"),
        _a_ge_b("standard_tickets", "standard_units"),
        _a_ge_b("tickets", "provider_initiated_tickets"),
        _between("seats", 0, strict_min=True),
        _between("units_per_seat", 0),
        _between("fair_use_limit_per_seat", 0, strict_min=True),
        ex.ExpectColumnValuesToBeInSet(column="fair_use_status", value_set=list(FAIR_USE_STATUSES)),
        ex.ExpectColumnValuesToBeInSet(column="plan", value_set=sorted(policy.fair_use.plans)),
        _between("peer_percentile", 0, 1),
        _between("busiest_requesters_share", 0, 1),
        _between("emergency_declaration_precision", 0, 1),
        _between("out_of_scope_amount", 0),
        _between("out_of_scope_hours", 0),
    ]


def _client_month_reconciles(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        _between("tickets_minus_facts", 0, 0),
        _between("standard_units_minus_facts", 0, 0),
        _between("sla_tickets_minus_facts", 0, 0),
        _between("amount_minus_lines", -0.005, 0.005),
    ]


def _volume(con: duckdb.DuckDBPyConnection, params: dict) -> pd.DataFrame:
    """Each client's tickets this month against its own previous months that have data."""
    rules = params["policy"].data_quality.volume_anomaly
    return frame(
        con,
        """WITH history AS (
               SELECT client_id, count(*) AS months, avg(tickets) AS mean,
                      coalesce(stddev_samp(tickets), 0) AS sd
               FROM marts.client_month
               WHERE month < CAST($month AS DATE)
                 AND month >= CAST($month AS DATE) - to_months($history)
               GROUP BY client_id
           )
           SELECT c.client_id, c.tickets, h.months AS history_months,
                  round(h.mean, 1) AS history_mean,
                  -- Poisson noise floor: a count of about m varies by about sqrt(m) anyway.
                  CASE WHEN h.months >= $min_history
                       THEN round((c.tickets - h.mean) / greatest(h.sd, sqrt(h.mean), 1), 2)
                  END AS volume_score
           FROM marts.client_month c LEFT JOIN history h USING (client_id)
           WHERE c.month = $month""",
        {"month": params["month"], "history": rules.history_months,
         "min_history": rules.min_history_months},
    )


def _volume_expectations(policy: PolicyConfig) -> list[ex.Expectation]:
    limit = policy.data_quality.volume_anomaly.max_score
    return [_between("volume_score", -limit, limit)]


def _line_values(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        _between("amount_minus_hours_x_rate", -0.005, 0.005),
        _between("billable_hours", 0),
        _between("hourly_rate", 0, strict_min=True),
        ex.ExpectColumnValuesToBeUnique(column="ticket_id"),
        ex.ExpectColumnValuesToBeInSet(column="primary_category", value_set=_LINE_CATEGORIES),
        ex.ExpectColumnValuesToBeNull(column="unresolved_client_id"),
    ]


def _sla_values(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        ex.ExpectCompoundColumnsToBeUnique(column_list=["client_id", "month", "priority"]),
        ex.ExpectColumnValuesToBeInSet(column="priority", value_set=list(PRIORITIES)),
        _between("sla_compliance", 0, 1),
        _a_ge_b("sla_tickets", "sla_met"),
        _between("sla_pending", 0),
    ]


SPECS = [
    contract_check(ticket_facts, "marts", "marts.ticket_facts"),
    CheckSpec(
        name="ticket_facts_ids", asset=ticket_facts, layer="marts", blocking=True,
        description="One row per ticket id, keys set, and the client resolves to a contract.",
        table="marts.ticket_facts",
        fetch="""SELECT f.ticket_id, f.client_id, f.month, f.unit_id, f.is_standard, f.policy_version,
                        CASE WHEN f.client_id NOT IN (SELECT client_id FROM staging.clients)
                             THEN f.client_id END AS unresolved_client_id
                 FROM marts.ticket_facts f WHERE f.month = $month""",
        expectations=_fact_ids,
    ),
    CheckSpec(
        name="ticket_facts_values_in_sets", asset=ticket_facts, layer="marts", blocking=True,
        description="Priorities, target priorities, response statuses and scope ids are in the"
                    " policy's sets.",
        table="marts.ticket_facts",
        fetch=f"""SELECT priority, target_priority, response_status,
                         list_filter(scope_categories,
                                     lambda s: NOT list_contains({list(SCOPE_EXCLUSION_IDS)}, s))[1]
                             AS unknown_scope_id
                  FROM marts.ticket_facts {_MONTH}""",
        expectations=_fact_sets,
    ),
    CheckSpec(
        name="ticket_facts_response_clock", asset=ticket_facts, layer="marts", blocking=True,
        description="No response before creation, minutes and targets non-negative, met = minutes"
                    " within target.",
        table="marts.ticket_facts",
        fetch=f"""SELECT CASE WHEN first_response_at < created_at THEN ticket_id END
                             AS response_before_creation,
                         response_business_minutes, response_target_minutes,
                         CASE WHEN response_business_minutes IS NOT NULL AND response_met IS DISTINCT FROM
                                   (response_business_minutes <= response_target_minutes)
                              THEN ticket_id END AS verdict_disagrees_with_minutes
                  FROM marts.ticket_facts {_MONTH}""",
        expectations=_fact_clock,
    ),
    CheckSpec(
        name="ticket_facts_minutes", asset=ticket_facts, layer="marts", blocking=True,
        description="Logged minutes are non-negative and after-hours emergency minutes within them.",
        table="marts.ticket_facts",
        fetch=f"SELECT logged_minutes, after_hours_emergency_minutes FROM marts.ticket_facts {_MONTH}",
        expectations=_fact_minutes,
    ),
    contract_check(client_month, "marts", "marts.client_month"),
    CheckSpec(
        name="client_month_keys", asset=client_month, layer="marts", blocking=True,
        description="One row per client and month, and the client resolves to a contract.",
        table="marts.client_month",
        fetch="""SELECT client_id, month, plan,
                        CASE WHEN client_id NOT IN (SELECT client_id FROM staging.clients)
                             THEN client_id END AS unresolved_client_id
                 FROM marts.client_month WHERE month = $month""",
        expectations=_client_month_keys,
    ),
    CheckSpec(
        name="client_month_invariants", asset=client_month, layer="marts", blocking=True,
        description="0 <= compliance <= 1, standard units <= standard tickets <= tickets, seats > 0,"
                    " statuses and shares in range.",
        table="marts.client_month",
        fetch=f"""SELECT sla_compliance, sla_tickets, sla_met, tickets, standard_tickets,
                         standard_units, provider_initiated_tickets, seats, units_per_seat,
                         fair_use_limit_per_seat, fair_use_status, plan,
                         peer_percentile, busiest_requesters_share, emergency_declaration_precision,
                         out_of_scope_amount, out_of_scope_hours
                  FROM marts.client_month {_MONTH}""",
        expectations=_client_month_invariants,
    ),
    CheckSpec(
        name="client_month_reconciles", asset=client_month, layer="marts", blocking=True,
        description="Tickets, standard units and SLA tickets match the facts; amounts match the"
                    " billed lines.",
        table="marts.client_month",
        fetch="""WITH f AS (
                     SELECT client_id, count(*) AS tickets,
                            count(DISTINCT unit_id) FILTER (WHERE is_standard) AS units,
                            count(*) FILTER (WHERE response_status IN ('met', 'breached')) AS sla
                     FROM marts.ticket_facts WHERE month = $month GROUP BY client_id
                 ), o AS (
                     SELECT client_id, sum(amount) AS amount FROM marts.out_of_scope
                     WHERE month = $month GROUP BY client_id
                 )
                 SELECT c.client_id,
                        c.tickets - coalesce(f.tickets, 0) AS tickets_minus_facts,
                        c.standard_units - coalesce(f.units, 0) AS standard_units_minus_facts,
                        c.sla_tickets - coalesce(f.sla, 0) AS sla_tickets_minus_facts,
                        round(c.out_of_scope_amount - coalesce(o.amount, 0), 4) AS amount_minus_lines
                 FROM marts.client_month c
                 LEFT JOIN f USING (client_id) LEFT JOIN o USING (client_id)
                 WHERE c.month = $month""",
        expectations=_client_month_reconciles,
    ),
    CheckSpec(
        name="client_month_volume_anomaly", asset=client_month, layer="marts", blocking=False,
        description="Each client's ticket count is within the policy's band of its own history.",
        table="marts.client_month",
        fetch=_volume,
        expectations=_volume_expectations,
    ),
    CheckSpec(
        name="out_of_scope_lines", asset=out_of_scope, layer="marts", blocking=True,
        description="Amount = hours x rate, hours >= 0, rate > 0, one line per ticket, known"
                    " category and client.",
        table="marts.out_of_scope",
        fetch=f"""SELECT ticket_id, billable_hours, hourly_rate, primary_category,
                         round(amount - round(billable_hours * hourly_rate, 2), 4)
                             AS amount_minus_hours_x_rate,
                         CASE WHEN client_id NOT IN (SELECT client_id FROM staging.clients)
                              THEN client_id END AS unresolved_client_id
                  FROM marts.out_of_scope {_MONTH}""",
        expectations=_line_values,
    ),
    CheckSpec(
        name="client_month_sla_invariants", asset=client_month_sla, layer="marts", blocking=True,
        description="One row per client, month and target priority; 0 <= compliance <= 1,"
                    " met <= tickets.",
        table="marts.client_month_sla",
        fetch=f"""SELECT client_id, month, priority, sla_compliance, sla_tickets, sla_met, sla_pending
                  FROM marts.client_month_sla {_MONTH}""",
        expectations=_sla_values,
    ),
]
