"""The same tickets two ways: canonical landing files, and a fake Zendesk account serving them.

Zendesk cannot say everything a canonical file can (four priority words, its own statuses, no
final priority while a ticket is open), so the demo is first rewritten into what Zendesk can
express; both paths then carry exactly the same tickets.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from tests.api_server.zendesk import FakeZendesk, iso

WORD = {"emergency": "urgent", "high": "high", "normal": "normal", "low": "low"}
TO_ZENDESK_STATUS = {"new": "new", "open": "new", "in_progress": "open", "pending": "pending",
                     "on_hold": "hold", "resolved": "solved", "closed": "closed"}
FROM_ZENDESK_STATUS = {"new": "new", "open": "in_progress", "pending": "pending", "hold": "on_hold",
                       "solved": "resolved", "closed": "closed"}
CHANNEL = {"email": "email", "portal": "web", "phone": "voice", "chat": "chat", "monitoring": "api"}
PUBLIC = {"created": "true", "auto_acknowledgement": "true", "status_change": "true",
          "priority_change": "false", "assignment": "false"}


def read_rows(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        with path.open(newline="") as fh:
            return list(csv.DictReader(fh))
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _status(value: str) -> str:
    return FROM_ZENDESK_STATUS[TO_ZENDESK_STATUS.get(value.strip().lower(), "open")]


def zendesk_expressible(demo: Path, out: Path, priority_of: dict[str, str]) -> None:
    """Copy a demo landing folder, rewriting tickets and events into Zendesk's vocabulary."""
    groups: dict[str, str] = {}
    for path in sorted(demo.rglob("*")):
        if not path.is_file():
            continue
        target = out / path.relative_to(demo)
        entity = path.relative_to(demo).parts[0]
        if entity not in ("tickets", "ticket_events"):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
            continue
        rows = read_rows(path)
        for row in rows:
            if entity == "tickets":
                row["triage_priority"] = WORD[priority_of[row["triage_priority"].strip().lower()]]
                row["status"] = _status(row["status"])
                final = row.get("final_priority") or row["triage_priority"]
                row["final_priority"] = (WORD[priority_of[final.strip().lower()]]
                                         if row["status"] in ("resolved", "closed") else "")
            else:
                kind = row["event_type"]
                if kind in ("status_change", "created"):
                    row["new_value"] = _status(row["new_value"] or "new")
                elif kind == "priority_change":
                    row["new_value"] = WORD[priority_of[row["new_value"].strip().lower()]]
                elif kind == "assignment":
                    row["new_value"] = groups.setdefault(row["new_value"], str(len(groups) + 1))
                row["is_public"] = PUBLIC.get(kind, row["is_public"])
        write_rows(target, rows)


def _latest(rows: list[dict], key: str, order: str) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for row in rows:
        if row[key] not in latest or row[order] >= latest[row[key]][order]:
            latest[row[key]] = row
    return latest


def account_from_landing(landing: Path, subdomain: str, email: str, token: str,
                         fields: tuple[int, int, int]) -> FakeZendesk:
    """A Zendesk account holding the latest version of every ticket of a canonical landing folder."""
    def rows(entity: str) -> list[dict]:
        return [r for p in sorted((landing / entity).glob("*")) for r in read_rows(p)]

    zd = FakeZendesk(subdomain=subdomain, email=email, token=token)
    category, emergency, affected = fields
    users: dict[tuple[str, str], int] = {}

    def user(identity: str, role: str) -> int:
        if (role, identity) not in users:
            uid = 10_000 + len(users)
            users[(role, identity)] = uid
            # Agents are known by name, clients and integrations by email (as the mapping reads).
            zd.add_user(uid, identity, None if role == "agent" else identity,
                        "end-user" if role == "client" else "agent", "2020-01-01T00:00:00Z")
        return users[(role, identity)]

    orgs = {}
    for client_id, row in _latest(rows("clients"), "client_id", "valid_from").items():
        org_id = 500 + len(orgs)
        orgs[client_id] = org_id
        fields_ = {k: (row[k] or None) for k in row if k not in ("client_id", "name")}
        zd.add_organization(org_id, row["name"], client_id, fields_, "2020-01-01T00:00:00Z")

    tickets = _latest(rows("tickets"), "ticket_id", "updated_at")
    zid = {tid: int("".join(c for c in tid if c.isdigit())) for tid in tickets}
    events: dict[str, list[dict]] = {}
    for event in sorted(rows("ticket_events"), key=lambda e: (e["ticket_id"], e["event_at"])):
        events.setdefault(event["ticket_id"], []).append(event)

    for tid, t in tickets.items():
        number = zid[tid]
        history = events.get(tid, [])
        changes = [e["new_value"] for e in history if e["event_type"] == "priority_change"]
        priority = t["final_priority"] or (changes[-1] if changes else t["triage_priority"])
        requester = user(t["requester"], "client") if t["requester"] else None
        zd.tickets[number] = {
            "id": number, "external_id": tid, "created_at": iso(t["created_at"]),
            "updated_at": iso(t["updated_at"]), "subject": t["subject"],
            "description": t["description"], "priority": priority,
            "status": TO_ZENDESK_STATUS[t["status"]], "requester_id": requester,
            "organization_id": orgs[t["client_id"]],
            "problem_id": zid.get(t["parent_ticket_id"]) if t["parent_ticket_id"] else None,
            "via": {"channel": CHANNEL[t["source"]], "source": {"from": {}, "to": {}, "rel": None}},
            "custom_fields": [
                {"id": category, "value": t["category"] or None},
                {"id": emergency, "value": {"true": True, "false": False}.get(t["declared_emergency"])},
                {"id": affected, "value": t["affected_users"] or None}],
            "tags": [],
        }
        zd.metrics[number] = {
            "id": number, "ticket_id": number, "created_at": iso(t["created_at"]),
            "updated_at": iso(t["updated_at"]),
            "solved_at": iso(t["resolved_at"]) if t["resolved_at"] else None,
            "reply_time_in_minutes": {"calendar": None, "business": None}}
        for e in history:
            kind, at = e["event_type"], e["event_at"]
            web = {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}}
            rule = {"channel": "rule", "source": {"from": {"id": 1, "title": e["actor"]},
                                                  "rel": "trigger"}}
            if kind == "created":
                system = e["actor_type"] == "system"
                author = user(e["actor"], "agent" if system else "client")
                via = {"channel": "api" if system else CHANNEL[t["source"]],
                       "source": {"from": {}, "to": {}, "rel": None}}
                zd.add_audit(number, at, author, [
                    {"type": "Create", "field_name": "status", "value": TO_ZENDESK_STATUS[e["new_value"]]},
                    {"type": "Create", "field_name": "priority", "value": t["triage_priority"]},
                    {"type": "Comment", "body": t["description"], "public": True}], via=via)
            elif kind == "auto_acknowledgement":
                zd.add_audit(number, at, -1, [{"type": "Notification", "subject": "Received"}], via=rule)
            elif kind == "assignment":
                zd.add_audit(number, at, -1, [{"type": "Change", "field_name": "group_id",
                                               "value": e["new_value"]}], via=rule)
            elif kind in ("agent_reply", "internal_note", "client_reply"):
                role = "client" if kind == "client_reply" else "agent"
                zd.add_audit(number, at, user(e["actor"], role), [
                    {"type": "Comment", "body": "...", "public": kind != "internal_note"}], via=web)
            elif kind in ("status_change", "priority_change"):
                field = "status" if kind == "status_change" else "priority"
                value = TO_ZENDESK_STATUS[e["new_value"]] if field == "status" else e["new_value"]
                zd.add_audit(number, at, user(e["actor"], "agent"), [
                    {"type": "Change", "field_name": field, "value": value}], via=web)
            else:
                raise ValueError(f"{tid}: no Zendesk audit for event type {kind!r}")
    return zd
