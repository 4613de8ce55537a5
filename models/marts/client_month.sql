-- marts.client_month: one row per client and month, volumes and fair use against the plan.
-- Reads the temp table policy_plan (policy.sql.register_policy).
--
-- Seats in force: contracts are effective-dated, so a month's seats are the seat-days in force
-- divided by the days of the month (a change on the 15th counts half). The plan is the one in force
-- on the month's last day. Fair-use status is judged on the rolling window, see docs/decisions.md.
WITH window_days AS (
    SELECT CAST(d AS DATE) AS day, CAST(date_trunc('month', d) AS DATE) AS month
    FROM range(CAST($month AS DATE) - to_months($rolling - 1),
               CAST($month AS DATE) + INTERVAL 1 MONTH, INTERVAL 1 DAY) r(d)
), contract_days AS (
    SELECT c.client_id, w.month, w.day, c.seats, c.plan, c.name
    FROM window_days w
    JOIN staging.clients c
      ON w.day >= c.valid_from AND (c.valid_to IS NULL OR w.day < c.valid_to)
), contract_month AS (
    SELECT client_id, month,
           sum(seats) / any_value(date_diff('day', month, month + INTERVAL 1 MONTH)) AS seats,
           arg_max(plan, day) AS plan, arg_max(name, day) AS client_name
    FROM contract_days GROUP BY ALL
), units AS (
    SELECT client_id, month,
           count(*) AS tickets,
           count(*) FILTER (WHERE is_provider_initiated) AS provider_initiated_tickets,
           count(*) FILTER (WHERE is_standard) AS standard_tickets,
           count(DISTINCT unit_id) FILTER (WHERE is_standard) AS standard_units
    FROM marts.ticket_facts
    WHERE month BETWEEN CAST($month AS DATE) - to_months($rolling - 1) AND CAST($month AS DATE)
    GROUP BY ALL
), monthly AS (
    SELECT cm.client_id, cm.month, cm.client_name, cm.plan, cm.seats,
           coalesce(u.tickets, 0) AS tickets,
           coalesce(u.provider_initiated_tickets, 0) AS provider_initiated_tickets,
           coalesce(u.standard_tickets, 0) AS standard_tickets,
           coalesce(u.standard_units, 0) AS standard_units
    FROM contract_month cm LEFT JOIN units u USING (client_id, month)
    -- Only months the warehouse holds tickets for: before the data starts is unknown, not zero.
    WHERE cm.month = CAST($month AS DATE)
       OR cm.month IN (SELECT DISTINCT month FROM marts.ticket_facts)
), rolling AS (
    SELECT client_id, sum(standard_units) / sum(seats) AS rolling_units_per_seat,
           count(*) AS rolling_months
    FROM monthly GROUP BY client_id
), categories AS (
    SELECT client_id, category, count(*) AS n,
           row_number() OVER (PARTITION BY client_id ORDER BY count(*) DESC, category) AS rank,
           count(*) / sum(count(*)) OVER (PARTITION BY client_id) AS share
    FROM marts.ticket_facts
    WHERE month = $month AND is_standard
    GROUP BY client_id, category
), requesters AS (
    SELECT client_id, requester, count(*) AS n,
           row_number() OVER (PARTITION BY client_id ORDER BY count(*) DESC, requester) AS rank,
           count(*) / sum(count(*)) OVER (PARTITION BY client_id) AS share
    FROM marts.ticket_facts
    WHERE month = $month AND is_standard AND requester IS NOT NULL
    GROUP BY client_id, requester
), sla AS (
    SELECT client_id,
           count(*) FILTER (WHERE response_status IN ('met', 'breached')) AS sla_tickets,
           count(*) FILTER (WHERE response_status = 'met') AS sla_met,
           round(quantile_cont(response_business_minutes, 0.5), 2) AS response_p50_minutes,
           round(quantile_cont(response_business_minutes, 0.9), 2) AS response_p90_minutes
    FROM marts.ticket_facts WHERE month = $month GROUP BY client_id
), emergencies AS (
    SELECT client_id,
           count(*) FILTER (WHERE declared_emergency) AS declared,
           count(*) FILTER (WHERE confirmed_emergency) AS confirmed,
           count(*) FILTER (WHERE declared_emergency AND confirmed_emergency) AS declared_confirmed,
           count(*) FILTER (WHERE confirmed_emergency AND NOT coalesce(declared_emergency, false))
               AS missed,
           count(*) FILTER (WHERE triage_priority = 'emergency') AS triaged,
           count(*) FILTER (WHERE triage_priority = 'emergency' AND confirmed_emergency)
               AS triaged_confirmed,
           count(*) FILTER (WHERE qualifies_emergency IS NOT NULL AND confirmed_emergency IS NOT NULL)
               AS judged_both,
           count(*) FILTER (WHERE qualifies_emergency = confirmed_emergency) AS policy_agrees
    FROM marts.ticket_facts WHERE month = $month AND NOT is_provider_initiated
    GROUP BY client_id
), oos AS (
    -- Rounded: a parallel float sum differs in its last digits from run to run.
    SELECT client_id, count(DISTINCT ticket_id) AS tickets, round(sum(billable_hours), 6) AS hours,
           round(sum(amount), 6) AS amount
    FROM marts.out_of_scope WHERE month = $month GROUP BY client_id
), current AS (
    SELECT m.*, m.standard_units / m.seats AS units_per_seat, p.limit_per_seat,
           r.rolling_units_per_seat, r.rolling_months
    FROM monthly m
    JOIN rolling r USING (client_id)
    JOIN policy_plan p USING (plan)
    WHERE m.month = CAST($month AS DATE)
)
SELECT c.client_id, c.client_name, c.month, c.plan, c.tickets, c.provider_initiated_tickets,
       c.standard_tickets, c.standard_units, c.seats, c.units_per_seat,
       c.limit_per_seat AS fair_use_limit_per_seat,
       c.units_per_seat / c.limit_per_seat AS fair_use_ratio,
       c.rolling_units_per_seat, c.rolling_months,
       CASE
           WHEN c.rolling_units_per_seat > c.limit_per_seat THEN 'over'
           WHEN c.rolling_units_per_seat > $watch_ratio * c.limit_per_seat
             OR c.units_per_seat > c.limit_per_seat THEN 'watch'
           ELSE 'within'
       END AS fair_use_status,
       percent_rank() OVER (ORDER BY c.units_per_seat / c.limit_per_seat) AS peer_percentile,
       cat.category AS top_category, cat.share AS top_category_share,
       (SELECT sum(share) FROM requesters q WHERE q.client_id = c.client_id AND q.rank <= 3)
           AS busiest_requesters_share,
       coalesce(s.sla_tickets, 0) AS sla_tickets, coalesce(s.sla_met, 0) AS sla_met,
       s.sla_met / nullif(s.sla_tickets, 0) AS sla_compliance,
       s.response_p50_minutes, s.response_p90_minutes,
       coalesce(o.tickets, 0) AS out_of_scope_tickets, coalesce(o.hours, 0) AS out_of_scope_hours,
       coalesce(o.amount, 0) AS out_of_scope_amount,
       coalesce(e.declared, 0) AS emergencies_declared,
       coalesce(e.confirmed, 0) AS emergencies_confirmed,
       e.declared_confirmed / nullif(e.declared, 0) AS emergency_declaration_precision,
       coalesce(e.missed, 0) AS emergencies_missed,
       (e.declared - e.declared_confirmed) / nullif(e.declared, 0) AS emergency_over_declaration_rate,
       e.triaged_confirmed / nullif(e.triaged, 0) AS triage_emergency_precision,
       e.triaged_confirmed / nullif(e.confirmed, 0) AS triage_emergency_recall,
       e.policy_agrees / nullif(e.judged_both, 0) AS emergency_policy_agreement,
       $policy_version AS policy_version
FROM current c
LEFT JOIN categories cat ON cat.client_id = c.client_id AND cat.rank = 1
LEFT JOIN sla s ON s.client_id = c.client_id
LEFT JOIN emergencies e ON e.client_id = c.client_id
LEFT JOIN oos o ON o.client_id = c.client_id
-- A month without a single ticket in the portfolio is a month without data, not zero demand.
WHERE EXISTS (SELECT 1 FROM marts.ticket_facts WHERE month = $month)
