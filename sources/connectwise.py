"""ConnectWise PSA (Manage REST API 3.0): tickets, notes, time entries, companies and agreements.

Endpoints (as documented in the ConnectWise Developer Network's public API reference):
- `GET service/tickets?conditions=lastUpdated>=[<ISO>]&orderBy=...&page=&pageSize=`
- `GET service/tickets/{id}/notes`: the ticket's notes (discussion, internal analysis, resolution).
- `GET time/entries?conditions=chargeToType="ServiceTicket" AND lastUpdated>=[<ISO>]`
- `GET company/companies?conditions=lastUpdated>=[<ISO>]`
- `GET finance/agreements?conditions=lastUpdated>=[<ISO>]`: the client's contract (type = plan).
Lists are JSON arrays paginated by the RFC 5988 `Link` header (`rel="next"`). Every record has
`_info.lastUpdated`, the incremental cursor. Authentication is HTTP Basic with
`<companyId>+<publicKey>:<privateKey>` plus the integration's `clientId` header.
"""

from __future__ import annotations

from typing import Any

from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator

from sources.pull import HttpPolicy, Vendor, vendor_source, wrap
from sources.zendesk import EVERYTHING


def _last_updated(item: dict) -> Any:
    return (item.get("_info") or {}).get("lastUpdated")


def _listing(name: str, path: str, start: str, page_size: int, extra: str = "") -> dict[str, Any]:
    """An incrementally pulled list: only records updated at or after the last cursor."""
    condition = f"{extra} AND " if extra else ""
    return {
        "name": name,
        "endpoint": {
            "path": path,
            "params": {
                "conditions": condition + "lastUpdated>=[{incremental.start_value}]",
                "orderBy": "_info/lastUpdated asc, id asc",
                "pageSize": page_size,
                "page": 1,
            },
            "paginator": HeaderLinkPaginator(),
            "incremental": {"cursor_path": "changed_at", "initial_value": start},
        },
        "processing_steps": [{"map": wrap("id", _last_updated)}],
    }


def connectwise_source(
    base_url: str,
    company_id: str,
    public_key: str,
    private_key: str,
    client_id: str,
    start: str,
    policy: HttpPolicy,
) -> Any:
    """The dlt rest_api source for one ConnectWise Manage site (base_url ends at apis/3.0)."""
    size = policy.page_size
    return vendor_source(
        "connectwise",
        {
            "base_url": base_url.rstrip("/") + "/",
            "auth": HttpBasicAuth(f"{company_id}+{public_key}", private_key),
            "headers": {"clientId": client_id, "Accept": "application/json"},
        },
        policy,
        [
            _listing("tickets", "service/tickets", start, size),
            {
                "name": "ticket_notes",
                "endpoint": {
                    "path": "service/tickets/{resources.tickets.record_id}/notes",
                    "params": {"pageSize": size, "page": 1},
                    "paginator": HeaderLinkPaginator(),
                },
                "processing_steps": [{"map": wrap("id", _last_updated)}],
            },
            _listing("time_entries", "time/entries", start, size,
                     extra='chargeToType="ServiceTicket"'),
            # Clients and contracts are read from the beginning on the first pull, however old.
            _listing("companies", "company/companies", EVERYTHING, size),
            _listing("agreements", "finance/agreements", EVERYTHING, size),
        ],
    )


def _custom(caption: str, record: str = "p") -> str:
    """A custom field's value by its caption (ConnectWise `customFields`)."""
    return (f"list_filter(CAST({record}->'customFields' AS JSON[]),"
            f" lambda f: lower(f->>'caption') = '{caption.lower()}')[1]->>'value'")


_SOURCE = """CASE WHEN lower(t.p->'source'->>'name') LIKE '%mail%' THEN 'email'
    WHEN lower(t.p->'source'->>'name') LIKE '%phone%' THEN 'phone'
    WHEN lower(t.p->'source'->>'name') IN ('portal', 'web', 'web portal') THEN 'portal'
    WHEN lower(t.p->'source'->>'name') LIKE '%chat%' THEN 'chat'
    WHEN regexp_matches(lower(t.p->'source'->>'name'), 'monitor|automate|rmm|alert') THEN 'monitoring'
    ELSE lower(t.p->'source'->>'name') END"""


def canonical_sql() -> dict[str, str]:
    """SQL per canonical entity over one load (`$load`) of the ConnectWise tables."""
    tickets = f"""
WITH t AS (SELECT record_id, payload AS p FROM {{ds}}.tickets WHERE _dlt_load_id = $load),
-- Triage priority: the priority of the first version of the ticket this account delivered.
first_seen AS (SELECT record_id, arg_min(payload->'priority'->>'name', _dlt_load_id) AS priority
               FROM {{ds}}.tickets GROUP BY ALL),
-- The description is the note flagged as the detail description.
described AS (SELECT payload->>'ticketId' AS ticket_id,
                     arg_min(payload->>'text', payload->>'dateCreated') AS text
              FROM {{ds}}.ticket_notes WHERE (payload->>'detailDescriptionFlag')::BOOLEAN
              GROUP BY ALL)
SELECT t.record_id AS ticket_id, t.p->'company'->>'identifier' AS client_id,
       coalesce(t.p->>'contactEmailAddress', t.p->>'contactName', t.p->'contact'->>'name')
           AS requester,
       t.p->'_info'->>'dateEntered' AS created_at, t.p->>'summary' AS subject,
       coalesce(d.text, t.p->>'initialDescription') AS description,
       t.p->'type'->>'name' AS category, {_SOURCE} AS source,
       {_custom("Declared Emergency", "t.p")} AS declared_emergency,
       fs.priority AS triage_priority,
       CASE WHEN (t.p->>'closedFlag')::BOOLEAN THEN t.p->'priority'->>'name' END AS final_priority,
       t.p->>'parentTicketId' AS parent_ticket_id,
       {_custom("Affected Users", "t.p")} AS affected_users,
       replace(lower(trim(t.p->'status'->>'name')), ' ', '_') AS status, t.p->>'closedDate' AS resolved_at,
       t.p->'_info'->>'lastUpdated' AS updated_at,
       -- ConnectWise's own verdict on the ticket's SLA.
       t.p->>'isInSla' AS source_sla_met,
       t.p->>'respondedMinutes' AS source_responded_minutes
FROM t LEFT JOIN first_seen fs USING (record_id)
LEFT JOIN described d ON d.ticket_id = t.record_id
"""
    events = """
WITH n AS (SELECT record_id, payload AS p FROM {ds}.ticket_notes WHERE _dlt_load_id = $load)
SELECT 'connectwise:note:' || record_id AS event_id, p->>'ticketId' AS ticket_id,
       p->>'dateCreated' AS event_at,
       CASE WHEN coalesce(json_type(p->'member'), 'NULL') = 'NULL' THEN 'client_reply'
            WHEN (p->>'internalAnalysisFlag')::BOOLEAN THEN 'internal_note'
            ELSE 'agent_reply' END AS event_type,
       CASE WHEN coalesce(json_type(p->'member'), 'NULL') = 'NULL' THEN 'client'
            ELSE 'agent' END AS actor_type,
       coalesce(p->'member'->>'identifier', p->'contact'->>'name', p->>'createdBy') AS actor,
       CAST(NOT coalesce((p->>'internalAnalysisFlag')::BOOLEAN, false) AS VARCHAR) AS is_public,
       NULL AS new_value
FROM n
-- The detail description is the ticket's own text, not a reply.
WHERE NOT coalesce((p->>'detailDescriptionFlag')::BOOLEAN, false)
"""
    time_entries = """
WITH e AS (SELECT record_id, payload AS p, lower(p->'workType'->>'name') AS work
           FROM {ds}.time_entries WHERE _dlt_load_id = $load)
SELECT 'connectwise:' || record_id AS entry_id, p->>'chargeToId' AS ticket_id,
       p->>'timeStart' AS started_at,
       CAST(round(CAST(p->>'actualHours' AS DOUBLE) * 60, 2) AS VARCHAR) AS minutes,
       CASE WHEN regexp_matches(work, 'on-?site|on site') THEN 'onsite'
            WHEN work LIKE '%travel%' THEN 'travel' ELSE 'remote' END AS work_type,
       CAST(p->>'billableOption' = 'Billable' AS VARCHAR) AS billable,
       p->>'notes' AS note,
       -- Kept in raw._extra: the PSA's own after-hours marking of the work.
       p->'workType'->>'name' AS psa_work_type,
       CAST(regexp_matches(concat(work, ' ', lower(p->'workRole'->>'name')), 'after.?hours')
            AS VARCHAR) AS psa_after_hours
FROM e
"""
    clients = f"""
WITH a AS (SELECT record_id, payload AS p FROM {{ds}}.agreements WHERE _dlt_load_id = $load),
companies AS (SELECT record_id, arg_max(payload, _dlt_load_id) AS c
              FROM {{ds}}.companies GROUP BY ALL)
SELECT coalesce(c.c->>'identifier', a.p->'company'->>'identifier') AS client_id,
       coalesce(c.c->>'name', a.p->'company'->>'name') AS name,
       {_custom("Time Zone", "a.p")} AS timezone, {_custom("Country", "a.p")} AS country,
       {_custom("Subdivision", "a.p")} AS subdivision, lower(a.p->'type'->>'name') AS plan,
       {_custom("Seats", "a.p")} AS seats,
       {_custom("After Hours Coverage", "a.p")} AS after_hours_coverage,
       {_custom("Included Scope", "a.p")} AS included_scope,
       {_custom("Hourly Rate", "a.p")} AS hourly_rate,
       left(a.p->>'startDate', 10) AS valid_from,
       {_custom("Business Hours", "a.p")} AS business_hours,
       {_custom("Response Targets", "a.p")} AS response_targets,
       {_custom("Closures", "a.p")} AS closures
FROM a LEFT JOIN companies c ON c.record_id = a.p->'company'->>'id'
WHERE NOT coalesce((a.p->>'cancelledFlag')::BOOLEAN, false)
"""
    return {"clients": clients, "tickets": tickets, "ticket_events": events,
            "time_entries": time_entries}


def vendor() -> Vendor:
    """ConnectWise PSA as an API source."""
    return Vendor(name="connectwise", build_source=connectwise_source,
                  canonical_sql=canonical_sql())
