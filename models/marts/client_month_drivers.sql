-- marts.client_month_drivers: what drives each client's volume, the top $top categories and
-- requesters of the month among standard tickets.
WITH base AS (
    SELECT client_id, category, requester, unit_id FROM marts.ticket_facts
    WHERE month = $month AND is_standard
), totals AS (
    SELECT client_id, count(*) AS total FROM base GROUP BY client_id
), long AS (
    SELECT client_id, 'category' AS driver_type, coalesce(category, '(none)') AS driver,
           count(*) AS tickets, count(DISTINCT unit_id) AS standard_units
    FROM base GROUP BY ALL
    UNION ALL
    SELECT client_id, 'requester', coalesce(requester, '(unknown)'),
           count(*), count(DISTINCT unit_id)
    FROM base GROUP BY ALL
), ranked AS (
    SELECT l.*, l.tickets / t.total AS share,
           row_number() OVER (PARTITION BY l.client_id, l.driver_type
                              ORDER BY l.tickets DESC, l.driver) AS rank
    FROM long l JOIN totals t USING (client_id)
)
SELECT client_id, CAST($month AS DATE) AS month, driver_type, driver, tickets, standard_units,
       share, rank
FROM ranked WHERE rank <= $top
