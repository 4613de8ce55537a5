"""Generate a realistic demo MSP as landing files in the canonical format, deterministic by seed.

Ground truth (true ticket units, scope exclusions, emergencies) goes to a separate folder that the
pipeline never reads; it exists to score the pipeline.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
from datetime import datetime
from pathlib import Path

from demo.msp import MspGenerator, month_starts
from policy.paths import PROJECT_ROOT, landing_dir
from warehouse.contract import columns

# The demo PSA's files carry the contract's columns, except that its system exports no SLA verdict
# of its own and its contracts bill in the policy's currency.
TICKET_COLUMNS = columns("tickets", without=("source_sla_met",))
EVENT_COLUMNS = columns("ticket_events")
CLIENT_COLUMNS = columns("clients", without=("currency",))
DECISION_COLUMNS = columns("review_decisions")
ENTRY_COLUMNS = columns("time_entries")


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
    gen = MspGenerator(seed, clients, month_starts(end_month, months), scale)
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
