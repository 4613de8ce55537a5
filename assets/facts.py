"""Ticket facts: one row per ticket with its ticket unit and the policy's views of it."""


import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from assets.calendars import business_calendars
from assets.classification import emergency_readings, scope_hits
from assets.staging import (
    staging_review_decisions,
    staging_ticket_events,
    staging_tickets,
    staging_time_entries,
)
from logic.sla import build_ticket_responses, month_response
from orchestration.monthly import RunInputs, monthly_sql_asset
from orchestration.partitions import check_each_month
from orchestration.sql_checks import sql_check
from policy.config import PolicyConfig
from policy.sql import register_policy


def interruption_pattern(policy: PolicyConfig) -> str:
    """An RE2 pattern matching any interruption term as a whole word or phrase."""
    terms = sorted(policy.ticket_unit.interruption_terms, key=len, reverse=True)
    return r"\b(" + "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in terms) + r")\b"


def _facts_params(run: RunInputs) -> dict:
    """The ticket-unit rules of the policy and the as-of instant, as the model's parameters."""
    ticket_unit = run.policy.ticket_unit
    return {
        "pattern": interruption_pattern(run.policy),
        "gap": ticket_unit.interruption_gap_minutes,
        "min_requesters": ticket_unit.interruption_min_requesters,
        "link_by_parent": ticket_unit.link_by_parent,
        "policy_version": run.policy.version,
        "as_of": run.as_of,
    }


@contextmanager
def ticket_responses(con: DuckDBPyConnection, months: list[str],
                     run: RunInputs) -> Iterator[Mapping[str, Any]]:
    """The response clock of every ticket of `months` (before_range), in an in-memory database
    attached while the months run (every month's connection sees it); a month reads its slice."""
    name = f"facts_range_{uuid.uuid4().hex[:12]}"
    con.execute(f"ATTACH ':memory:' AS {name}")
    try:
        register_policy(con, run.policy)
        build_ticket_responses(con, run.policy, months, run.as_of, f"{name}.ticket_response")
        yield {"ticket_response": f"{name}.ticket_response"}
    finally:
        con.execute(f"DETACH {name}")


# Ticket units (policy section 2) and the policy's views of each ticket: models/marts/ticket_facts.sql.
ticket_facts = monthly_sql_asset(
    "ticket_facts",
    description="One row per ticket of the month: ticket unit, standard or not, and time logged.",
    deps=[
        staging_tickets,
        staging_ticket_events,
        staging_time_entries,
        staging_review_decisions,
        business_calendars,
        scope_hits,
        emergency_readings,
    ],
    params=_facts_params,
    policy_tables=True,
    # The response clock of the run's tickets, once; the model joins the month's (ticket_response).
    before_range=ticket_responses,
    before=lambda con, month, run: month_response(con, run.shared["ticket_response"], month),
    rows_of="staging.tickets",  # a hit (a fact) is a staged ticket's: none in a month without one
    stats_sql="""SELECT count(*) AS row_count,
                        count(DISTINCT unit_id) FILTER (WHERE is_standard) AS standard_units,
                        count(*) FILTER (WHERE unit_rule IN ('parent', 'interruption'))
                            AS tickets_grouped_into_units,
                        count(*) FILTER (WHERE response_status = 'met') AS response_met,
                        count(*) FILTER (WHERE response_status = 'breached') AS response_breached,
                        count(*) FILTER (WHERE response_status = 'pending') AS response_pending
                 FROM marts.ticket_facts WHERE month = $month""",
    summary="{row_count} ticket facts, {standard_units} standard units for {month} in {seconds:.1f} s",
    run_metadata_of=lambda run: {"policy_version": run.policy.version},
)


@sql_check(ticket_facts)
def ticket_facts_one_row_per_ticket(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Exactly one fact row per staged ticket of the month."""

    def check(con: DuckDBPyConnection, month: str) -> dg.AssetCheckResult:
        staged, facts, distinct = con.execute(
            """SELECT (SELECT count(*) FROM staging.tickets WHERE month = $m),
                      (SELECT count(*) FROM marts.ticket_facts WHERE month = $m),
                      (SELECT count(DISTINCT ticket_id) FROM marts.ticket_facts WHERE month = $m)""",
            {"m": month},
        ).fetchone()
        return dg.AssetCheckResult(
            passed=staged == facts == distinct,
            metadata={"staged_tickets": staged, "fact_rows": facts, "distinct_ticket_ids": distinct},
        )

    return check_each_month(context, duckdb, check)

