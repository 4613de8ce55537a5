"""A fake Zendesk Support account answering in the documented v2 response shapes."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from tests.api_server.server import Request, Response


def iso(moment: datetime | str) -> str:
    """Zendesk writes UTC timestamps with a Z."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unix(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _cursor(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _uncursor(text: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(text.encode()))


@dataclass
class FakeZendesk:
    """Account state (tickets, audits, metrics, users, organizations) and the endpoints over it."""

    subdomain: str
    email: str
    token: str
    tickets: dict[int, dict] = field(default_factory=dict)
    audits: dict[int, list[dict]] = field(default_factory=dict)
    metrics: dict[int, dict] = field(default_factory=dict)
    users: dict[int, dict] = field(default_factory=dict)
    organizations: dict[int, dict] = field(default_factory=dict)
    audit_page_size: int = 2
    _next_id: int = 900_000

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- state helpers -------------------------------------------------------------------
    def add_user(self, user_id: int, name: str, email: str | None, role: str, at: str) -> None:
        self.users[user_id] = {
            "id": user_id, "name": name, "email": email, "role": role, "active": True,
            "url": f"https://{self.subdomain}.zendesk.com/api/v2/users/{user_id}.json",
            "created_at": iso(at), "updated_at": iso(at)}

    def add_organization(self, org_id: int, name: str, external_id: str | None, fields: dict,
                         at: str) -> None:
        self.organizations[org_id] = {
            "id": org_id,
            "url": f"https://{self.subdomain}.zendesk.com/api/v2/organizations/{org_id}.json",
            "name": name,
            "external_id": external_id, "organization_fields": fields, "tags": [],
            "created_at": iso(at), "updated_at": iso(at)}

    def add_audit(self, ticket_id: int, at: str, author_id: int, events: list[dict],
                  via: dict | None = None) -> None:
        audit_id = self.next_id()
        for event in events:
            event.setdefault("id", self.next_id())
        self.audits.setdefault(ticket_id, []).append({
            "id": audit_id, "ticket_id": ticket_id, "created_at": iso(at), "author_id": author_id,
            "via": via or {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "metadata": {}, "events": events})

    # --- HTTP ----------------------------------------------------------------------------
    def handle(self, request: Request, base_url: str) -> Response:
        prefix = f"/{self.subdomain}/api/v2/"
        if not request.path.startswith(prefix):
            return Response(404, {"error": "InvalidEndpoint", "description": "Not found"})
        expected = base64.b64encode(f"{self.email}/token:{self.token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return Response(401, {"error": "Couldn't authenticate you"})
        route = request.path[len(prefix):]
        root = base_url + prefix
        if route == "incremental/tickets/cursor.json":
            return self._cursor_export(request, root + route, "tickets", self.tickets)
        if route == "incremental/users/cursor.json":
            return self._cursor_export(request, root + route, "users", self.users)
        if route == "incremental/organizations.json":
            return self._time_export(request, root + route)
        parts = route.split("/")
        if len(parts) == 3 and parts[0] == "tickets" and parts[2] == "audits.json":
            return self._audits(int(parts[1]), request, root + route)
        if len(parts) == 3 and parts[0] == "tickets" and parts[2] == "metrics.json":
            metric = self.metrics.get(int(parts[1]))
            if metric is None:
                return Response(404, {"error": "RecordNotFound"})
            return Response(200, {"ticket_metric": metric})
        return Response(404, {"error": "InvalidEndpoint"})

    def _changed_since(self, records: dict[int, dict], start: int) -> list[dict]:
        found = [r for r in records.values() if _unix(r["updated_at"]) >= start]
        return sorted(found, key=lambda r: (r["updated_at"], r["id"]))

    def _cursor_export(self, request: Request, url: str, key: str, records: dict) -> Response:
        per_page = int(request.query.get("per_page", 1000))
        if "cursor" in request.query:
            state = _uncursor(request.query["cursor"])
        elif "start_time" in request.query:
            state = {"start": int(request.query["start_time"]), "offset": 0}
        else:
            return Response(400, {"error": "InvalidPaginationParameter",
                                  "description": "start_time or cursor is required"})
        found = self._changed_since(records, state["start"])
        page = found[state["offset"]: state["offset"] + per_page]
        end = state["offset"] + per_page >= len(found)
        after = _cursor({"start": state["start"], "offset": state["offset"] + len(page)})
        return Response(200, {
            key: page, "after_cursor": after, "before_cursor": None,
            "after_url": f"{url}?{urlencode({'cursor': after, 'per_page': per_page})}",
            "before_url": None, "end_of_stream": end})

    def _time_export(self, request: Request, url: str) -> Response:
        start = int(request.query.get("start_time", 0))
        found = self._changed_since(self.organizations, start)
        end_time = _unix(found[-1]["updated_at"]) if found else start
        return Response(200, {
            "organizations": found, "count": len(found), "end_time": end_time,
            "next_page": f"{url}?{urlencode({'start_time': end_time})}", "end_of_stream": True})

    def _audits(self, ticket_id: int, request: Request, url: str) -> Response:
        if ticket_id not in self.tickets:
            return Response(404, {"error": "RecordNotFound"})
        audits = sorted(self.audits.get(ticket_id, []), key=lambda a: (a["created_at"], a["id"]))
        offset = int(request.query.get("page[after]", 0))
        page = audits[offset: offset + self.audit_page_size]
        more = offset + self.audit_page_size < len(audits)
        after = str(offset + len(page))
        return Response(200, {
            "audits": page,
            "meta": {"has_more": more, "after_cursor": after if more else None, "before_cursor": None},
            "links": {"next": f"{url}?{urlencode({'page[after]': after})}" if more else None,
                      "prev": None}})
