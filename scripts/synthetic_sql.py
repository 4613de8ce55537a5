"""The synthetic MSP's SQL (scripts.synthetic_msp), one named statement per step of the draw.

Each statement reads the tables the step before made (pools, months, contracts, client_months,
calendar, planned, opened, tickets, events, entries) and the `u`/`pick` macros: every random
choice is `hash()` of the seed, a row key and a salt, so a size and seed always give the same files.
"""

# u(key, salt): a uniform number in [0, 1) from the seed, a row key and a salt.
MACROS = """
CREATE OR REPLACE MACRO u(k, s) AS (hash(getvariable('seed'), k, s) % 1000000007) / 1000000007.0;
CREATE OR REPLACE MACRO pick(k, s, n) AS CAST(floor(u(k, s) * n) AS INTEGER);
CREATE OR REPLACE MACRO iso(ts) AS strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%SZ');
"""

# Client-months with their demand (seats in force mid-month x rate x season).
CLIENT_MONTHS = """
CREATE OR REPLACE TABLE cm AS
SELECT c.client_id, c.timezone AS tz, c.over_declarer, c.after_hours_coverage = 'true' AS covered,
       m.month, c.seats, c.seats * c.rate_per_seat
           * CASE WHEN month(m.month) IN (8, 12) THEN 0.8 ELSE 1.0 END AS lam
FROM months m
JOIN contracts c ON c.valid_from <= m.month + 14
 AND (c.valid_to IS NULL OR m.month + 14 < c.valid_to)
"""

# Days of each month weighted by weekday, and hours of the working day: inverse-CDF tables.
CALENDAR = """
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
PLANNED = """
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

OPENED = """
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
TICKETS = """
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

TICKET_ROWS = """
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
EVENTS = """
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
ENTRIES = """
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
DECISIONS = """
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
