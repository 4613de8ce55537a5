-- marts.ticket_facts: one row per ticket of the month with its ticket unit and the policy's views of it.
-- Reads the temp tables ticket_response (logic.sla.build_ticket_response) and the month's
-- staging.tickets, staging.time_entries, marts.scope_hits and marts.emergency_readings.
--
-- Ticket units (policy section 2): one routine request, one user, or one related interruption.
-- 1. provider-initiated tickets are their own unit and never count (is_standard = false);
-- 2. unlinked tickets of one client and category that report an interruption, each within the
--    gap of the one before, form one unit when at least N different requesters raised them;
-- 3. a ticket linked to a parent joins the parent's unit (the parent's burst if it is in one).
WITH t AS (
    SELECT * FROM staging.tickets WHERE month = $month
), interruption AS (
    SELECT ticket_id, client_id, coalesce(category, '') AS category, created_at, requester
    FROM t
    WHERE NOT is_provider_initiated
      AND regexp_matches(lower(coalesce(subject, '') || ' ' || coalesce(description, '')),
                         $pattern)
), gaps AS (
    SELECT *, CASE WHEN lag(created_at) OVER w IS NULL
                     OR created_at - lag(created_at) OVER w > to_minutes($gap) THEN 1 ELSE 0
              END AS starts_session
    FROM interruption
    WINDOW w AS (PARTITION BY client_id, category ORDER BY created_at, ticket_id)
), sessions AS (
    SELECT *, sum(starts_session) OVER (
        PARTITION BY client_id, category ORDER BY created_at, ticket_id
        ROWS UNBOUNDED PRECEDING) AS session_no
    FROM gaps
), bursts AS (
    SELECT client_id, category, session_no, arg_min(ticket_id, created_at) AS burst_unit
    FROM sessions
    GROUP BY ALL
    HAVING count(DISTINCT requester) >= $min_requesters
), burst_member AS (
    SELECT s.ticket_id, b.burst_unit
    FROM sessions s JOIN bursts b USING (client_id, category, session_no)
), scope AS (
    SELECT ticket_id,
           list(scope_id ORDER BY scope_id) FILTER (WHERE review_status <> 'rejected') AS categories,
           bool_or(billable) AS billable
    FROM marts.scope_hits WHERE month = $month GROUP BY ticket_id
), emergency_review AS (
    -- The decision in force at the as-of instant (macro decisions_in_force, warehouse/schema.py).
    SELECT ticket_id, verdict = 'confirmed' AS confirmed, reviewer
    FROM decisions_in_force($as_of) WHERE kind = 'emergency'
), logged AS (
    SELECT ticket_id, sum(minutes) AS logged_minutes,
           coalesce(sum(minutes) FILTER (WHERE outside_hours AND coalesce(billable, true)), 0)
               AS outside_hours_minutes
    -- Work started after the as-of instant had not happened then (docs/decisions.md).
    FROM staging.time_entries WHERE month = $month AND started_at <= $as_of GROUP BY ticket_id
), cover AS (
    SELECT ticket_id, after_hours_coverage FROM staging.ticket_contract WHERE month = $month
), facts AS (
SELECT t.ticket_id, t.client_id, t.month, t.created_at, t.requester, t.subject, t.category,
       t.source, coalesce(t.final_priority, t.triage_priority) AS priority,
       t.is_provider_initiated,
       NOT t.is_provider_initiated AND coalesce(len(sc.categories), 0) = 0 AS is_standard,
       CASE
           WHEN t.is_provider_initiated THEN t.ticket_id
           WHEN $link_by_parent AND t.parent_ticket_id IS NOT NULL
               THEN coalesce(pb.burst_unit, p.parent_ticket_id, t.parent_ticket_id)
           WHEN b.burst_unit IS NOT NULL THEN b.burst_unit
           ELSE t.ticket_id
       END AS unit_id,
       CASE
           WHEN t.is_provider_initiated THEN 'own'
           WHEN $link_by_parent AND t.parent_ticket_id IS NOT NULL THEN 'parent'
           WHEN b.burst_unit IS NOT NULL AND b.burst_unit <> t.ticket_id THEN 'interruption'
           WHEN b.burst_unit IS NOT NULL THEN 'interruption_first'
           ELSE 'own'
       END AS unit_rule,
       coalesce(l.logged_minutes, 0) AS logged_minutes,
       -- Policy section 6: after-hours emergency response only where contracted; otherwise the
       -- emergency work done outside hours is billed separately.
       CASE WHEN coalesce(er.confirmed, t.final_priority = 'emergency')
            THEN coalesce(l.outside_hours_minutes, 0) ELSE 0 END AS after_hours_emergency_minutes,
       coalesce(er.confirmed, t.final_priority = 'emergency', false)
           AND NOT coalesce(cv.after_hours_coverage, false)
           AND coalesce(l.outside_hours_minutes, 0) > 0 AS after_hours_emergency_billable,
       coalesce(sc.categories, []) AS scope_categories,
       coalesce(sc.billable, false) AS billable_out_of_scope,
       er_auto.qualifies_emergency, er_auto.emergency_confidence, er_auto.emergency_evidence,
       t.declared_emergency, t.triage_priority,
       coalesce(er.confirmed, t.final_priority = 'emergency') AS confirmed_emergency,
       CASE WHEN er.ticket_id IS NOT NULL THEN 'review by ' || coalesce(er.reviewer, 'unknown')
            WHEN t.final_priority IS NOT NULL THEN 'final priority' END AS confirmed_by,
       r.* EXCLUDE (ticket_id),
       t.source_sla_met,
       $policy_version AS policy_version
FROM t
LEFT JOIN ticket_response r ON r.ticket_id = t.ticket_id
LEFT JOIN burst_member b ON b.ticket_id = t.ticket_id
LEFT JOIN staging.tickets p ON p.ticket_id = t.parent_ticket_id
LEFT JOIN burst_member pb ON pb.ticket_id = t.parent_ticket_id
LEFT JOIN logged l ON l.ticket_id = t.ticket_id
LEFT JOIN emergency_review er ON er.ticket_id = t.ticket_id
LEFT JOIN scope sc ON sc.ticket_id = t.ticket_id
LEFT JOIN cover cv ON cv.ticket_id = t.ticket_id
LEFT JOIN marts.emergency_readings er_auto ON er_auto.ticket_id = t.ticket_id AND er_auto.month = $month
)
-- One interruption is one emergency or none: a follow-up report ("same here") rarely says how
-- many people are affected, so a unit's strongest reading applies to all of its tickets.
-- Grouped and joined back rather than windowed: most units are one ticket, and a window per
-- unit cost 0.6 s of a 0.65 s month at 1M tickets.
, unit_reading AS (
    -- the strongest *call* of the unit: a call shows its calibrated confidence, a ticket below the
    -- call threshold its raw one, so the two are not compared (docs/classification.md, round 11)
    SELECT unit_id AS _unit_id, bool_or(qualifies_emergency) AS _unit_qualifies,
           max(emergency_confidence) FILTER (WHERE qualifies_emergency) AS _unit_confidence,
           arg_max(ticket_id, (emergency_confidence, ticket_id)) FILTER (WHERE qualifies_emergency)
               AS _unit_ticket,
           arg_max(emergency_evidence, (emergency_confidence, ticket_id)) FILTER (WHERE qualifies_emergency)
               AS _unit_evidence
    FROM facts GROUP BY unit_id
)
SELECT * EXCLUDE (_unit_id, _unit_qualifies, _unit_confidence, _unit_ticket, _unit_evidence)
REPLACE (
    coalesce(_unit_qualifies, qualifies_emergency) AS qualifies_emergency,
    CASE WHEN NOT coalesce(qualifies_emergency, false) AND _unit_qualifies
         THEN _unit_confidence ELSE emergency_confidence END AS emergency_confidence,
    CASE WHEN NOT coalesce(qualifies_emergency, false) AND _unit_qualifies
         THEN 'same interruption as ' || _unit_ticket || ': ' || _unit_evidence
         ELSE emergency_evidence END AS emergency_evidence
)
FROM facts JOIN unit_reading ON _unit_id IS NOT DISTINCT FROM unit_id
