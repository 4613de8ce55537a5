"""A synthetic MSP of any size, generated set-based in DuckDB, written as canonical landing files.

The demo generator (demo.generate) builds every ticket in Python: realistic, but minutes for a
million tickets. This one draws the same kinds of tickets (standard requests, out-of-scope work,
outage bursts linked to a parent, monitoring alerts, security incidents) with the same wording
(demo.texts) in a handful of DuckDB statements: `range()` for rows and `hash()` of a seed, the row
and a salt for every random choice, so a size and seed always give the same files.

    .venv/bin/python -m scripts.synthetic_msp --tickets 1000000 --clients 500 --landing /tmp/msp/landing

Files per month (in the client's zone): tickets CSV, ticket_events CSV (about 8 per ticket),
time_entries JSON Lines, review_decisions CSV (decisions on that month's tickets); clients.csv
(effective-dated, some clients change seats mid-year). The last month's tickets are delivered twice,
as the demo does: first with a share still in progress, then an update file with their resolved
versions. No ground truth: this
data exists to measure cost, not accuracy (evaluation/ scores the classifiers on the demo).
"""

import argparse
import math
import random
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from demo import texts  # noqa: E402
from demo.clients import LOCALES, NAME_A, NAME_B  # noqa: E402
from demo.msp import FINAL, RESPONSE_MINUTES, TRIAGE, WEEKDAY_WEIGHT  # noqa: E402
from scripts import synthetic_sql as sql_steps  # noqa: E402
from warehouse.contract import columns as contract_columns  # noqa: E402

# Share of a client-month's demand by kind (the demo's mix, roughly).
STANDARD_SHARE, SCOPE_SHARE, MONITORING_SHARE, BURST_SHARE, SECURITY_SHARE = (
    0.83, 0.04, 0.06, 0.065, 0.005)
PROJECT_SCOPES = {"major_migration", "custom_implementation", "custom_software",
                  "major_remediation", "compliance_documentation", "platform_implementation",
                  "structured_project"}


def month_starts(end_month: str, count: int) -> list[date]:
    """The first days of `count` months ending with `end_month` (YYYY-MM)."""
    year, month = (int(x) for x in end_month.split("-"))
    out = []
    for i in range(count - 1, -1, -1):
        m = month - i
        out.append(date(year + (m - 1) // 12, (m - 1) % 12 + 1, 1))
    return out


def _clients(rng: random.Random, n: int, months: list[date], tickets: int) -> list[dict]:
    """Contract rows (one or two per client); seats scaled so the portfolio raises ~`tickets`."""
    names = [f"{a} {b}" for a in NAME_A for b in NAME_B]
    rng.shuffle(names)
    drafts = []
    for i in range(n):
        tz, country, subdivision = LOCALES[i % len(LOCALES)]
        heavy = rng.random() < 0.2
        drafts.append({
            "i": i, "tz": tz, "country": country, "subdivision": subdivision,
            "seats": math.exp(rng.uniform(math.log(5), math.log(400))),
            "rate": rng.uniform(1.1, 1.9) if heavy else rng.uniform(0.35, 0.95),
            "plan": rng.choices(["essentials", "unlimited", "unlimited_plus"], [0.25, 0.55, 0.2])[0],
            "change": rng.random() < 0.45,
            "factor": rng.choice([0.7, 0.8, 1.2, 1.35, 1.6]),
            "after_hours": rng.random() < 0.35,
            "included": rng.choice(["onsite", "procurement", "planned_after_hours"])
            if rng.random() < 0.3 else "",
            "rate_card": rng.choice(["", "135.00", "150.00", "175.00"]),
            "hours": rng.choice(["", "", "", "", "mon-fri 09:00-17:30",
                                 "mon-fri 08:30-12:30,13:30-17:30",
                                 "mon-fri 07:00-19:00; sat 09:00-13:00",
                                 "mon-thu 08:00-18:00; fri 08:00-16:00"]),
            "targets": rng.choice(["", "", "", "emergency=30;high=90"]),
            "closures": f"{months[0].year}-12-24;{months[0].year}-12-31" if rng.random() < 0.2 else "",
            "over_declarer": rng.random() < 0.3,
            "start": rng.randint(30, 400),
            "change_day": rng.randint(0, 120),
        })
    # Scale seats (not the rate per seat) to reach the size, so fair-use ratios stay realistic.
    demand = sum(d["seats"] * d["rate"] for d in drafts) * len(months)
    scale = tickets / demand
    rows = []
    for d in drafts:
        seats = max(5, round(d["seats"] * scale))
        client_id = f"C{d['i'] + 1:04d}"
        base = {
            "client_id": client_id, "name": f"{names[d['i'] % len(names)]} {d['i'] // len(names) + 1}"
            if d["i"] >= len(names) else names[d["i"]],
            "timezone": d["tz"], "country": d["country"], "subdivision": d["subdivision"],
            "after_hours_coverage": str(d["after_hours"]).lower(), "included_scope": d["included"],
            "hourly_rate": d["rate_card"], "business_hours": d["hours"],
            "response_targets": d["targets"], "closures": d["closures"],
            "rate_per_seat": d["rate"], "over_declarer": d["over_declarer"],
        }
        first = months[0].toordinal() - d["start"]
        rows.append({**base, "plan": d["plan"], "seats": seats,
                     "valid_from": date.fromordinal(first).isoformat()})
        if d["change"]:
            change = months[len(months) // 2].toordinal() + d["change_day"]
            rows.append({**base, "plan": d["plan"], "seats": max(5, round(seats * d["factor"])),
                         "valid_from": date.fromordinal(change).isoformat()})
    return rows


def _text_pools(rng: random.Random) -> dict[str, list[tuple]]:
    """Filled wording from demo.texts: the SQL picks one per ticket by hash."""
    standard = []
    for _ in range(6000):
        _, category, subjects, bodies = rng.choice(texts.STANDARD)
        name = rng.choice(texts.FIRST_NAMES)
        standard.append((category, texts.fill(rng.choice(subjects), rng, name),
                         texts.fill(rng.choice(bodies), rng, name)))
    scope = []
    for _ in range(3000):
        scope_id = rng.choice(list(texts.OUT_OF_SCOPE))
        subject, body = texts.out_of_scope_text(scope_id, rng)
        scope.append((scope_id, rng.choice(texts.OUT_OF_SCOPE_CATEGORY[scope_id]), subject, body,
                      scope_id in PROJECT_SCOPES))
    monitoring = [(texts.fill(rng.choice(texts.MONITORING), rng),) for _ in range(500)]
    security = list(texts.SECURITY)
    interruptions = [(service, category, subjects) for service, category, subjects in texts.INTERRUPTIONS]
    return {"pool_standard": standard, "pool_scope": scope, "pool_monitoring": monitoring,
            "pool_security": security, "pool_interruption": interruptions}


_POOL_COLUMNS = {
    "pool_standard": "category VARCHAR, subject VARCHAR, description VARCHAR",
    "pool_scope": "scope_id VARCHAR, category VARCHAR, subject VARCHAR, description VARCHAR,"
                  " project BOOLEAN",
    "pool_monitoring": "subject VARCHAR",
    "pool_security": "subject VARCHAR, description VARCHAR",
    "pool_interruption": "service VARCHAR, category VARCHAR, subjects VARCHAR[]",
}


def _map(values: dict[str, object]) -> str:
    """A DuckDB MAP literal (lookups by a computed key need a map, not a struct)."""
    return "MAP {" + ", ".join(f"'{k}': {v!r}" for k, v in values.items()) + "}"


def _load(con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: list[tuple]) -> None:
    con.execute(f"CREATE OR REPLACE TABLE {table} (idx INTEGER, {columns})")
    width = columns.count(",") + 1
    con.executemany(f"INSERT INTO {table} VALUES (?{', ?' * width})",
                    [(i, *row) for i, row in enumerate(rows)])


def generate(landing: Path, *, tickets: int, clients: int, months: int = 12,
             end_month: str = "2026-10", seed: int = 11, threads: int | None = None,
             unique_texts: bool = False) -> dict[str, int]:
    """Write a synthetic MSP of about `tickets` tickets into `landing`; return row counts.

    The wording comes from phrase pools, so texts repeat (about one distinct text in twelve at
    1M tickets); `unique_texts` ends every description with a reference of its own, so that no
    two tickets share a text: the classifiers' worst case.
    """
    rng = random.Random(seed)
    starts = month_starts(end_month, months)
    last = starts[-1]
    contracts = _clients(rng, clients, starts, tickets)
    pools = _text_pools(rng)
    if landing.exists():
        shutil.rmtree(landing)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET VARIABLE seed = ?", [seed])
    con.execute("SET VARIABLE weekday_weight = ?", [WEEKDAY_WEIGHT])
    con.execute(sql_steps.MACROS)
    for table, rows in pools.items():
        _load(con, table, _POOL_COLUMNS[table], rows)
    con.execute("CREATE TABLE months AS SELECT unnest(?::DATE[]) AS month", [starts])
    con.execute("CREATE TABLE contract_rows AS SELECT unnest(?, recursive := true)", [contracts])
    con.execute(
        """CREATE TABLE contracts AS
           SELECT client_id, timezone, seats, rate_per_seat, over_declarer, after_hours_coverage,
                  CAST(valid_from AS DATE) AS valid_from,
                  lead(CAST(valid_from AS DATE)) OVER (PARTITION BY client_id ORDER BY valid_from)
                      AS valid_to
           FROM contract_rows"""
    )
    con.execute(sql_steps.CLIENT_MONTHS)
    con.execute(sql_steps.CALENDAR)
    shares = {"standard": STANDARD_SHARE, "scope": SCOPE_SHARE, "monitoring": MONITORING_SHARE,
              "security": SECURITY_SHARE, "burst": BURST_SHARE}
    con.execute(sql_steps.PLANNED, shares)
    con.execute(sql_steps.OPENED)
    end = date(last.year + (last.month == 12), last.month % 12 + 1, 1)  # data ends here
    sizes = {f"n_{name[5:]}": len(rows) for name, rows in pools.items()}
    maps = {"$response": _map(RESPONSE_MINUTES), "$triage": _map(TRIAGE), "$final": _map(FINAL)}

    def sql(text: str) -> str:
        for name, literal in maps.items():
            text = text.replace(name, literal)
        return text

    con.execute(sql(sql_steps.TICKETS), sizes)
    con.execute(sql(sql_steps.EVENTS), {"data_end": end})
    con.execute(sql_steps.ENTRIES)
    counts = {"clients": clients, "contract_rows": len(contracts)}
    for entity in ("tickets", "ticket_events", "time_entries", "review_decisions"):
        (landing / entity).mkdir(parents=True)
    # The contract's columns; the synthetic contracts bill in the policy's currency.
    columns = contract_columns("clients", without=("currency",))
    (landing / "clients").mkdir()
    q = lambda p: str(p).replace("'", "''")  # noqa: E731
    con.execute(f"COPY (SELECT {', '.join(columns)} FROM contract_rows)"
                f" TO '{q(landing / 'clients' / 'clients.csv')}' (HEADER)")
    con.execute(f"CREATE TABLE ticket_rows AS SELECT t.month, t.k, r.* FROM tickets t"
                f" JOIN ({sql(sql_steps.TICKET_ROWS)}) r USING (ticket_id)",
                {"data_end": end, "unique_texts": unique_texts})
    # The last month is first delivered with 6% of its resolved tickets still in progress.
    con.execute(
        """CREATE TABLE early AS SELECT ticket_id FROM ticket_rows
           WHERE month = ? AND status = 'resolved' AND u(k, 'early') < 0.06""", [last])
    for m in starts:
        label = m.isoformat()[:7]
        con.execute(
            f"""COPY (SELECT * EXCLUDE (month, k) REPLACE (
                    CASE WHEN ticket_id IN (SELECT ticket_id FROM early) THEN 'in_progress'
                         ELSE status END AS status,
                    CASE WHEN ticket_id IN (SELECT ticket_id FROM early) THEN '' ELSE resolved_at
                    END AS resolved_at,
                    CASE WHEN ticket_id IN (SELECT ticket_id FROM early) THEN created_at
                         ELSE updated_at END AS updated_at)
                FROM ticket_rows WHERE month = ? ORDER BY ticket_id)
                TO '{q(landing / "tickets" / f"tickets_{label}.csv")}' (HEADER)""", [m])
        con.execute(
            f"""COPY (SELECT * EXCLUDE (month) FROM events WHERE month = ? ORDER BY event_id)
                TO '{q(landing / "ticket_events" / f"ticket_events_{label}.csv")}' (HEADER)""", [m])
        con.execute(
            f"""COPY (SELECT * EXCLUDE (month) FROM entries WHERE month = ? ORDER BY entry_id)
                TO '{q(landing / "time_entries" / f"time_entries_{label}.jsonl")}' (FORMAT json)""",
            [m])
    con.execute(
        f"""COPY (SELECT * EXCLUDE (month, k) FROM ticket_rows
                  WHERE ticket_id IN (SELECT ticket_id FROM early) ORDER BY ticket_id)
            TO '{q(landing / "tickets" / f"tickets_{last.isoformat()[:7]}_update.csv")}' (HEADER)""")
    con.execute(f"CREATE TABLE decisions AS {sql_steps.DECISIONS}")
    for m in starts:
        con.execute(
            f"""COPY (SELECT * EXCLUDE (month) FROM decisions WHERE month = ?
                      ORDER BY decided_at, ticket_id, decision)
                TO '{q(landing / "review_decisions" / f"review_decisions_{m.isoformat()[:7]}.csv")}'
                (HEADER)""", [m])
    for name, table in (("tickets", "tickets"), ("ticket_events", "events"),
                        ("time_entries", "entries")):
        counts[name] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    counts["review_decisions"] = con.execute("SELECT count(*) FROM decisions").fetchone()[0]
    counts["redelivered_tickets"] = con.execute("SELECT count(*) FROM early").fetchone()[0]
    con.close()
    return counts


def parse_size(text: str) -> int:
    """'10k' -> 10000, '1M' -> 1000000, '2500' -> 2500."""
    text = text.strip()
    factor = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=parse_size, default=100_000, help="e.g. 10k, 100k, 1M")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--end-month", default="2026-10")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--unique-texts", action="store_true",
                        help="no two tickets share a text (the classifiers' worst case)")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = generate(args.landing, tickets=args.tickets, clients=args.clients, months=args.months,
                      end_month=args.end_month, seed=args.seed, unique_texts=args.unique_texts)
    print(f"synthetic MSP written to {args.landing} in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{k}={v:,}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
