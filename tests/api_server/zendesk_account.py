"""A small hand-written Zendesk account: two clients, agents, requesters and a few tickets."""

from __future__ import annotations

from tests.api_server.zendesk import FakeZendesk, iso

CATEGORY_FIELD = 360001
EMERGENCY_FIELD = 360002
AFFECTED_FIELD = 360003

ORG_FIELDS = {
    "timezone": "Europe/London", "country": "GB", "subdivision": "ENG", "plan": "unlimited",
    "seats": 40, "after_hours_coverage": False, "included_scope": None, "hourly_rate": None,
    "valid_from": "2026-01-01", "business_hours": None, "response_targets": None, "closures": None,
}


def account(subdomain: str, email: str, token: str) -> FakeZendesk:
    """Two organizations, two agents, three requesters; no tickets yet."""
    zd = FakeZendesk(subdomain=subdomain, email=email, token=token)
    zd.add_organization(501, "Pioneer Logistics", "C001", dict(ORG_FIELDS), "2026-01-01T00:00:00Z")
    zd.add_organization(502, "Summit Architects", "C002",
                        {**ORG_FIELDS, "timezone": "Europe/Berlin", "country": "DE",
                         "subdivision": "BY", "seats": 25}, "2026-01-01T00:00:00Z")
    zd.add_user(11, "agent.mona", "mona@provider.example", "agent", "2026-01-01T00:00:00Z")
    zd.add_user(12, "agent.sam", "sam@provider.example", "admin", "2026-01-01T00:00:00Z")
    zd.add_user(21, "Ann", "ann@c001.example", "end-user", "2026-01-01T00:00:00Z")
    zd.add_user(22, "Bob", "bob@c001.example", "end-user", "2026-01-01T00:00:00Z")
    zd.add_user(23, "Cem", "cem@c002.example", "end-user", "2026-01-01T00:00:00Z")
    return zd


def add_ticket(
    zd: FakeZendesk, ticket_id: int, org: int, requester: int, created: str, subject: str,
    priority: str = "normal", status: str = "new", category: str = "Email",
    emergency: bool = False, reply_business: int | None = None,
) -> dict:
    """A ticket created by its requester by email, with its Create audit and auto-acknowledgement."""
    ticket = {
        "id": ticket_id, "external_id": None,
        "url": f"https://{zd.subdomain}.zendesk.com/api/v2/tickets/{ticket_id}.json",
        "created_at": iso(created), "updated_at": iso(created), "type": "incident",
        "subject": subject, "raw_subject": subject, "description": f"{subject} - details",
        "priority": priority, "status": status, "requester_id": requester,
        "submitter_id": requester, "assignee_id": None, "organization_id": org,
        "group_id": None, "problem_id": None, "tags": [],
        "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}},
        "custom_fields": [{"id": CATEGORY_FIELD, "value": category},
                          {"id": EMERGENCY_FIELD, "value": emergency},
                          {"id": AFFECTED_FIELD, "value": 1}],
    }
    zd.tickets[ticket_id] = ticket
    zd.add_audit(ticket_id, created, requester, [
        {"type": "Create", "field_name": "status", "value": status},
        {"type": "Create", "field_name": "priority", "value": priority},
        {"type": "Comment", "body": ticket["description"], "public": True, "author_id": requester},
    ], via={"channel": "email", "source": {"from": {}, "to": {}, "rel": None}})
    zd.add_audit(ticket_id, created, -1, [
        {"type": "Notification", "subject": "We received your request", "recipients": [requester]},
    ], via={"channel": "rule", "source": {"from": {"id": 77, "title": "autoresponder"},
                                          "rel": "trigger"}})
    zd.metrics[ticket_id] = {
        "id": ticket_id + 10_000, "ticket_id": ticket_id, "created_at": iso(created),
        "updated_at": iso(created), "solved_at": None,
        "reply_time_in_minutes": {"calendar": reply_business, "business": reply_business},
        "first_resolution_time_in_minutes": {"calendar": None, "business": None},
    }
    return ticket


def agent_update(
    zd: FakeZendesk, ticket_id: int, at: str, agent: int, reply: str | None = None,
    status: str | None = None, priority: str | None = None, reply_business: int | None = None,
) -> None:
    """An agent action on a ticket: a public reply and/or a status or priority change."""
    ticket = zd.tickets[ticket_id]
    events: list[dict] = []
    if reply:
        events.append({"type": "Comment", "body": reply, "public": True, "author_id": agent})
    if status:
        events.append({"type": "Change", "field_name": "status", "value": status,
                       "previous_value": ticket["status"]})
        ticket["status"] = status
    if priority:
        events.append({"type": "Change", "field_name": "priority", "value": priority,
                       "previous_value": ticket["priority"]})
        ticket["priority"] = priority
    zd.add_audit(ticket_id, at, agent, events)
    ticket["updated_at"] = iso(at)
    metric = zd.metrics[ticket_id]
    metric["updated_at"] = iso(at)
    if reply_business is not None:
        metric["reply_time_in_minutes"] = {"calendar": reply_business, "business": reply_business}
    if status in ("solved", "closed"):
        metric["solved_at"] = iso(at)
