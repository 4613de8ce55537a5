"""The demo MSP's tickets, events, time entries, review decisions and ground truth, client by client."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from demo import texts
from demo.clients import Client, make_clients

SCOPE_IDS = list(texts.OUT_OF_SCOPE)
WEEKDAY_WEIGHT = [1.35, 1.1, 1.0, 1.0, 0.85, 0.07, 0.04]  # Monday peak, quiet weekends
AGENTS = ["agent.sam", "agent.lee", "agent.ravi", "agent.mona", "agent.jo", "agent.tomas"]
TRIAGE = {"emergency": "P1", "high": "P2", "normal": "P3", "low": "P4"}
FINAL = {"emergency": "Critical", "high": "High", "normal": "Medium", "low": "Low"}
PRIORITY_ORDER = ["emergency", "high", "normal", "low"]
RESPONSE_MINUTES = {"emergency": 25, "high": 60, "normal": 120, "low": 240}


@dataclass
class Output:
    tickets: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    time_entries: list[dict] = field(default_factory=list)
    truth: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def month_starts(end_month: str, count: int) -> list[date]:
    """The first days of the `count` months up to `end_month` (YYYY-MM), oldest first."""
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

