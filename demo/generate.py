"""Generate a realistic demo MSP as landing files in the canonical format, deterministic by seed.

Ground truth (true ticket units, scope exclusions, emergencies) goes to a separate folder that the
pipeline never reads; it exists to score the pipeline.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

from demo import texts
from policy.paths import PROJECT_ROOT, landing_dir
from warehouse.contract import columns

# The demo PSA's files carry the contract's columns, except that its system exports no SLA verdict
# of its own and its contracts bill in the policy's currency.
TICKET_COLUMNS = columns("tickets", without=("source_sla_met",))
EVENT_COLUMNS = columns("ticket_events")
CLIENT_COLUMNS = columns("clients", without=("currency",))
DECISION_COLUMNS = columns("review_decisions")
ENTRY_COLUMNS = columns("time_entries")

# (IANA zone, country, subdivision): several continents, so holidays and DST rules differ.
LOCALES: list[tuple[str, str, str]] = [
    ("Europe/London", "GB", "ENG"),
    ("Europe/Berlin", "DE", "BY"),
    ("America/New_York", "US", "NY"),
    ("America/Los_Angeles", "US", "CA"),
    ("Australia/Sydney", "AU", "NSW"),
    ("Asia/Singapore", "SG", ""),
    ("America/Sao_Paulo", "BR", "SP"),
    ("Europe/Paris", "FR", ""),
    ("America/Toronto", "CA", "ON"),
    ("Africa/Johannesburg", "ZA", ""),
    ("Pacific/Auckland", "NZ", ""),
    ("Asia/Tokyo", "JP", ""),
    ("America/Chicago", "US", "IL"),
    ("Europe/Madrid", "ES", "MD"),
]
NAME_A = [
    "Harbour", "Northwind", "Bluegate", "Cedar", "Ironbridge", "Summit", "Lakeside", "Redwood",
    "Kestrel", "Meridian", "Oakline", "Pioneer", "Silverleaf", "Tidewater", "Westbrook",
    "Granite", "Hollow Creek", "Maple", "Orchid", "Quayside", "Riverside", "Starling", "Fjord",
    "Amber", "Copperfield",
]
NAME_B = [
    "Logistics", "Dental", "Architects", "Accounting", "Legal", "Clinic", "Foods", "Engineering",
    "Insurance", "Studios", "Realty", "Pharmacy", "Consulting", "Freight", "Academy",
]
SCOPE_IDS = list(texts.OUT_OF_SCOPE)
WEEKDAY_WEIGHT = [1.35, 1.1, 1.0, 1.0, 0.85, 0.07, 0.04]  # Monday peak, quiet weekends
AGENTS = ["agent.sam", "agent.lee", "agent.ravi", "agent.mona", "agent.jo", "agent.tomas"]
TRIAGE = {"emergency": "P1", "high": "P2", "normal": "P3", "low": "P4"}
FINAL = {"emergency": "Critical", "high": "High", "normal": "Medium", "low": "Low"}
PRIORITY_ORDER = ["emergency", "high", "normal", "low"]
RESPONSE_MINUTES = {"emergency": 25, "high": 60, "normal": 120, "low": 240}


@dataclass
class Client:
    client_id: str
    name: str
    tz: str
    country: str
    subdivision: str
    plan: str
    seats: int
    after_hours: bool
    included_scope: list[str]
    hourly_rate: float | None
    business_hours: str  # contract hours ('' = the policy's default hours)
    response_targets: str  # contract target overrides ('' = the policy's targets)
    closures: str  # extra closed days of the contract
    rate_per_seat: float  # true demand, tickets per seat per month (truth only)
    over_declarer: bool  # declares routine requests as emergencies (truth only)
    contract_rows: list[dict] = field(default_factory=list)
    holiday_dates: set[date] = field(default_factory=set)

    def seats_on(self, day: date) -> int:
        rows = [r for r in self.contract_rows if date.fromisoformat(r["valid_from"]) <= day]
        return int(rows[-1]["seats"]) if rows else self.seats


@dataclass
class Output:
    tickets: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    time_entries: list[dict] = field(default_factory=list)
    truth: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _months(end_month: str, count: int) -> list[date]:
    year, month = (int(x) for x in end_month.split("-"))
    out = []
    for i in range(count - 1, -1, -1):
        m = month - i
        y = year + (m - 1) // 12
        out.append(date(y, (m - 1) % 12 + 1, 1))
    return out


def _month_end(first: date) -> date:
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def make_clients(rng: random.Random, n: int, months: list[date]) -> list[Client]:
    """Clients of different sizes, plans and zones, some with contracts that change mid-year."""
    clients = []
    names = rng.sample([f"{a} {b}" for a in NAME_A for b in NAME_B], n)
    years = range(months[0].year - 1, months[-1].year + 2)
    for i in range(n):
        tz, country, subdiv = LOCALES[i % len(LOCALES)]
        seats = int(min(400, max(5, round(math.exp(rng.uniform(math.log(5), math.log(400)))))))
        plan = rng.choices(["essentials", "unlimited", "unlimited_plus"], [0.25, 0.55, 0.2])[0]
        heavy = rng.random() < 0.2
        client = Client(
            client_id=f"C{i + 1:03d}",
            name=names[i],
            tz=tz,
            country=country,
            subdivision=subdiv,
            plan=plan,
            seats=seats,
            after_hours=rng.random() < 0.35,
            included_scope=rng.sample(["onsite", "procurement", "planned_after_hours"], k=1)
            if rng.random() < 0.3
            else [],
            hourly_rate=rng.choice([None, 135.0, 150.0, 175.0]),
            business_hours=rng.choice(["", "", "", "", "mon-fri 09:00-17:30",
                                       "mon-fri 08:30-12:30,13:30-17:30",
                                       "mon-fri 07:00-19:00; sat 09:00-13:00",
                                       "mon-thu 08:00-18:00; fri 08:00-16:00"]),
            response_targets=rng.choice(["", "", "", "emergency=30;high=90"]),
            closures=f"{months[0].year}-12-24;{months[0].year}-12-31" if rng.random() < 0.2 else "",
            rate_per_seat=rng.uniform(1.1, 1.9) if heavy else rng.uniform(0.35, 0.95),
            over_declarer=rng.random() < 0.3,
        )
        subdiv_arg = {"subdiv": subdiv} if subdiv else {}
        client.holiday_dates = set(holidays.country_holidays(country, years=years, **subdiv_arg))
        start = months[0] - timedelta(days=rng.randint(30, 400))
        client.contract_rows.append(_contract_row(client, seats, plan, start))
        if rng.random() < 0.45:  # seats change mid-year, sometimes the plan too
            change = months[len(months) // 2] + timedelta(days=rng.randint(0, 120))
            new_seats = max(5, min(400, round(seats * rng.choice([0.7, 0.8, 1.2, 1.35, 1.6]))))
            new_plan = plan if rng.random() < 0.8 else "unlimited_plus"
            client.contract_rows.append(_contract_row(client, new_seats, new_plan, change))
        clients.append(client)
    return clients


def _contract_row(client: Client, seats: int, plan: str, valid_from: date) -> dict:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "timezone": client.tz,
        "country": client.country,
        "subdivision": client.subdivision,
        "plan": plan,
        "seats": seats,
        "after_hours_coverage": str(client.after_hours).lower(),
        "included_scope": ";".join(client.included_scope),
        "hourly_rate": "" if client.hourly_rate is None else f"{client.hourly_rate:.2f}",
        "valid_from": valid_from.isoformat(),
        "business_hours": client.business_hours,
        "response_targets": client.response_targets,
        "closures": client.closures,
    }


class MspGenerator:
    """Builds tickets, events, time entries, review decisions and ground truth for each client."""

    def __init__(self, seed: int, clients: int, months: list[date], scale: float) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.months = months
        self.scale = scale
        self.clients = make_clients(self.rng, clients, months)
        self.out = Output()
        self.seq = 0
        self.event_seq = 0
        self.entry_seq = 0
        self.data_end = datetime.combine(
            _month_end(months[-1]) + timedelta(days=1), time(), ZoneInfo("UTC")
        )

    # --- time helpers (generator-side approximations; the pipeline computes exact minutes) ---
    def _open(self, c: Client, local: datetime) -> bool:
        return local.weekday() < 5 and local.date() not in c.holiday_dates and 8 <= local.hour < 18

    def _next_open(self, c: Client, local: datetime) -> datetime:
        probe = local
        for _ in range(24 * 20):
            if self._open(c, probe):
                return probe
            probe = (probe + timedelta(hours=1)).replace(minute=0, second=0)
        return probe

    def _after_business_minutes(self, c: Client, start: datetime, minutes: float) -> datetime:
        local = start.astimezone(ZoneInfo(c.tz))
        remaining = minutes
        cursor = self._next_open(c, local)
        while remaining > 0:
            close = cursor.replace(hour=18, minute=0, second=0)
            available = (close - cursor).total_seconds() / 60
            if remaining <= available:
                return cursor + timedelta(minutes=remaining)
            remaining -= available
            cursor = self._next_open(c, close)
        return cursor

    def _pick_moment(self, c: Client, month: date, after_hours: bool = False) -> datetime:
        days = [month + timedelta(days=d) for d in range((_month_end(month) - month).days + 1)]
        weights = [
            WEEKDAY_WEIGHT[d.weekday()] * (0.08 if d in c.holiday_dates else 1.0) for d in days
        ]
        day = self.rng.choices(days, weights)[0]
        if after_hours:
            hour = self.rng.choice([6, 7, 18, 19, 20, 21, 22])
        else:
            hour = self.rng.choices(
                range(7, 19), [0.3, 1.2, 1.6, 1.5, 1.2, 0.8, 1.0, 1.3, 1.2, 1.0, 0.6, 0.2]
            )[0]
        local = datetime.combine(day, time(hour, self.rng.randrange(60), self.rng.randrange(60)))
        return local.replace(tzinfo=ZoneInfo(c.tz))

    # --- ticket construction ---
    def _ticket_id(self) -> str:
        self.seq += 1
        return f"T{self.seq:07d}"

    def _requester(self, c: Client, seats: int) -> str:
        # Skewed: a few people raise many tickets (the busiest requesters driver).
        idx = min(seats - 1, int(seats * self.rng.random() ** 2.5))
        return f"user{idx + 1:03d}@{c.client_id.lower()}.example"

    def _event(self, tid: str, at: datetime, etype: str, actor_type: str, actor: str,
               public: bool, new_value: str = "") -> None:
        self.event_seq += 1
        self.out.events.append({
            "event_id": f"E{self.event_seq:08d}", "ticket_id": tid, "event_at": _iso(at),
            "event_type": etype, "actor_type": actor_type, "actor": actor,
            "is_public": str(public).lower(), "new_value": new_value,
        })

    def _time_entry(self, tid: str, at: datetime, minutes: int, work_type: str,
                    billable: bool, note: str) -> None:
        self.entry_seq += 1
        self.out.time_entries.append({
            "entry_id": f"W{self.entry_seq:08d}", "ticket_id": tid, "started_at": _iso(at),
            "minutes": minutes, "work_type": work_type, "billable": billable, "note": note,
        })

    def add_ticket(
        self,
        c: Client,
        created: datetime,
        *,
        subject: str,
        description: str,
        category: str,
        kind: str,
        priority: str,
        requester: str,
        source: str = "email",
        declared: bool = False,
        parent: str = "",
        affected: int = 1,
        unit: str | None = None,
        scope: str = "",
        emergency: bool = False,
        work: str = "routine",
    ) -> str:
        """Append one ticket with its events, time entries and truth; return its id."""
        rng = self.rng
        tid = self._ticket_id()
        actor_type = "system" if source == "monitoring" else "client"
        self._event(tid, created, "created", actor_type, requester, True, "new")
        if source != "monitoring" and rng.random() < 0.92:
            ack = created + timedelta(seconds=rng.randint(5, 90))
            self._event(tid, ack, "auto_acknowledgement", "system", "autoresponder", True)
        if rng.random() < 0.5:
            self._event(tid, created + timedelta(seconds=rng.randint(60, 600)), "assignment",
                        "system", "router", False, rng.choice(["service-desk", "l2-network"]))
        # First human response: business minutes by priority, some slow, 24x7 where covered.
        # A declared emergency is answered as one until triage says otherwise.
        urgency = "emergency" if declared else priority
        target = RESPONSE_MINUTES[urgency] * rng.uniform(0.1, 0.9)
        if rng.random() < 0.09:
            target = RESPONSE_MINUTES[urgency] * rng.uniform(1.3, 4.0)
        if urgency == "emergency" and c.after_hours:
            responded = created + timedelta(minutes=target)
        else:
            responded = self._after_business_minutes(c, created, target)
        agent = rng.choice(AGENTS)
        if source != "monitoring" and rng.random() < 0.15:
            chase = created + (responded - created) * rng.uniform(0.3, 0.9)
            self._event(tid, chase, "client_reply", "client", requester, True)
        first = rng.choice(["agent_reply", "status_change", "priority_change"])
        value = {"status_change": "in_progress", "priority_change": TRIAGE[priority]}.get(first, "")
        self._event(tid, responded, first, "agent", agent, first != "priority_change", value)
        # Work, replies and resolution.
        duration = {"routine": rng.uniform(0.2, 30), "project": rng.uniform(48, 600)}.get(
            work, rng.uniform(2, 96)
        )
        resolved = responded + timedelta(hours=duration)
        step = responded
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            step = step + (resolved - step) * rng.uniform(0.2, 0.6)
            who = rng.random()
            if who < 0.4:
                self._event(tid, step, "client_reply", "client", requester, True)
            elif who < 0.8:
                self._event(tid, step, "agent_reply", "agent", agent, True)
            else:
                self._event(tid, step, "internal_note", "agent", agent, False)
        self._work(c, tid, responded, resolved, work, scope)
        open_at_end = resolved >= self.data_end
        if not open_at_end:
            self._event(tid, resolved, "status_change", "agent", agent, True, "resolved")
        last_event = min(resolved, self.data_end - timedelta(minutes=1))
        final = priority
        triage = priority
        if declared and not emergency:
            triage = "emergency" if rng.random() < 0.45 else priority  # AI follows the client
        elif rng.random() < 0.08:
            triage = rng.choice(PRIORITY_ORDER)
        self.out.tickets.append({
            "ticket_id": tid, "client_id": c.client_id, "requester": requester,
            "created_at": _iso(created), "subject": subject, "description": description,
            "category": category, "source": source, "declared_emergency": str(declared).lower(),
            "triage_priority": TRIAGE[triage], "final_priority": FINAL[final],
            "parent_ticket_id": parent, "affected_users": affected,
            "status": "open" if open_at_end else "resolved",
            "resolved_at": "" if open_at_end else _iso(resolved),
            "updated_at": _iso(last_event if open_at_end else resolved),
        })
        self.out.truth.append({
            "ticket_id": tid, "client_id": c.client_id, "kind": kind,
            "true_unit_id": unit or tid, "provider_initiated": source == "monitoring",
            "true_scope_exclusion": scope, "true_emergency": emergency,
        })
        return tid

    def _work(self, c: Client, tid: str, start: datetime, end: datetime, work: str,
              scope: str) -> None:
        rng = self.rng
        if work == "routine":
            for _ in range(rng.choice([1, 1, 1, 2])):
                self._time_entry(tid, start, rng.choice([5, 10, 15, 20, 30, 45]), "remote",
                                 False, rng.choice(["Remote session", "Checked settings",
                                                    "Guided user by phone", "Reset and tested"]))
            return
        if scope == "onsite":
            day = self._pick_moment(c, date(end.year, end.month, 1))
            self._time_entry(tid, day, rng.choice([30, 45, 60]), "travel", True, "Travel to site")
            self._time_entry(tid, day + timedelta(hours=1), rng.choice([90, 120, 180, 240]),
                             "onsite", True, "On site: replaced hardware and tested")
            return
        if scope == "planned_after_hours":
            local = start.astimezone(ZoneInfo(c.tz)) + timedelta(days=rng.randint(2, 9))
            night = local.replace(hour=rng.choice([20, 21, 22]), minute=0, second=0)
            self._time_entry(tid, night, rng.choice([120, 180, 240]), "remote", True,
                             "Maintenance window: change applied and verified")
            return
        hours = rng.uniform(6, 40) if work == "project" else rng.uniform(1.5, 6)
        chunks = max(1, round(hours / 3))
        for k in range(chunks):
            at = start + (end - start) * (k / chunks)
            self._time_entry(tid, at, round(hours * 60 / chunks), "remote", True,
                             rng.choice(["Project work", "Planning and design", "Implementation",
                                         "Testing and documentation", "Migration batch"]))

    def client_month(self, c: Client, month: date) -> None:
        """All tickets of one client in one month."""
        rng = self.rng
        seats = c.seats_on(month + timedelta(days=14))
        season = 0.8 if month.month in (8, 12) else 1.0
        lam = seats * c.rate_per_seat * season * self.scale
        # Routine standard requests.
        for _ in range(_poisson(rng, lam * 0.86)):
            scope_id, category, subjects, bodies = rng.choice(texts.STANDARD)
            requester = self._requester(c, seats)
            name = rng.choice(texts.FIRST_NAMES)
            priority = rng.choices(PRIORITY_ORDER[1:], [0.12, 0.68, 0.2])[0]
            declared = c.over_declarer and rng.random() < 0.18
            self.add_ticket(
                c, self._pick_moment(c, month, after_hours=rng.random() < 0.06),
                subject=texts.fill(rng.choice(subjects), rng, name),
                description=texts.fill(rng.choice(bodies), rng, name),
                category=category, kind=f"standard:{scope_id}", priority=priority,
                requester=requester, source=rng.choice(["email", "email", "portal", "phone",
                                                        "chat"]),
                declared=declared,
            )
        # Outage bursts: many users report one interruption; half linked to a parent ticket.
        for _ in range(_poisson(rng, 0.35 + seats / 400)):
            self._burst(c, month, seats)
        # Provider-initiated monitoring alerts.
        for _ in range(_poisson(rng, 1.5 + seats * 0.04)):
            self.add_ticket(
                c, self._pick_moment(c, month, after_hours=rng.random() < 0.4),
                subject=texts.fill(rng.choice(texts.MONITORING), rng),
                description="Automatically generated by the monitoring platform.",
                category="Alert", kind="monitoring", priority=rng.choice(["high", "normal", "low"]),
                requester="monitoring@provider.example", source="monitoring",
            )
        # Suspected security incidents: rare, real emergencies.
        if rng.random() < 0.12 + seats / 2000:
            subject, body = rng.choice(texts.SECURITY)
            self.add_ticket(
                c, self._pick_moment(c, month, after_hours=rng.random() < 0.2),
                subject=subject, description=body, category="Security", kind="security",
                priority="emergency", requester=self._requester(c, seats),
                source=rng.choice(["phone", "email"]), declared=rng.random() < 0.8,
                emergency=True, affected=1,
            )
        # Out-of-scope work, phrased many ways and often filed under a generic category.
        for _ in range(_poisson(rng, 0.6 + lam * 0.03)):
            scope = rng.choice(SCOPE_IDS)
            subject, body = texts.out_of_scope_text(scope, rng)
            work = "project" if scope in {
                "major_migration", "custom_implementation", "custom_software",
                "major_remediation", "compliance_documentation", "platform_implementation",
                "structured_project",
            } else "scoped"
            tid = self.add_ticket(
                c, self._pick_moment(c, month), subject=subject, description=body,
                category=rng.choice(texts.OUT_OF_SCOPE_CATEGORY[scope]), kind=f"scope:{scope}",
                priority=rng.choice(["normal", "low"]), requester=self._requester(c, seats),
                source=rng.choice(["email", "portal"]), declared=c.over_declarer
                and rng.random() < 0.1, scope=scope, work=work,
            )
            if rng.random() < 0.3:
                decision = "approved" if rng.random() < 0.85 else "rejected"
                self._decision(tid, f"scope:{scope}={decision}", "finance.jane", month)

    def _burst(self, c: Client, month: date, seats: int) -> None:
        rng = self.rng
        service, category, subjects = rng.choice(texts.INTERRUPTIONS)
        size = max(2, min(rng.randint(2, 4 + seats // 12), seats))
        start = self._pick_moment(c, month)
        requesters = rng.sample(
            [f"user{i + 1:03d}@{c.client_id.lower()}.example" for i in range(seats)], size
        )
        critical = size >= 5 or service in {"email", "erp"} and size >= 3
        priority = "emergency" if critical else "high"
        linked = rng.random() < 0.5
        unit = None
        parent = ""
        moment = start
        for i, requester in enumerate(requesters):
            declared = (critical and rng.random() < 0.7) or (c.over_declarer and rng.random() < 0.5)
            tid = self.add_ticket(
                c, moment, subject=rng.choice(subjects),
                description=f"{service.replace('_', ' ').title()} problem since about "
                f"{moment.astimezone(ZoneInfo(c.tz)).strftime('%H:%M')}, "
                + rng.choice(["nobody here can work.", "tried restarting, no change.",
                              "is it just me?", "colleagues have the same issue."]),
                category=category, kind=f"interruption:{service}", priority=priority,
                requester=requester, source=rng.choice(["email", "phone", "portal", "chat"]),
                declared=declared, parent=parent if linked and i else "",
                affected=size if i == 0 else 1, unit=unit, emergency=critical,
            )
            if i == 0:
                unit = tid
                parent = tid
                self.out.truth[-1]["true_unit_id"] = tid
            moment = moment + timedelta(minutes=rng.uniform(1, 25))
        if critical and rng.random() < 0.5:
            self._decision(unit, "emergency=confirmed", "sd.lead.omar", month)

    def _decision(self, tid: str, decision: str, reviewer: str, month: date) -> None:
        at = datetime.combine(_month_end(month) + timedelta(days=self.rng.randint(2, 9)),
                              time(10, 30), ZoneInfo("UTC"))
        self.out.decisions.append({"ticket_id": tid, "decision": decision, "reviewer": reviewer,
                                   "decided_at": _iso(at), "note": "Reviewed with the client"})

    def over_declared_denials(self) -> None:
        """Staff deny a share of emergencies that over-declaring clients raised on routine work."""
        truth = {t["ticket_id"]: t for t in self.out.truth}
        for ticket in self.out.tickets:
            if ticket["declared_emergency"] == "true" and not truth[ticket["ticket_id"]][
                "true_emergency"
            ] and self.rng.random() < 0.35:
                month = date.fromisoformat(ticket["created_at"][:10]).replace(day=1)
                self._decision(ticket["ticket_id"], "emergency=denied", "sd.lead.omar", month)

    def run(self) -> Output:
        for month in self.months:
            for c in self.clients:
                self.client_month(c, month)
        self.over_declared_denials()
        return self.out


# A row carrying this key is written as that text instead: a damaged line (--dirty).
BROKEN = "__broken_line__"


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            if BROKEN in row:
                fh.write(row[BROKEN] + "\r\n")
            else:
                writer.writerow(row)


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(row[BROKEN] if BROKEN in row else json.dumps(row, ensure_ascii=False))
            fh.write("\n")


# Damage a dirty export shows, per entity: (damage, reason code the pipeline must give, outcome).
DAMAGE = {
    "tickets": [("created_at unreadable", "unparseable_timestamp", "quarantined"),
                ("client unknown", "unknown_client", "quarantined"),
                ("priority not in the map", "unknown_priority", "warning")],
    "ticket_events": [("event_at unreadable", "unparseable_timestamp", "quarantined"),
                      ("line cut short", "missing_fields", "quarantined")],
    "time_entries": [("negative minutes", "negative_minutes", "quarantined"),
                     ("line cut mid-object", "invalid_json", "quarantined")],
}


def _damage_row(kind: str, row: dict, columns: list[str], fmt: str) -> dict:
    """The row as the damaged export delivers it."""
    if kind == "created_at unreadable":
        local = datetime.fromisoformat(row["created_at"])
        return dict(row, created_at=local.strftime("%d/%m/%Y %H.%M"))
    if kind == "client unknown":
        return dict(row, client_id="C999")
    if kind == "priority not in the map":
        return dict(row, final_priority="Urgent!!")
    if kind == "event_at unreadable":
        return dict(row, event_at="yesterday " + row["event_at"][11:16])
    if kind == "negative minutes":
        return dict(row, minutes=-int(row["minutes"]))
    if kind == "line cut short":
        text = ",".join(str(row[c]) for c in columns[:3])
        return {BROKEN: text}
    text = json.dumps(row, ensure_ascii=False)
    return {BROKEN: text[: len(text) // 2]}


def make_dirty(
    files: dict[str, tuple[str, list[str], list[dict]]], rate: float, seed: int,
    protected: set[str],
) -> list[dict]:
    """Damage about `rate` of the ticket, event and time-entry rows in place; return the truth.

    `files` maps a landing path to (entity, columns, rows). Tickets in `protected` (delivered
    twice) are left alone, and so are the events and entries of damaged tickets, so each row has
    one cause. Every damaged row, and every row quarantined because its ticket is, is recorded
    with the reason code the pipeline must give.
    """
    rng = random.Random(f"dirty-{seed}-{rate}")
    truth: list[dict] = []
    quarantined_tickets: set[str] = set()
    order = sorted(files, key=lambda p: (files[p][0] != "tickets", p))
    for path in order:
        entity, columns, rows = files[path]
        if entity not in DAMAGE:
            continue
        fmt = "jsonl" if path.endswith(".jsonl") else "csv"
        for i, row in enumerate(rows):
            tid = row["ticket_id"]
            if entity != "tickets" and tid in quarantined_tickets:
                truth.append({"file": path, "row": i + 1, "entity": entity,
                              "damage": "its ticket is quarantined", "field": "ticket_id",
                              "outcome": "quarantined", "reason_code": "ticket_quarantined"})
                continue
            if tid in protected or rng.random() >= rate:
                continue
            kind, code, outcome = rng.choice(DAMAGE[entity])
            rows[i] = _damage_row(kind, row, columns, fmt)
            if entity == "tickets" and outcome == "quarantined":
                quarantined_tickets.add(tid)
            truth.append({"file": path, "row": i + 1, "entity": entity, "damage": kind,
                          "field": {"created_at unreadable": "created_at",
                                    "client unknown": "client_id",
                                    "priority not in the map": "final_priority",
                                    "event_at unreadable": "event_at",
                                    "negative minutes": "minutes"}.get(kind, ""),
                          "outcome": outcome, "reason_code": code})
    return truth


def write_landing(
    gen: MspGenerator, landing: Path, truth_dir: Path, dirty: float = 0.0
) -> dict[str, int]:
    """Write landing files per entity and month, plus a redelivery of late-updated tickets.

    With `dirty` > 0, about that share of ticket, event and time-entry rows is damaged the way
    real exports are, one ticket events file is delivered twice, and `damage.csv` in the truth
    folder lists every row the pipeline must quarantine or warn about.
    """
    out = gen.out
    month_of = {t["ticket_id"]: t["created_at"][:7] for t in out.tickets}
    by_month: dict[str, dict[str, list[dict]]] = {}
    for name, rows in (("tickets", out.tickets), ("ticket_events", out.events),
                       ("time_entries", out.time_entries)):
        for row in rows:
            by_month.setdefault(month_of[row["ticket_id"]], {}).setdefault(name, []).append(row)
    # The last month is first delivered while some tickets were still open, then redelivered.
    last = max(by_month)
    rng = random.Random(len(out.tickets))
    first_delivery = []
    redelivered = []
    for row in by_month[last]["tickets"]:
        if row["status"] == "resolved" and rng.random() < 0.06:
            early = dict(row, status="in_progress", resolved_at="",
                         updated_at=row["created_at"])
            first_delivery.append(early)
            redelivered.append(row)
        else:
            first_delivery.append(row)
    by_month[last]["tickets"] = first_delivery
    files: dict[str, tuple[str, list[str], list[dict]]] = {}
    for month, entities in sorted(by_month.items()):
        files[f"tickets/tickets_{month}.csv"] = (
            "tickets", TICKET_COLUMNS, entities.get("tickets", []))
        files[f"ticket_events/ticket_events_{month}.csv"] = (
            "ticket_events", EVENT_COLUMNS, entities.get("ticket_events", []))
        files[f"time_entries/time_entries_{month}.jsonl"] = (
            "time_entries", ENTRY_COLUMNS, entities.get("time_entries", []))
    files[f"tickets/tickets_{last}_update.csv"] = ("tickets", TICKET_COLUMNS, redelivered)
    damage: list[dict] = []
    if dirty > 0:
        protected = {row["ticket_id"] for row in redelivered}
        damage = make_dirty(files, dirty, gen.seed, protected)
    for path, (_, header, rows) in files.items():
        if path.endswith(".jsonl"):
            _write_jsonl(landing / path, rows)
        else:
            _write_csv(landing / path, header, rows)
    if dirty > 0:
        # The same events file delivered again under another name: recorded, not loaded twice.
        months = sorted(by_month)
        again = f"ticket_events/ticket_events_{months[len(months) // 2]}.csv"
        resent = again.replace(".csv", "_resent.csv")
        shutil.copy(landing / again, landing / resent)
        damage.append({"file": resent, "row": "", "entity": "ticket_events",
                       "damage": f"same content as {again}", "field": "", "outcome": "duplicate",
                       "reason_code": "duplicate_file"})
        truth_dir.mkdir(parents=True, exist_ok=True)
        _write_csv(truth_dir / "damage.csv",
                   ["file", "row", "entity", "damage", "field", "outcome", "reason_code"], damage)
    contracts = [row for c in gen.clients for row in c.contract_rows]
    _write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, contracts)
    _write_csv(landing / "review_decisions" / "review_decisions.csv", DECISION_COLUMNS,
               out.decisions)
    truth_cols = list(out.truth[0])
    _write_csv(truth_dir / "tickets_truth.csv", truth_cols, out.truth)
    profiles = [{"client_id": c.client_id, "rate_per_seat": round(c.rate_per_seat, 3),
                 "over_declarer": c.over_declarer} for c in gen.clients]
    _write_csv(truth_dir / "client_profiles.csv", list(profiles[0]), profiles)
    return {"clients": len(gen.clients), "contract_rows": len(contracts),
            "tickets": len(out.tickets), "ticket_events": len(out.events),
            "time_entries": len(out.time_entries), "review_decisions": len(out.decisions),
            "redelivered_tickets": len(redelivered), "damaged_rows": len(damage)}


def generate(landing: Path, truth_dir: Path, *, seed: int = 7, clients: int = 25,
             months: int = 14, end_month: str = "2026-10", scale: float = 1.0,
             dirty: float = 0.0) -> dict[str, int]:
    """Generate the demo MSP into `landing` (canonical files) and `truth_dir` (ground truth)."""
    gen = MspGenerator(seed, clients, _months(end_month, months), scale)
    gen.run()
    return write_landing(gen, landing, truth_dir, dirty)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--landing", type=Path, default=landing_dir())
    parser.add_argument("--truth", type=Path, default=PROJECT_ROOT / "data" / "demo_truth")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clients", type=int, default=25)
    parser.add_argument("--months", type=int, default=14)
    parser.add_argument("--end-month", default="2026-10", help="last month generated (YYYY-MM)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies ticket volumes")
    parser.add_argument("--dirty", type=float, default=0.0,
                        help="share of ticket, event and time-entry rows to damage, e.g. 0.02;"
                        " what was damaged goes to <truth>/damage.csv")
    args = parser.parse_args()
    if not 0 <= args.dirty < 1:
        parser.error("--dirty must be a share between 0 and 1, e.g. 0.02")
    counts = generate(args.landing, args.truth, seed=args.seed, clients=args.clients,
                      months=args.months, end_month=args.end_month, scale=args.scale,
                      dirty=args.dirty)
    print(f"demo MSP written to {args.landing} (truth in {args.truth}): "
          + ", ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
