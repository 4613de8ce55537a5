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


# u(key, salt): a uniform number in [0, 1) from the seed, a row key and a salt.
_MACROS = """
CREATE OR REPLACE MACRO u(k, s) AS (hash(getvariable('seed'), k, s) % 1000000007) / 1000000007.0;
CREATE OR REPLACE MACRO pick(k, s, n) AS CAST(floor(u(k, s) * n) AS INTEGER);
CREATE OR REPLACE MACRO iso(ts) AS strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%SZ');
"""

# Client-months with their demand (seats in force mid-month x rate x season).
_CLIENT_MONTHS = """
CREATE OR REPLACE TABLE cm AS
SELECT c.client_id, c.timezone AS tz, c.over_declarer, c.after_hours_coverage = 'true' AS covered,
       m.month, c.seats, c.seats * c.rate_per_seat
           * CASE WHEN month(m.month) IN (8, 12) THEN 0.8 ELSE 1.0 END AS lam
FROM months m
JOIN contracts c ON c.valid_from <= m.month + 14
 AND (c.valid_to IS NULL OR m.month + 14 < c.valid_to)
"""

# Days of each month weighted by weekday, and hours of the working day: inverse-CDF tables.
_CALENDAR = """
CREATE OR REPLACE TABLE days AS
WITH d AS (
    SELECT m.month, CAST(d AS DATE) AS day,
           list_extract(getvariable('weekday_weight'), isodow(d)) AS w
    FROM months m, range(m.month, m.month + INTERVAL 1 MONTH, INTERVAL 1 DAY) r(d)
)
SELECT month, day, (sum(w) OVER (PARTITION BY month ORDER BY day) - w)
           / sum(w) OVER (PARTITION BY month) AS lo
FROM d;
CREATE OR REPLACE TABLE hours AS
WITH h AS (SELECT unnest(range(7, 19)) AS hour,
                  unnest([0.3, 1.2, 1.6, 1.5, 1.2, 0.8, 1.0, 1.3, 1.2, 1.0, 0.6, 0.2]) AS w)
SELECT hour, (sum(w) OVER (ORDER BY hour) - w) / sum(w) OVER () AS lo FROM h;
"""

# One row per planned ticket: kind, text, time of opening. Bursts: several requesters within
# minutes of each other, half of them linked to the first ticket as parent.
_PLANNED = """
CREATE OR REPLACE TABLE planned AS
WITH kinds AS (
    SELECT * FROM (VALUES ('standard', $standard), ('scope', $scope), ('monitoring', $monitoring),
                          ('security', $security)) k(kind, share)
), singles AS (
    SELECT cm.*, k.kind, cm.client_id || '|' || cm.month || '|' || k.kind || '|' || i AS k,
           NULL::VARCHAR AS burst, 0 AS member
    FROM cm CROSS JOIN kinds k, range(CAST(round(cm.lam * k.share) AS BIGINT)) r(i)
), bursts AS (
    SELECT cm.*, cm.client_id || '|' || cm.month || '|burst|' || i AS burst,
           2 + pick(cm.client_id || '|' || cm.month || '|burst|' || i, 'size',
                    least(7, 1 + cm.seats // 12)) AS size
    FROM cm, range(CAST(round(cm.lam * $burst / 4.5) AS BIGINT)) r(i)
), members AS (
    SELECT b.* EXCLUDE (size), 'interruption' AS kind, b.burst || '|' || j AS k, j AS member,
           b.size
    FROM bursts b, range(b.size) r(j)
)
SELECT s.* EXCLUDE (burst, member), s.burst, s.member, NULL::INTEGER AS size FROM singles s
UNION ALL BY NAME SELECT * FROM members
"""

_OPENED = """
CREATE OR REPLACE TABLE opened AS
WITH p AS (
    SELECT p.*, coalesce(p.burst, p.k) AS tk,
           p.kind = 'standard' AND u(p.k, 'after') < 0.06
           OR p.kind = 'monitoring' AND u(p.k, 'after') < 0.4 AS after_hours,
           u(coalesce(p.burst, p.k), 'day') AS u_day, u(coalesce(p.burst, p.k), 'hour') AS u_hour
    FROM planned p
), at_day AS (
    SELECT p.*, d.day FROM p ASOF JOIN days d ON d.month = p.month AND p.u_day >= d.lo
), at_hour AS (
    SELECT a.*, h.hour FROM at_day a ASOF JOIN hours h ON a.u_hour >= h.lo
)
SELECT * EXCLUDE (hour, u_day, u_hour),
       timezone(tz, day + to_hours(CASE WHEN after_hours
                                        THEN [6, 7, 18, 19, 20, 21, 22][1 + pick(tk, 'ah', 7)]
                                        ELSE hour END)
                    + to_seconds(pick(tk, 'sec', 3600)))
           -- burst members arrive one after another, 1 to 25 minutes apart
           + to_seconds(CAST(member * (60 + u(k, 'gap') * 1440) AS BIGINT)) AS created_at
FROM at_hour
"""

# Tickets with ids, wording, priorities and the timeline the events and time entries follow.
_TICKETS = """
CREATE OR REPLACE TABLE tickets AS
WITH numbered AS (
    SELECT o.*, 'T' || lpad(CAST(row_number() OVER (ORDER BY created_at, k) AS VARCHAR), 8, '0')
               AS ticket_id
    FROM opened o
), worded AS (
    SELECT n.*,
           CASE kind WHEN 'standard' THEN ps.category WHEN 'scope' THEN sc.category
                     WHEN 'monitoring' THEN 'Alert' WHEN 'security' THEN 'Security'
                     ELSE pi.category END AS category,
           CASE kind WHEN 'standard' THEN ps.subject WHEN 'scope' THEN sc.subject
                     WHEN 'monitoring' THEN pm.subject WHEN 'security' THEN se.subject
                     ELSE pi.subjects[1 + pick(n.k, 'subj', len(pi.subjects))] END AS subject,
           CASE kind WHEN 'standard' THEN ps.description WHEN 'scope' THEN sc.description
                     WHEN 'monitoring' THEN 'Automatically generated by the monitoring platform.'
                     WHEN 'security' THEN se.description
                     ELSE concat(upper(pi.service[1]), replace(pi.service[2:], '_', ' '),
                                 ' problem since about ',
                                 strftime(timezone(n.tz, n.created_at), '%H:%M'), ', ',
                                 ['nobody here can work.', 'tried restarting, no change.',
                                  'is it just me?', 'colleagues have the same issue.'
                                 ][1 + pick(n.k, 'body', 4)]) END AS description,
           sc.scope_id, coalesce(sc.project, false) AS project,
           kind = 'interruption' AND (n.size >= 5 OR pi.service IN ('email', 'erp') AND n.size >= 3)
               AS critical
    FROM numbered n
    LEFT JOIN pool_standard ps ON n.kind = 'standard' AND ps.idx = pick(n.k, 'text', $n_standard)
    LEFT JOIN pool_scope sc ON n.kind = 'scope' AND sc.idx = pick(n.k, 'text', $n_scope)
    LEFT JOIN pool_monitoring pm ON n.kind = 'monitoring' AND pm.idx = pick(n.k, 'text', $n_monitoring)
    LEFT JOIN pool_security se ON n.kind = 'security' AND se.idx = pick(n.k, 'text', $n_security)
    LEFT JOIN pool_interruption pi ON n.kind = 'interruption'
          AND pi.idx = pick(n.burst, 'service', $n_interruption)
), prioritised AS (
    SELECT w.*,
           CASE WHEN kind = 'security' THEN 'emergency'
                WHEN kind = 'interruption' THEN CASE WHEN critical THEN 'emergency' ELSE 'high' END
                WHEN kind = 'scope' THEN ['normal', 'low'][1 + pick(k, 'prio', 2)]
                WHEN kind = 'monitoring' THEN ['high', 'normal', 'low'][1 + pick(k, 'prio', 3)]
                WHEN u(k, 'prio') < 0.12 THEN 'high' WHEN u(k, 'prio') < 0.8 THEN 'normal'
                ELSE 'low' END AS priority,
           CASE WHEN kind = 'security' THEN u(k, 'decl') < 0.8
                WHEN kind = 'interruption' THEN critical AND u(k, 'decl') < 0.7
                                                OR over_declarer AND u(k, 'decl2') < 0.5
                WHEN kind = 'standard' THEN over_declarer AND u(k, 'decl') < 0.18
                WHEN kind = 'scope' THEN over_declarer AND u(k, 'decl') < 0.1
                ELSE false END AS declared,
           kind IN ('security') OR critical AS true_emergency
    FROM worded w
), timed AS (
    SELECT p.*,
           -- first human response: minutes by urgency, 9% slow
           created_at + to_seconds(CAST(60 * $response[CASE WHEN declared THEN 'emergency'
                                                           ELSE priority END]
                                   * CASE WHEN u(k, 'slow') < 0.09 THEN 1.3 + 2.7 * u(k, 'resp')
                                          ELSE 0.1 + 0.8 * u(k, 'resp') END AS BIGINT)) AS responded_at
    FROM prioritised p
)
SELECT t.*,
       responded_at + to_seconds(CAST(3600 * CASE
           WHEN kind = 'scope' AND project THEN 48 + 552 * u(k, 'dur')
           WHEN kind = 'scope' THEN 2 + 94 * u(k, 'dur')
           ELSE 0.2 + 29.8 * u(k, 'dur') END AS BIGINT)) AS resolved_at,
       CASE WHEN kind = 'monitoring' THEN 'monitoring@provider.example'
            ELSE 'user' || lpad(CAST(1 + least(seats - 1, CASE WHEN burst IS NOT NULL
                     THEN (pick(burst, 'req', seats) + member * 7) % seats
                     ELSE CAST(floor(seats * pow(u(k, 'req'), 2.5)) AS INTEGER) END)
                     AS VARCHAR), 3, '0') || '@' || lower(client_id) || '.example' END AS requester,
       CASE WHEN kind = 'monitoring' THEN 'monitoring'
            WHEN kind = 'security' THEN ['phone', 'email'][1 + pick(k, 'src', 2)]
            WHEN kind = 'scope' THEN ['email', 'portal'][1 + pick(k, 'src', 2)]
            ELSE ['email', 'email', 'portal', 'phone', 'chat'][1 + pick(k, 'src', 5)] END AS source,
       CASE WHEN member > 0 AND u(burst, 'linked') < 0.5 THEN first_value(ticket_id) OVER (
                PARTITION BY burst ORDER BY member) END AS parent_ticket_id,
       CASE WHEN u(k, 'triage') < 0.08 THEN ['emergency', 'high', 'normal', 'low'][1 + pick(k, 't2', 4)]
            WHEN declared AND NOT true_emergency AND u(k, 'follow') < 0.45 THEN 'emergency'
            ELSE priority END AS triage
FROM timed t
"""

_TICKET_ROWS = """
SELECT ticket_id, client_id, requester, iso(created_at) AS created_at, subject,
       -- unique texts: a reference of its own at the end of every description
       CASE WHEN $unique_texts THEN description || ' Our ref ' || ticket_id || '.'
            ELSE description END AS description,
       category, source, CAST(declared AS VARCHAR) AS declared_emergency,
       $triage[triage] AS triage_priority, $final[priority] AS final_priority,
       coalesce(parent_ticket_id, '') AS parent_ticket_id,
       CASE WHEN member = 0 AND burst IS NOT NULL THEN size ELSE 1 END AS affected_users,
       CASE WHEN resolved_at >= $data_end THEN 'open' ELSE 'resolved' END AS status,
       CASE WHEN resolved_at >= $data_end THEN '' ELSE iso(resolved_at) END AS resolved_at,
       iso(least(resolved_at, $data_end - INTERVAL 1 MINUTE)) AS updated_at
FROM tickets
"""

# About eight events per ticket: created, acknowledgement, assignment, first response, replies
# and notes, resolution.
_EVENTS = """
CREATE OR REPLACE TABLE events AS
WITH e AS (
    SELECT t.ticket_id, t.month, t.k, t.kind, t.requester, t.created_at, t.responded_at,
           t.resolved_at, t.priority, i, 6 + pick(t.k, 'events', 5) AS n
    FROM tickets t, range(6 + pick(t.k, 'events', 5)) r(i)
), typed AS (
    SELECT e.*, ['agent.sam', 'agent.lee', 'agent.ravi', 'agent.mona', 'agent.jo',
                 'agent.tomas'][1 + pick(k, 'agent', 6)] AS agent,
           u(k, 'ev' || i) AS r,
           CASE WHEN i = 0 THEN 'created'
                WHEN i = 1 THEN CASE WHEN kind = 'monitoring' THEN 'internal_note'
                                     ELSE 'auto_acknowledgement' END
                WHEN i = 2 THEN 'assignment'
                WHEN i = 3 THEN ['agent_reply', 'status_change', 'priority_change'][1 + pick(k, 'first', 3)]
                WHEN i = n - 1 AND resolved_at < $data_end THEN 'resolution'
                ELSE ['client_reply', 'client_reply', 'agent_reply', 'agent_reply',
                      'internal_note'][1 + pick(k, 'reply' || i, 5)] END AS step
    FROM e
)
SELECT month, 'E' || substr(ticket_id, 2) || '-' || lpad(CAST(i AS VARCHAR), 2, '0') AS event_id,
       ticket_id,
       iso(CASE WHEN i = 0 THEN created_at
                WHEN i = 1 THEN created_at + to_seconds(5 + pick(k, 'ack', 85))
                WHEN i = 2 THEN created_at + to_seconds(60 + pick(k, 'assign', 540))
                WHEN i = 3 THEN responded_at
                WHEN step = 'resolution' THEN resolved_at
                ELSE responded_at + (resolved_at - responded_at) * ((i - 3) / (n - 3)) END) AS event_at,
       CASE step WHEN 'resolution' THEN 'status_change' ELSE step END AS event_type,
       CASE WHEN i = 0 AND kind = 'monitoring' OR i IN (1, 2) AND kind <> 'monitoring'
                 OR i = 2 THEN 'system'
            WHEN step = 'client_reply' OR i = 0 THEN 'client' ELSE 'agent' END AS actor_type,
       CASE WHEN i = 0 THEN requester WHEN i = 1 AND kind <> 'monitoring' THEN 'autoresponder'
            WHEN i = 2 THEN 'router' WHEN step = 'client_reply' THEN requester ELSE agent END AS actor,
       CAST(step NOT IN ('internal_note', 'assignment', 'priority_change') AS VARCHAR) AS is_public,
       CASE WHEN i = 0 THEN 'new' WHEN step = 'status_change' THEN 'in_progress'
            WHEN step = 'resolution' THEN 'resolved'
            WHEN step = 'assignment' THEN ['service-desk', 'l2-network'][1 + pick(k, 'queue', 2)]
            WHEN step = 'priority_change' THEN $triage[priority] ELSE '' END AS new_value
FROM typed
"""

# Work logged: short remote sessions on routine tickets; travel and onsite, night maintenance or
# project chunks on out-of-scope work.
_ENTRIES = """
CREATE OR REPLACE TABLE entries AS
WITH n AS (
    SELECT t.*, CASE WHEN kind <> 'scope' THEN 1 + CAST(u(k, 'entries') < 0.25 AS INTEGER)
                     WHEN scope_id = 'onsite' THEN 2 WHEN scope_id = 'planned_after_hours' THEN 1
                     WHEN project THEN 2 + pick(k, 'entries', 5) ELSE 1 + pick(k, 'entries', 2)
                END AS n
    FROM tickets t
), e AS (SELECT n.*, i FROM n, range(n.n) r(i))
SELECT month, 'W' || substr(ticket_id, 2) || '-' || i AS entry_id, ticket_id,
       iso(CASE WHEN scope_id = 'planned_after_hours'
                THEN timezone(tz, CAST(timezone(tz, responded_at) AS DATE)
                                  + to_days(2 + pick(k, 'night', 8)) + to_hours(20 + pick(k, 'hour', 3)))
                ELSE responded_at + (resolved_at - responded_at) * (i / n) END) AS started_at,
       CASE WHEN kind <> 'scope' THEN [5, 10, 15, 20, 30, 45][1 + pick(k, 'min' || i, 6)]
            WHEN scope_id = 'onsite' AND i = 0 THEN [30, 45, 60][1 + pick(k, 'min', 3)]
            WHEN scope_id = 'onsite' THEN [90, 120, 180, 240][1 + pick(k, 'min', 4)]
            WHEN scope_id = 'planned_after_hours' THEN [120, 180, 240][1 + pick(k, 'min', 3)]
            WHEN project THEN CAST(round((6 + 34 * u(k, 'hours')) * 60 / n) AS INTEGER)
            ELSE CAST(round((1.5 + 4.5 * u(k, 'hours')) * 60 / n) AS INTEGER) END AS minutes,
       CASE WHEN scope_id = 'onsite' AND i = 0 THEN 'travel' WHEN scope_id = 'onsite' THEN 'onsite'
            ELSE 'remote' END AS work_type,
       kind = 'scope' AS billable,
       CASE WHEN kind <> 'scope' THEN ['Remote session', 'Checked settings', 'Guided user by phone',
                                       'Reset and tested'][1 + pick(k, 'note' || i, 4)]
            WHEN scope_id = 'onsite' AND i = 0 THEN 'Travel to site'
            WHEN scope_id = 'onsite' THEN 'On site: replaced hardware and tested'
            WHEN scope_id = 'planned_after_hours' THEN 'Maintenance window: change applied and verified'
            ELSE ['Project work', 'Planning and design', 'Implementation', 'Testing and documentation',
                  'Migration batch'][1 + pick(k, 'note' || i, 5)] END AS note
FROM e
"""

# Reviews: a share of out-of-scope calls approved or rejected, confirmed outages, denied
# over-declared emergencies.
_DECISIONS = """
SELECT month, ticket_id, decision, reviewer,
       iso(timezone('UTC', month + INTERVAL 1 MONTH + to_days(1 + pick(k, 'decided', 8))
                           + INTERVAL 10 HOUR + INTERVAL 30 MINUTE)) AS decided_at,
       'Reviewed with the client' AS note
FROM (
    SELECT *, 'scope:' || scope_id || '=' || CASE WHEN u(k, 'verdict') < 0.85 THEN 'approved'
                                                 ELSE 'rejected' END AS decision,
           'finance.jane' AS reviewer
    FROM tickets WHERE kind = 'scope' AND u(k, 'review') < 0.3
    UNION ALL
    SELECT *, 'emergency=confirmed', 'sd.lead.omar' FROM tickets
    WHERE critical AND member = 0 AND u(burst, 'review') < 0.5
    UNION ALL
    SELECT *, 'emergency=denied', 'sd.lead.omar' FROM tickets
    WHERE declared AND NOT true_emergency AND u(k, 'denied') < 0.35
)
ORDER BY decided_at, ticket_id
"""


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
    con.execute(_MACROS)
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
    con.execute(_CLIENT_MONTHS)
    con.execute(_CALENDAR)
    shares = {"standard": STANDARD_SHARE, "scope": SCOPE_SHARE, "monitoring": MONITORING_SHARE,
              "security": SECURITY_SHARE, "burst": BURST_SHARE}
    con.execute(_PLANNED, shares)
    con.execute(_OPENED)
    end = date(last.year + (last.month == 12), last.month % 12 + 1, 1)  # data ends here
    sizes = {f"n_{name[5:]}": len(rows) for name, rows in pools.items()}
    maps = {"$response": _map(RESPONSE_MINUTES), "$triage": _map(TRIAGE), "$final": _map(FINAL)}

    def sql(text: str) -> str:
        for name, literal in maps.items():
            text = text.replace(name, literal)
        return text

    con.execute(sql(_TICKETS), sizes)
    con.execute(sql(_EVENTS), {"data_end": end})
    con.execute(_ENTRIES)
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
                f" JOIN ({sql(_TICKET_ROWS)}) r USING (ticket_id)",
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
    con.execute(f"CREATE TABLE decisions AS {_DECISIONS}")
    for m in starts:
        con.execute(
            f"""COPY (SELECT * EXCLUDE (month) FROM decisions WHERE month = ?)
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
