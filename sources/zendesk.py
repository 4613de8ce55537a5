"""Zendesk Support: incremental ticket export, ticket audits and metrics, users and organizations.

Endpoints (Zendesk Support API v2, as documented in its public reference):
- `GET /api/v2/incremental/tickets/cursor.json?start_time=<unix>`: tickets changed since a time,
  cursor-paginated (`after_url`, `end_of_stream`); every change returns the whole ticket again.
- `GET /api/v2/tickets/{id}/audits.json`: the ticket's audits (Create, Change, Comment,
  Notification events), cursor-paginated (`links.next`, `meta.has_more`).
- `GET /api/v2/tickets/{id}/metrics.json`: the ticket's metric set (`reply_time_in_minutes`).
- `GET /api/v2/incremental/users/cursor.json`: users (requesters, agents) changed since a time.
- `GET /api/v2/incremental/organizations.json?start_time=<unix>`: organizations (clients), time-based
  (`next_page`, `end_of_stream`).
Tickets, users and organizations are pulled incrementally on `updated_at`; audits and metrics are
fetched for the tickets of the current run only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator, SinglePagePaginator

from sources.pull import EndOfStreamPaginator, HttpPolicy, Vendor, vendor_source, wrap
from warehouse.sqlquote import sql_literal


def _unix(value: Any) -> int:
    """Zendesk's start_time is a Unix epoch second; the cursor is kept as ISO 8601 text."""
    if isinstance(value, (int, float)):
        return int(value)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())


# Requesters, agents and clients are read from the beginning on the first pull, however old:
# a ticket of the pulled period names people and organizations created long before it.
EVERYTHING = "1970-01-01T00:00:00Z"


def _incremental(initial: str) -> dict[str, Any]:
    return {
        "start_param": "start_time",
        "cursor_path": "changed_at",
        "initial_value": initial,
        "convert": _unix,
    }


def zendesk_source(
    base_url: str,
    email: str,
    api_token: str,
    start: str,
    policy: HttpPolicy,
) -> Any:
    """The dlt rest_api source for one Zendesk account (base_url ends before /api/v2)."""
    per_page = {"per_page": policy.page_size}
    return vendor_source(
        "zendesk",
        {
            "base_url": base_url.rstrip("/") + "/api/v2/",
            "auth": HttpBasicAuth(f"{email}/token", api_token),
        },
        policy,
        [
            {
                "name": "tickets",
                "endpoint": {
                    "path": "incremental/tickets/cursor.json",
                    "params": per_page,
                    "data_selector": "tickets",
                    "paginator": EndOfStreamPaginator("after_url"),
                    "incremental": _incremental(start),
                },
                "processing_steps": [{"map": wrap("id", "updated_at")}],
            },
            {
                "name": "ticket_audits",
                "endpoint": {
                    "path": "tickets/{resources.tickets.record_id}/audits.json",
                    "data_selector": "audits",
                    "paginator": JSONLinkPaginator(next_url_path="links.next"),
                },
                "processing_steps": [{"map": wrap("id", "created_at")}],
            },
            {
                "name": "ticket_metrics",
                "endpoint": {
                    "path": "tickets/{resources.tickets.record_id}/metrics.json",
                    "data_selector": "ticket_metric",
                    "paginator": SinglePagePaginator(),
                },
                "processing_steps": [{"map": wrap("ticket_id", "updated_at")}],
            },
            {
                "name": "users",
                "endpoint": {
                    "path": "incremental/users/cursor.json",
                    "params": per_page,
                    "data_selector": "users",
                    "paginator": EndOfStreamPaginator("after_url"),
                    "incremental": _incremental(EVERYTHING),
                },
                "processing_steps": [{"map": wrap("id", "updated_at")}],
            },
            {
                "name": "organizations",
                "endpoint": {
                    "path": "incremental/organizations.json",
                    "data_selector": "organizations",
                    "paginator": EndOfStreamPaginator("next_page"),
                    "incremental": _incremental(EVERYTHING),
                },
                "processing_steps": [{"map": wrap("id", "updated_at")}],
            },
        ],
    )


# Zendesk words -> canonical words. Priorities stay Zendesk's (policy priority_map reads them).
_SOURCE = """CASE lower(t.p->'via'->>'channel')
    WHEN 'email' THEN 'email' WHEN 'web' THEN 'portal' WHEN 'voice' THEN 'phone'
    WHEN 'chat' THEN 'chat' WHEN 'native_messaging' THEN 'chat' WHEN 'messaging' THEN 'chat'
    WHEN 'api' THEN 'monitoring' ELSE lower(t.p->'via'->>'channel') END"""

_STATUS = """CASE lower({x}) WHEN 'open' THEN 'in_progress' WHEN 'solved' THEN 'resolved'
    WHEN 'hold' THEN 'on_hold' ELSE lower({x}) END"""


def _custom_field(field_id: int | None) -> str:
    """The value of a ticket custom field by id (as configured), or NULL when not configured."""
    if not field_id:
        return "NULL::VARCHAR"
    return (f"list_filter(CAST(t.p->'custom_fields' AS JSON[]),"
            f" lambda f: f->>'id' = '{int(field_id)}')[1]->>'value'")


# Latest fetched version of each record, across all loads.
_LATEST = "(SELECT record_id, arg_max(payload, _dlt_load_id) AS p FROM {{ds}}.{table} GROUP BY ALL)"

# Audit events flattened: one row per event of each audit fetched in this load.
_AUDIT_EVENTS = """(
    SELECT a.payload->>'ticket_id' AS zd_ticket_id, a.payload->>'created_at' AS audit_at,
           a.payload->>'author_id' AS author_id, lower(a.payload->'via'->>'channel') AS channel,
           a.payload->'via'->'source'->'from'->>'title' AS rule_title,
           e.value AS e, e.value->>'type' AS type, e.value->>'field_name' AS field,
           e.value->>'id' AS event_id, a._dlt_load_id,
           -- The Comment on a ticket's Create audit is its description, not a reply.
           list_contains(json_extract_string(a.payload, '$.events[*].type'), 'Create') AS creates
    FROM {ds}.ticket_audits a, unnest(CAST(a.payload->'events' AS JSON[])) AS e(value)
)"""


def _targets(reply_targets: dict[str, float]) -> str:
    """The policy's response target per priority word, as an inline relation."""
    rows = ", ".join(f"({sql_literal(w.lower())}, {float(m)})" for w, m in reply_targets.items())
    return f"(SELECT * FROM (VALUES {rows}) v(word, minutes))" if rows else (
        "(SELECT NULL::VARCHAR AS word, NULL::DOUBLE AS minutes WHERE false)")


def canonical_sql(
    reply_targets: dict[str, float],
    category_field: int | None = None,
    declared_emergency_field: int | None = None,
    affected_users_field: int | None = None,
) -> dict[str, str]:
    """SQL per canonical entity over one load (`$load`) of the Zendesk tables.

    `reply_targets` maps a priority word to the policy's response target in business minutes:
    Zendesk's own business reply time against it is the source's SLA verdict (`source_sla_met`).
    """
    users = _LATEST.format(table="users")
    tickets = f"""
WITH t AS (SELECT record_id, payload AS p FROM {{ds}}.tickets WHERE _dlt_load_id = $load),
users AS {users},
orgs AS {_LATEST.format(table="organizations")},
ids AS (SELECT record_id, arg_max(payload->>'external_id', _dlt_load_id) AS ext
        FROM {{ds}}.tickets GROUP BY ALL),
-- The priority the ticket was created with (triage) is the Create event on its first audit.
triage AS (SELECT zd_ticket_id, arg_min(e->>'value', audit_at) AS priority
           FROM {_AUDIT_EVENTS} WHERE type = 'Create' AND field = 'priority' GROUP BY ALL),
metrics AS (SELECT record_id, m,
                   try_cast(m->'reply_time_in_minutes'->>'business' AS DOUBLE) AS reply
            FROM (SELECT record_id, arg_max(payload, _dlt_load_id) AS m FROM {{ds}}.ticket_metrics
                  WHERE _dlt_load_id = $load GROUP BY ALL))
SELECT coalesce(t.p->>'external_id', t.record_id) AS ticket_id,
       coalesce(o.p->>'external_id', t.p->>'organization_id') AS client_id,
       coalesce(u.p->>'email', u.p->>'name', t.p->>'requester_id') AS requester,
       t.p->>'created_at' AS created_at, t.p->>'subject' AS subject,
       t.p->>'description' AS description,
       {_custom_field(category_field)} AS category,
       {_SOURCE} AS source,
       {_custom_field(declared_emergency_field)} AS declared_emergency,
       coalesce(tr.priority, t.p->>'priority') AS triage_priority,
       CASE WHEN t.p->>'status' IN ('solved', 'closed') THEN t.p->>'priority' END AS final_priority,
       coalesce(parent.ext, t.p->>'problem_id') AS parent_ticket_id,
       {_custom_field(affected_users_field)} AS affected_users,
       {_STATUS.format(x="t.p->>'status'")} AS status,
       m.m->>'solved_at' AS resolved_at,
       t.p->>'updated_at' AS updated_at,
       CASE WHEN reply IS NOT NULL AND tg.minutes IS NOT NULL
            THEN CAST(reply <= tg.minutes AS VARCHAR) END AS source_sla_met,
       -- Zendesk's own clock, kept for reconciliation (lands in raw._extra).
       m.m->'reply_time_in_minutes'->>'business' AS source_reply_business_minutes,
       m.m->'reply_time_in_minutes'->>'calendar' AS source_reply_calendar_minutes
FROM t
LEFT JOIN users u ON u.record_id = t.p->>'requester_id'
LEFT JOIN orgs o ON o.record_id = t.p->>'organization_id'
LEFT JOIN ids parent ON parent.record_id = t.p->>'problem_id'
LEFT JOIN triage tr ON tr.zd_ticket_id = t.record_id
LEFT JOIN metrics m ON m.record_id = t.record_id
LEFT JOIN {_targets(reply_targets)} tg ON tg.word = lower(t.p->>'priority')
"""
    events = f"""
WITH ev AS (SELECT * FROM {_AUDIT_EVENTS} WHERE _dlt_load_id = $load),
users AS {users},
ids AS (SELECT record_id, arg_max(payload->>'external_id', _dlt_load_id) AS ext
        FROM {{ds}}.tickets GROUP BY ALL),
typed AS (
    SELECT ev.*, u.p AS author,
           CASE WHEN type = 'Create' AND field = 'status' THEN 'created'
                WHEN type = 'Notification' AND channel IN ('rule', 'automation')
                     THEN 'auto_acknowledgement'
                WHEN type = 'Comment' AND creates THEN NULL
                WHEN type = 'Comment' AND u.p->>'role' = 'end-user' THEN 'client_reply'
                WHEN type = 'Comment' AND (e->>'public')::BOOLEAN THEN 'agent_reply'
                WHEN type = 'Comment' THEN 'internal_note'
                WHEN type = 'Change' AND field = 'status' THEN 'status_change'
                WHEN type = 'Change' AND field = 'priority' THEN 'priority_change'
                WHEN type = 'Change' AND field IN ('assignee_id', 'group_id') THEN 'assignment'
           END AS event_type
    FROM ev LEFT JOIN users u ON u.record_id = ev.author_id
)
SELECT 'zendesk:' || event_id AS event_id, coalesce(ids.ext, zd_ticket_id) AS ticket_id,
       audit_at AS event_at, event_type,
       -- Business rules, automations and integrations act for the system, never as a response.
       CASE WHEN author_id = '-1' OR channel IN ('rule', 'automation', 'api') THEN 'system'
            WHEN author->>'role' = 'end-user' THEN 'client'
            ELSE 'agent' END AS actor_type,
       CASE WHEN channel IN ('rule', 'automation') THEN coalesce(rule_title, channel)
            ELSE coalesce(author->>'email', author->>'name', author_id) END AS actor,
       CASE WHEN type = 'Comment' THEN e->>'public'
            WHEN event_type IN ('created', 'auto_acknowledgement', 'status_change') THEN 'true'
            ELSE 'false' END AS is_public,
       CASE WHEN field = 'status' THEN {_STATUS.format(x="e->>'value'")}
            WHEN event_type IN ('priority_change', 'assignment') THEN e->>'value' END AS new_value
FROM typed LEFT JOIN ids ON ids.record_id = zd_ticket_id
WHERE event_type IS NOT NULL
"""
    clients = """
WITH o AS (SELECT record_id, payload AS p, p->'organization_fields' AS f
           FROM {ds}.organizations WHERE _dlt_load_id = $load)
SELECT coalesce(p->>'external_id', record_id) AS client_id, p->>'name' AS name,
       f->>'timezone' AS timezone, f->>'country' AS country, f->>'subdivision' AS subdivision,
       f->>'plan' AS plan, f->>'seats' AS seats, f->>'after_hours_coverage' AS after_hours_coverage,
       f->>'included_scope' AS included_scope, f->>'hourly_rate' AS hourly_rate,
       coalesce(f->>'valid_from', CAST(CAST(p->>'created_at' AS TIMESTAMPTZ) AS DATE)::VARCHAR)
           AS valid_from,
       f->>'business_hours' AS business_hours, f->>'response_targets' AS response_targets,
       f->>'closures' AS closures
FROM o
"""
    return {"clients": clients, "tickets": tickets, "ticket_events": events}


def vendor(
    reply_targets: dict[str, float],
    category_field: int | None = None,
    declared_emergency_field: int | None = None,
    affected_users_field: int | None = None,
) -> Vendor:
    """Zendesk as an API source, with the account's custom field ids for the canonical columns."""
    return Vendor(
        name="zendesk",
        build_source=zendesk_source,
        canonical_sql=canonical_sql(
            reply_targets, category_field, declared_emergency_field, affected_users_field
        ),
    )
