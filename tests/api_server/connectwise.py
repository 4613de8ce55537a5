"""A fake ConnectWise Manage site answering in the documented REST API 3.0 shapes."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from tests.api_server.server import Request, Response

API = "/v4_6_release/apis/3.0/"


def iso(text: str) -> str:
    """ConnectWise writes UTC timestamps with a Z."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def info(at: str, entered: str | None = None) -> dict:
    return {"lastUpdated": iso(at), "dateEntered": iso(entered or at), "updatedBy": "api"}


@dataclass
class FakeConnectWise:
    """Site state (tickets, notes, time entries, companies, agreements) and its endpoints."""

    site: str
    company_id: str
    public_key: str
    private_key: str
    client_id: str
    tickets: dict[int, dict] = field(default_factory=dict)
    notes: dict[int, list[dict]] = field(default_factory=dict)
    time_entries: dict[int, dict] = field(default_factory=dict)
    companies: dict[int, dict] = field(default_factory=dict)
    agreements: dict[int, dict] = field(default_factory=dict)

    def handle(self, request: Request, base_url: str) -> Response:
        prefix = f"/{self.site}{API}"
        if not request.path.startswith(prefix):
            return Response(404, {"code": "NotFound", "message": "Not found"})
        user = base64.b64encode(
            f"{self.company_id}+{self.public_key}:{self.private_key}".encode()).decode()
        if (request.headers.get("authorization") != f"Basic {user}"
                or request.headers.get("clientid") != self.client_id):
            return Response(401, {"code": "Unauthorized", "message": "Invalid credentials"})
        route = request.path[len(prefix):]
        url = base_url + request.path
        lists = {"service/tickets": self.tickets, "time/entries": self.time_entries,
                 "company/companies": self.companies, "finance/agreements": self.agreements}
        if route in lists:
            try:
                records = self._filter(lists[route].values(), request.query.get("conditions", ""))
            except ValueError as exc:
                return Response(400, {"code": "InvalidObject", "message": str(exc)})
            return self._page(records, request, url)
        match = re.fullmatch(r"service/tickets/(\d+)/notes", route)
        if match:
            return self._page(self.notes.get(int(match[1]), []), request, url)
        return Response(404, {"code": "NotFound", "message": "Not found"})

    @staticmethod
    def _filter(records, conditions: str) -> list[dict]:
        found = list(records)
        for clause in [c.strip() for c in conditions.split(" AND ") if c.strip()]:
            since = re.fullmatch(r"lastUpdated>=\[(.+)\]", clause)
            charge = re.fullmatch(r'chargeToType="(\w+)"', clause)
            if since:
                start = datetime.fromisoformat(since[1].replace("Z", "+00:00"))
                found = [r for r in found if datetime.fromisoformat(
                    r["_info"]["lastUpdated"].replace("Z", "+00:00")) >= start]
            elif charge:
                found = [r for r in found if r.get("chargeToType") == charge[1]]
            else:
                raise ValueError(f"unsupported condition {clause!r}")
        return sorted(found, key=lambda r: (r["_info"]["lastUpdated"], r["id"]))

    @staticmethod
    def _page(records: list[dict], request: Request, url: str) -> Response:
        page, size = int(request.query.get("page", 1)), int(request.query.get("pageSize", 25))
        chunk = records[(page - 1) * size: page * size]
        headers = {}
        if page * size < len(records):
            query = {**request.query, "page": page + 1}
            headers["Link"] = f'<{url}?{urlencode(query)}>; rel="next"'
        return Response(200, chunk, headers)
