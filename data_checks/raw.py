"""Raw layer suites: data as delivered. Staging quarantines bad rows, so most raw checks warn."""

from __future__ import annotations

from assets.raw import raw_clients, raw_tickets
from data_checks import expectations as ex
from data_checks.validation import CheckSpec, contract_check
from policy.base import TICKET_SOURCES
from policy.config import PolicyConfig

_MONTH = "WHERE _partition_month = $month"


def _not_null(*columns: str):
    return lambda _policy: [ex.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def _null(*columns: str):
    return lambda _policy: [ex.ExpectColumnValuesToBeNull(column=c) for c in columns]


def _ticket_values(policy: PolicyConfig) -> list[ex.Expectation]:
    mapped = sorted({v for values in policy.priority_map.values() for v in values})
    sources = sorted({*TICKET_SOURCES, *policy.ticket_unit.provider_initiated_sources})
    return [
        ex.ExpectColumnValuesToBeInSet(column="source", value_set=sources),
        ex.ExpectColumnValuesToBeInSet(column="triage_priority", value_set=mapped),
        ex.ExpectColumnValuesToBeInSet(column="final_priority", value_set=mapped),
    ]


SPECS = [
    contract_check(raw_tickets, "raw", "raw.tickets",
                   note=" (the canonical columns and the lineage)"),
    CheckSpec(
        name="raw_tickets_required_values", asset=raw_tickets, layer="raw", blocking=False,
        description="Delivered tickets carry ticket_id, client_id and created_at (else quarantined).",
        table="raw.tickets",
        fetch=f"""SELECT nullif(trim(ticket_id), '') AS ticket_id,
                         nullif(trim(client_id), '') AS client_id,
                         nullif(trim(created_at), '') AS created_at
                  FROM raw.tickets {_MONTH}""",
        expectations=_not_null("ticket_id", "client_id", "created_at"),
    ),
    CheckSpec(
        name="raw_tickets_timestamps_readable", asset=raw_tickets, layer="raw", blocking=False,
        description="created_at, updated_at and resolved_at read as ISO 8601 where delivered.",
        table="raw.tickets",
        # The offending text, or NULL: GX then lists the values that cannot be read.
        fetch=f"""SELECT {", ".join(
            f"CASE WHEN nullif(trim({c}), '') IS NOT NULL AND try_cast({c} AS TIMESTAMPTZ) IS NULL"
            f" THEN {c} END AS unreadable_{c}" for c in ("created_at", "updated_at", "resolved_at"))}
                  FROM raw.tickets {_MONTH}""",
        expectations=_null("unreadable_created_at", "unreadable_updated_at", "unreadable_resolved_at"),
    ),
    CheckSpec(
        name="raw_tickets_client_known", asset=raw_tickets, layer="raw", blocking=False,
        description="Every delivered ticket's client_id is in a delivered clients file.",
        table="raw.tickets",
        fetch=f"""SELECT CASE WHEN trim(client_id) NOT IN (
                             SELECT trim(client_id) FROM raw.clients WHERE client_id IS NOT NULL)
                         THEN client_id END AS unknown_client_id
                  FROM raw.tickets {_MONTH} AND nullif(trim(client_id), '') IS NOT NULL""",
        expectations=_null("unknown_client_id"),
    ),
    CheckSpec(
        name="raw_tickets_values_in_sets", asset=raw_tickets, layer="raw", blocking=False,
        description="source is a canonical source; priorities are values the policy's priority_map knows.",
        table="raw.tickets",
        fetch=f"""SELECT nullif(lower(trim(source)), '') AS source,
                         nullif(lower(trim(triage_priority)), '') AS triage_priority,
                         nullif(lower(trim(final_priority)), '') AS final_priority
                  FROM raw.tickets {_MONTH}""",
        expectations=_ticket_values,
    ),
    CheckSpec(
        name="raw_tickets_not_in_future", asset=raw_tickets, layer="raw", blocking=False,
        description="No ticket is created after the file that delivered it was loaded.",
        table="raw.tickets",
        fetch=f"""SELECT CASE WHEN try_cast(created_at AS TIMESTAMPTZ) > _loaded_at
                         THEN created_at END AS created_after_load
                  FROM raw.tickets {_MONTH}""",
        expectations=_null("created_after_load"),
    ),
    contract_check(raw_clients, "raw", "raw.clients",
                   note=" (the canonical columns and the lineage)"),
    CheckSpec(
        name="raw_clients_timezones_valid", asset=raw_clients, layer="raw", blocking=False,
        description="Every delivered contract row names an IANA time zone (else quarantined).",
        table="raw.clients",
        fetch="""SELECT CASE WHEN coalesce(trim(timezone), '') NOT IN (SELECT name FROM pg_timezone_names())
                        THEN coalesce(timezone, '(empty)') END AS invalid_timezone
                 FROM raw.clients""",
        expectations=_null("invalid_timezone"),
    ),
]
