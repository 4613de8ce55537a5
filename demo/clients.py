"""The demo's clients: zones, sizes, plans and effective-dated contract rows."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays

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

