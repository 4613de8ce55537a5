"""Small hand-built MSPs in the canonical format, whose answers are known."""

import csv
from pathlib import Path

from demo.generate import CLIENT_COLUMNS, DECISION_COLUMNS, EVENT_COLUMNS, TICKET_COLUMNS


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def client(client_id: str, seats: int, valid_from: str, plan: str = "unlimited", **kw) -> dict:
    row = {"client_id": client_id, "name": f"{client_id} Ltd", "timezone": "Europe/London",
           "country": "GB", "subdivision": "ENG", "plan": plan, "seats": seats,
           "after_hours_coverage": "false", "included_scope": "", "hourly_rate": "",
           "valid_from": valid_from}
    row.update(kw)
    return row


def ticket(ticket_id: str, client_id: str, created_at: str, **kw) -> dict:
    row = {"ticket_id": ticket_id, "client_id": client_id, "requester": f"{ticket_id}@x.example",
           "created_at": created_at, "subject": "Password reset", "description": "Please reset",
           "category": "Account & Access", "source": "email", "declared_emergency": "false",
           "triage_priority": "P3", "final_priority": "Medium", "parent_ticket_id": "",
           "affected_users": "1", "status": "resolved", "resolved_at": "", "updated_at": created_at}
    row.update(kw)
    return row


def routine(prefix: str, client_id: str, day: str, n: int) -> list[dict]:
    """n routine tickets from n different people on one day, an hour apart."""
    return [ticket(f"{prefix}{i:02d}", client_id, f"{day}T{9 + i % 8:02d}:{i:02d}:00+00:00")
            for i in range(n)]


def known_msp(landing: Path) -> dict:
    """Client ACME (10 seats, limit 1.0/seat) over Jan-Mar 2026, and BETA whose seats change.

    ACME January: 7 routine tickets, an email outage reported by 3 people within 20 minutes
    (1 unit) plus a ticket linked to the outage's first ticket, a lone 'not working' ticket 2 hours
    later (its own unit), and 2 monitoring alerts (not counted): 14 tickets, 12 standard, 9 units.
    February: 14 routine tickets = 14 units. March: 4 units.
    """
    outage = [
        ticket("A-OUT1", "ACME", "2026-01-14T10:00:00+00:00", subject="Email down",
               category="Email", requester="ann@acme.example"),
        ticket("A-OUT2", "ACME", "2026-01-14T10:07:00+00:00", subject="Outlook not working",
               category="Email", requester="bob@acme.example"),
        ticket("A-OUT3", "ACME", "2026-01-14T10:20:00+00:00", subject="email stopped working?",
               category="Email", requester="cy@acme.example"),
        ticket("A-CHILD", "ACME", "2026-01-14T11:30:00+00:00", subject="Any news on mail?",
               category="Email", requester="dee@acme.example", parent_ticket_id="A-OUT1"),
        ticket("A-LONE", "ACME", "2026-01-14T12:30:00+00:00", subject="Email not working",
               category="Email", requester="eve@acme.example"),
    ]
    monitoring = [
        ticket(f"A-MON{i}", "ACME", f"2026-01-2{i}T03:00:00+00:00", source="monitoring",
               subject="[ALERT] Disk C: 95% on SRV-FS01", category="Alert",
               requester="monitoring@provider.example")
        for i in range(2)
    ]
    tickets_jan = routine("A-J", "ACME", "2026-01-12", 7) + outage + monitoring
    tickets_feb = routine("A-F", "ACME", "2026-02-10", 14)
    tickets_mar = routine("A-M", "ACME", "2026-03-10", 4)
    beta = routine("B-J", "BETA", "2026-01-20", 5)
    write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, [
        client("ACME", 10, "2025-06-01"),
        client("BETA", 10, "2025-12-01", plan="essentials"),
        client("BETA", 20, "2026-01-16", plan="essentials"),
    ])
    write_csv(landing / "tickets" / "tickets_2026-01.csv", TICKET_COLUMNS, tickets_jan + beta)
    write_csv(landing / "tickets" / "tickets_2026-02.csv", TICKET_COLUMNS, tickets_feb)
    write_csv(landing / "tickets" / "tickets_2026-03.csv", TICKET_COLUMNS, tickets_mar)
    write_csv(landing / "ticket_events" / "ticket_events_2026-01.csv", EVENT_COLUMNS, [
        {"event_id": "E1", "ticket_id": "A-OUT1", "event_at": "2026-01-14T10:00:30+00:00",
         "event_type": "auto_acknowledgement", "actor_type": "system", "actor": "bot",
         "is_public": "true"},
        {"event_id": "E2", "ticket_id": "A-OUT1", "event_at": "2026-01-14T10:05:00+00:00",
         "event_type": "agent_reply", "actor_type": "agent", "actor": "sam", "is_public": "true"},
    ])
    write_csv(landing / "review_decisions" / "review_decisions.csv", DECISION_COLUMNS, [])
    return {"jan": tickets_jan + beta, "feb": tickets_feb, "mar": tickets_mar}
