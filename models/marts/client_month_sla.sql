-- marts.client_month_sla: response-time compliance per client, month and target priority.
SELECT client_id, month, target_priority AS priority,
       count(*) FILTER (WHERE response_status IN ('met', 'breached')) AS sla_tickets,
       count(*) FILTER (WHERE response_status = 'met') AS sla_met,
       count(*) FILTER (WHERE response_status = 'breached') AS sla_breached,
       count(*) FILTER (WHERE response_status = 'pending') AS sla_pending,
       count(*) FILTER (WHERE response_status = 'met')
           / nullif(count(*) FILTER (WHERE response_status IN ('met', 'breached')), 0)
           AS sla_compliance,
       round(quantile_cont(response_business_minutes, 0.5), 2) AS response_p50_minutes,
       round(quantile_cont(response_business_minutes, 0.9), 2) AS response_p90_minutes,
       max(response_target_minutes) AS target_minutes
FROM marts.ticket_facts
WHERE month = $month AND response_status IS NOT NULL
GROUP BY ALL
