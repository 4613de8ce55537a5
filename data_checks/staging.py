"""Staging layer suites: typed, deduplicated data that every mart number is computed from."""

from __future__ import annotations

from assets.staging import staging_clients, staging_ticket_events, staging_tickets, staging_time_entries
from data_checks import expectations as ex
from data_checks.validation import CheckSpec, contract_check
from policy.base import ACTOR_TYPES, PRIORITIES, TICKET_SOURCES, WORK_TYPES
from policy.config import PolicyConfig


# A failing row as a blocking check's sample names it: file, row and record (quality.issues style).
def _at(alias: str, record: str) -> str:
    return (f"{alias}._source_file || ': row ' || {alias}._source_row || ' (' || {record} || ')'")


# When the file that delivered a row was first seen: nothing in it can have happened later.
_LOADED = """LEFT JOIN (SELECT path, max(first_seen_at) AS loaded_at FROM raw.landing_files
                        GROUP BY path) f ON f.path = {alias}._source_file"""


def _of_staged_ticket(table: str, columns: str, clock: str, late: str) -> str:
    """A month's rows of a ticket's child table (alias e): `columns`, then two flags naming the
    file and row: `unresolved_ticket_id` (no staged ticket of that month) and `late` (`clock`
    after the file's delivery)."""
    return f"""SELECT {columns},
                      CASE WHEN t.ticket_id IS NULL THEN {_at("e", "e.ticket_id")} END
                          AS unresolved_ticket_id,
                      CASE WHEN e.{clock} > f.loaded_at THEN {_at("e", "e.ticket_id")} END
                          AS {late}
               FROM staging.{table} e
               LEFT JOIN staging.tickets t ON t.ticket_id = e.ticket_id AND t.month = e.month
               {_LOADED.format(alias="e")}
               WHERE e.month = $month"""


def _null(*columns: str):
    return lambda _policy: [ex.ExpectColumnValuesToBeNull(column=c) for c in columns]


def _client_values(policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        *[ex.ExpectColumnValuesToNotBeNull(column=c)
          for c in ("client_id", "valid_from", "timezone", "plan", "seats")],
        ex.ExpectCompoundColumnsToBeUnique(column_list=["client_id", "valid_from"]),
        ex.ExpectColumnValuesToBeNull(column="invalid_timezone"),
        ex.ExpectColumnValuesToBeInSet(column="plan", value_set=sorted(policy.fair_use.plans)),
        ex.ExpectColumnValuesToBeBetween(column="seats", min_value=0, strict_min=True),
        ex.ExpectColumnValuesToBeBetween(column="hourly_rate", min_value=0, strict_min=True),
        ex.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="valid_to", column_B="valid_from", ignore_row_if="either_value_is_missing"
        ),
    ]


def _ticket_ids(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        ex.ExpectColumnValuesToNotBeNull(column="ticket_id"),
        ex.ExpectColumnValuesToNotBeNull(column="client_id"),
        ex.ExpectColumnValuesToBeUnique(column="ticket_id"),
        ex.ExpectColumnValuesToBeNull(column="also_staged_in_month"),
    ]


def _ticket_priorities(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [ex.ExpectColumnValuesToBeInSet(column=c, value_set=list(PRIORITIES))
            for c in ("triage_priority", "final_priority")]


def _ticket_sources(policy: PolicyConfig) -> list[ex.Expectation]:
    sources = sorted({*TICKET_SOURCES, *policy.ticket_unit.provider_initiated_sources})
    return [ex.ExpectColumnValuesToBeInSet(column="source", value_set=sources)]


def _event_values(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        ex.ExpectColumnValuesToNotBeNull(column="ticket_id"),
        ex.ExpectColumnValuesToNotBeNull(column="event_at"),
        ex.ExpectColumnValuesToBeUnique(column="event_id"),
        ex.ExpectColumnValuesToBeInSet(column="actor_type", value_set=list(ACTOR_TYPES)),
        ex.ExpectColumnValuesToBeNull(column="unresolved_ticket_id"),
        ex.ExpectColumnValuesToBeNull(column="event_after_load"),
    ]


def _entry_values(_policy: PolicyConfig) -> list[ex.Expectation]:
    return [
        ex.ExpectColumnValuesToNotBeNull(column="ticket_id"),
        ex.ExpectColumnValuesToBeUnique(column="entry_id"),
        ex.ExpectColumnValuesToNotBeNull(column="minutes"),
        ex.ExpectColumnValuesToBeBetween(column="minutes", min_value=0),
        ex.ExpectColumnValuesToBeNull(column="invalid_minutes"),
        ex.ExpectColumnValuesToBeNull(column="unresolved_ticket_id"),
        ex.ExpectColumnValuesToBeNull(column="entry_after_load"),
    ]


def _work_types(policy: PolicyConfig) -> list[ex.Expectation]:
    known = {*WORK_TYPES, *policy.scope_classification.time_signals.onsite_work_types,
             *policy.scope_classification.time_signals.travel_work_types}
    return [ex.ExpectColumnValuesToBeInSet(column="work_type", value_set=sorted(known))]


SPECS = [
    CheckSpec(
        name="staging_clients_contracts", asset=staging_clients, layer="staging", blocking=True,
        description="One contract row per client and valid_from; valid zone, plan, seats, rate, dates.",
        table="staging.clients",
        fetch="""SELECT client_id, valid_from, valid_to, timezone, plan, seats, hourly_rate,
                        CASE WHEN timezone NOT IN (SELECT name FROM pg_timezone_names())
                             THEN timezone END AS invalid_timezone
                 FROM staging.clients""",
        expectations=_client_values,
    ),
    contract_check(staging_tickets, "staging", "staging.tickets"),
    CheckSpec(
        name="staging_tickets_ids", asset=staging_tickets, layer="staging", blocking=True,
        description="ticket_id is set and unique, and the ticket is staged in this month only.",
        table="staging.tickets",
        fetch=f"""SELECT t.ticket_id, t.client_id,
                        CASE WHEN o.month IS NOT NULL THEN {_at("t", "t.ticket_id")}
                             || ' also staged in ' || strftime(o.month, '%Y-%m') END
                            AS also_staged_in_month
                 FROM staging.tickets t
                 -- Semi-join first: only this month's ids are looked up in the other months.
                 LEFT JOIN (SELECT ticket_id, min(month) AS month FROM staging.tickets
                            WHERE month <> $month AND ticket_id IN (
                                SELECT ticket_id FROM staging.tickets WHERE month = $month)
                            GROUP BY ticket_id) o USING (ticket_id)
                 WHERE t.month = $month""",
        expectations=_ticket_ids,
    ),
    CheckSpec(
        name="staging_tickets_client_resolves", asset=staging_tickets, layer="staging",
        blocking=True,
        description="Every ticket has a client contract in force on the day it was opened.",
        table="staging.tickets",
        fetch=f"""SELECT CASE WHEN c.ticket_id IS NULL THEN {_at("t", "t.client_id")} END
                            AS unresolved_client_id
                 FROM staging.tickets t
                 LEFT JOIN (SELECT DISTINCT ticket_id, client_id FROM staging.ticket_contract
                            WHERE month = $month) c
                   ON c.ticket_id = t.ticket_id AND c.client_id = t.client_id
                 WHERE t.month = $month""",
        expectations=_null("unresolved_client_id"),
    ),
    CheckSpec(
        name="staging_tickets_priorities", asset=staging_tickets, layer="staging", blocking=True,
        description="Normalised triage and final priorities are policy priorities (or empty).",
        table="staging.tickets",
        fetch="SELECT triage_priority, final_priority FROM staging.tickets WHERE month = $month",
        expectations=_ticket_priorities,
    ),
    CheckSpec(
        name="staging_tickets_sources", asset=staging_tickets, layer="staging", blocking=False,
        description="source is one of the canonical sources or a provider-initiated source.",
        table="staging.tickets",
        fetch="SELECT source FROM staging.tickets WHERE month = $month",
        expectations=_ticket_sources,
    ),
    CheckSpec(
        name="staging_tickets_not_in_future", asset=staging_tickets, layer="staging",
        blocking=True,
        description="No ticket was created after its file was delivered (a misread zone or clock).",
        table="staging.tickets",
        fetch=f"""SELECT CASE WHEN t.created_at > f.loaded_at THEN {_at("t", "t.ticket_id")} END
                             AS created_after_load
                  FROM staging.tickets t {_LOADED.format(alias="t")}
                  WHERE t.month = $month""",
        expectations=_null("created_after_load"),
    ),
    CheckSpec(
        name="staging_tickets_time_order", asset=staging_tickets, layer="staging", blocking=False,
        description="resolved_at is not before created_at; nothing changed after the delivery.",
        table="staging.tickets",
        fetch=f"""SELECT CASE WHEN t.resolved_at < t.created_at THEN t.ticket_id END
                             AS resolved_before_created,
                         CASE WHEN greatest(t.resolved_at, t.updated_at) > f.loaded_at
                              THEN t.ticket_id END AS changed_after_load
                  FROM staging.tickets t {_LOADED.format(alias="t")}
                  WHERE t.month = $month""",
        expectations=_null("resolved_before_created", "changed_after_load"),
    ),
    CheckSpec(
        name="staging_ticket_events_values", asset=staging_ticket_events, layer="staging",
        blocking=True,
        description="Events belong to a staged ticket of the month, event ids are unique, actor types"
                    " are known, and no event is after its delivery.",
        table="staging.ticket_events",
        fetch=_of_staged_ticket("ticket_events", "e.ticket_id, e.event_at, e.event_id, e.actor_type",
                                "event_at", "event_after_load"),
        expectations=_event_values,
    ),
    CheckSpec(
        name="staging_ticket_events_response_order", asset=staging_ticket_events, layer="staging",
        blocking=False,
        description="No agent action before the ticket was created (clock skew; counted as zero"
                    " minutes).",
        table="staging.ticket_events",
        fetch="""SELECT CASE WHEN e.event_at < t.created_at THEN e.ticket_id END
                            AS agent_action_before_creation
                 FROM staging.ticket_events e
                 JOIN staging.tickets t ON t.ticket_id = e.ticket_id AND t.month = e.month
                 WHERE e.month = $month AND e.actor_type = 'agent'""",
        expectations=_null("agent_action_before_creation"),
    ),
    CheckSpec(
        name="staging_time_entries_values", asset=staging_time_entries, layer="staging",
        blocking=True,
        description="Time entries belong to a staged ticket, have unique ids, non-negative minutes,"
                    " and none started after its delivery.",
        table="staging.time_entries",
        fetch=_of_staged_ticket(
            "time_entries",
            f"""e.ticket_id, e.entry_id, e.minutes,
                CASE WHEN e.minutes IS NULL OR NOT isfinite(e.minutes) OR e.minutes < 0
                     THEN {_at("e", "'minutes ' || coalesce(CAST(e.minutes AS VARCHAR), 'empty')")}
                END AS invalid_minutes""",
            "started_at", "entry_after_load"),
        expectations=_entry_values,
    ),
    CheckSpec(
        name="staging_time_entries_work_types", asset=staging_time_entries, layer="staging",
        blocking=False,
        description="work_type is remote/onsite/travel or a value the policy's scope rules read.",
        table="staging.time_entries",
        fetch="SELECT work_type FROM staging.time_entries WHERE month = $month",
        expectations=_work_types,
    ),
]
