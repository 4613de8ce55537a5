-- marts.out_of_scope: separately billable work of the month, one line per ticket.
-- Reads the temp table policy_rate (policy.sql.register_policy).
--
-- Amount = billable hours logged on the ticket x the rate: the contract's own hourly rate, else the
-- rate card's rate for the ticket's primary (most confident) billable category, else its default.
-- A time entry counts as billable unless it is explicitly marked billable = false.
WITH billable_hits AS (
    SELECT * FROM marts.scope_hits WHERE month = $month AND billable
), per_ticket AS (
    SELECT ticket_id,
           arg_max(scope_id, (confidence, scope_id)) AS primary_category,
           list(scope_id ORDER BY confidence DESC, scope_id) AS scope_categories,
           string_agg(scope_id || ': ' || evidence, ' | ' ORDER BY confidence DESC, scope_id)
               AS evidence,
           max(confidence) AS confidence,
           CASE WHEN bool_or(review_status = 'approved') THEN 'approved' ELSE 'unreviewed' END
               AS review_status,
           max(reviewer) AS reviewer
    FROM billable_hits GROUP BY ticket_id
), hours AS (
    SELECT ticket_id, sum(minutes) FILTER (WHERE coalesce(billable, true)) / 60.0 AS billable_hours
    -- Work started after the as-of instant had not happened then (as in ticket_facts).
    FROM staging.time_entries WHERE month = $month AND started_at <= $as_of GROUP BY ticket_id
), priced AS (
    SELECT p.*, f.client_id, f.created_at, f.subject, c.name AS client_name, c.currency,
           coalesce(h.billable_hours, 0) AS billable_hours,
           coalesce(c.hourly_rate, r.rate, $default_rate) AS hourly_rate,
           CASE WHEN c.hourly_rate IS NOT NULL THEN 'contract'
                WHEN r.rate IS NOT NULL THEN 'rate card: ' || p.primary_category
                ELSE 'rate card default' END AS rate_source
    FROM per_ticket p
    JOIN marts.ticket_facts f ON f.ticket_id = p.ticket_id AND f.month = $month
    JOIN staging.ticket_contract c ON c.ticket_id = p.ticket_id AND c.month = $month
    LEFT JOIN hours h ON h.ticket_id = p.ticket_id
    LEFT JOIN policy_rate r ON r.scope_id = p.primary_category
), after_hours AS (
    -- Emergency work outside business hours for a client without after-hours cover: the policy
    -- offers that response only where contracted, so it is billed, at the contract's rate or the
    -- rate card's after-hours emergency rate.
    SELECT f.ticket_id, 'after_hours_emergency' AS primary_category,
           CAST([] AS VARCHAR[]) AS scope_categories,
           concat(CAST(round(f.after_hours_emergency_minutes) AS BIGINT),
                  ' min of emergency work outside business hours; the contract has no after-hours',
                  ' cover (emergency confirmed by ', f.confirmed_by, ')') AS evidence,
           1.0 AS confidence,
           CASE WHEN f.confirmed_by LIKE 'review by %' THEN 'approved' ELSE 'unreviewed' END
               AS review_status,
           CASE WHEN f.confirmed_by LIKE 'review by %' THEN substr(f.confirmed_by, 11) END
               AS reviewer,
           f.client_id, f.created_at, f.subject, c.name AS client_name, c.currency,
           f.after_hours_emergency_minutes / 60.0 AS billable_hours,
           coalesce(c.hourly_rate, $after_hours_rate, $default_rate) AS hourly_rate,
           CASE WHEN c.hourly_rate IS NOT NULL THEN 'contract'
                WHEN $after_hours_rate IS NOT NULL THEN 'rate card: after_hours_emergency'
                ELSE 'rate card default' END AS rate_source
    FROM marts.ticket_facts f
    JOIN staging.ticket_contract c ON c.ticket_id = f.ticket_id AND c.month = $month
    -- A ticket already billed as out of scope has all its hours on that line.
    WHERE f.month = $month AND f.after_hours_emergency_billable AND NOT f.billable_out_of_scope
), lines AS (
    SELECT * FROM priced UNION ALL BY NAME SELECT * FROM after_hours
)
SELECT client_id, client_name, CAST($month AS DATE) AS month, ticket_id, created_at, subject,
       scope_categories, primary_category, evidence, confidence, review_status, reviewer,
       round(billable_hours, 2) AS billable_hours, hourly_rate, rate_source,
       round(round(billable_hours, 2) * hourly_rate, 2) AS amount,
       -- the contract's currency (staging fills in the policy's when the row names none)
       coalesce(currency, $currency) AS currency
FROM lines
