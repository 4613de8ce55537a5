"""Response-time SQL: the response event, the target, business minutes and the clock explanation.

Business minutes come from `staging.calendar_intervals` (one row per open interval of a calendar,
with `cum_before` = business minutes of that calendar before the interval opens): the business
minutes elapsed up to an instant t are `cum_before + clamp(t - open_at, 0, minutes)` of the last
interval opening at or before t, found with an ASOF JOIN. Elapsed = f(end) - f(start).
"""

from policy.config import PolicyConfig


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def counting_event_predicate(policy: PolicyConfig, alias: str = "e") -> str:
    """SQL predicate: the event is a human agent action that counts as the response."""
    rules = []
    for rule in policy.response.counting_events:
        parts = [f"{alias}.event_type = {sql_str(rule.event_type)}"]
        if rule.public_only:
            parts.append(f"coalesce({alias}.is_public, false)")
        if rule.new_values is not None:
            values = ", ".join(sql_str(v) for v in rule.new_values)
            parts.append(f"lower({alias}.new_value) IN ({values})")
        rules.append("(" + " AND ".join(parts) + ")")
    # Only agents respond: automatic acknowledgements (system) and client messages never count.
    return f"{alias}.actor_type = 'agent' AND (" + " OR ".join(rules) + ")"


def target_priority_sql(policy: PolicyConfig, alias: str = "t") -> str:
    """The priority whose target applies, per the policy's `response.target_priority`."""
    choice = policy.response.target_priority
    if choice == "intake":
        return (f"CASE WHEN coalesce({alias}.declared_emergency, false) THEN 'emergency'"
                f" ELSE coalesce({alias}.triage_priority, {alias}.final_priority) END")
    if choice == "triage":
        return f"coalesce({alias}.triage_priority, {alias}.final_priority)"
    return f"coalesce({alias}.final_priority, {alias}.triage_priority)"


def _elapsed(point: str) -> str:
    """Business minutes of the calendar up to `point`, given the ASOF-joined interval `i`."""
    return (f"coalesce(i.cum_before + least(greatest(epoch({point} - i.open_at) / 60.0, 0),"
            f" i.minutes), 0)")


def response_sql(policy: PolicyConfig) -> str:
    """Per-ticket response clock for one month of staging tickets.

    Parameters: $month (partition), $as_of (TIMESTAMPTZ); needs the temp table policy_target.
    Output columns: ticket_id, target_priority, calendar_used, response_target_minutes,
    first_response_at, first_response_event, clock_started_at, response_due_at,
    response_business_minutes, response_met, response_status, sla_explanation.
    """
    return f"""
WITH t AS (
    SELECT t.*, {target_priority_sql(policy)} AS target_priority
    FROM staging.tickets t WHERE t.month = $month
), contract AS (
    SELECT t.ticket_id, t.client_id, t.created_at, t.created_local, t.target_priority,
           t.is_provider_initiated, c.timezone, c.after_hours_coverage,
           coalesce(c.response_targets[t.target_priority], pt.minutes) AS target_minutes,
           CASE WHEN t.target_priority = 'emergency' AND c.after_hours_coverage THEN '24x7'
                ELSE t.client_id END AS calendar_used
    FROM t JOIN staging.clients c
      ON c.client_id = t.client_id AND CAST(t.created_local AS DATE) >= c.valid_from
     AND (c.valid_to IS NULL OR CAST(t.created_local AS DATE) < c.valid_to)
    LEFT JOIN policy_target pt ON pt.priority = t.target_priority
), response AS (
    SELECT e.ticket_id, min(greatest(e.event_at, c.created_at)) AS first_response_at,
           arg_min(e.event_type || coalesce(' to ' || e.new_value, ''), e.event_at) AS first_event
    FROM staging.ticket_events e JOIN contract c USING (ticket_id)
    WHERE e.month = $month AND {counting_event_predicate(policy)}
    GROUP BY e.ticket_id
), clocked AS (
    SELECT c.*, r.first_response_at, r.first_event
    FROM contract c LEFT JOIN response r USING (ticket_id)
    WHERE NOT c.is_provider_initiated AND c.target_minutes IS NOT NULL
), at_created AS (
    SELECT k.ticket_id, {_elapsed('k.created_at')} AS f_created,
           k.created_at < i.close_at AS created_open
    FROM clocked k ASOF LEFT JOIN staging.calendar_intervals i
      ON i.calendar_id = k.calendar_used AND k.created_at >= i.open_at
), next_open AS (
    SELECT k.ticket_id, i.open_at AS next_open_at
    FROM clocked k ASOF LEFT JOIN staging.calendar_intervals i
      ON i.calendar_id = k.calendar_used AND k.created_at <= i.open_at
), at_response AS (
    SELECT k.ticket_id, {_elapsed('k.first_response_at')} AS f_response
    FROM clocked k ASOF LEFT JOIN staging.calendar_intervals i
      ON i.calendar_id = k.calendar_used AND k.first_response_at >= i.open_at
    WHERE k.first_response_at IS NOT NULL
), goal AS (
    SELECT k.ticket_id, a.f_created + k.target_minutes AS goal
    FROM clocked k JOIN at_created a USING (ticket_id)
), due AS (
    -- The instant the calendar reaches f(created) + target: inside the last interval that starts
    -- below the goal.
    SELECT g.ticket_id, i.open_at + to_microseconds(CAST((g.goal - i.cum_before) * 60e6 AS BIGINT))
               AS response_due_at
    FROM goal g JOIN clocked k USING (ticket_id)
    ASOF LEFT JOIN staging.calendar_intervals i
      ON i.calendar_id = k.calendar_used AND g.goal > i.cum_before
), measured AS (
    SELECT k.*, a.created_open,
           CASE WHEN a.created_open THEN k.created_at ELSE n.next_open_at END AS clock_started_at,
           d.response_due_at,
           r.f_response - a.f_created AS response_business_minutes
    FROM clocked k
    JOIN at_created a USING (ticket_id)
    LEFT JOIN next_open n USING (ticket_id)
    LEFT JOIN at_response r USING (ticket_id)
    LEFT JOIN due d USING (ticket_id)
), judged AS (
    SELECT m.*,
           CASE WHEN m.first_response_at IS NOT NULL
                    THEN m.response_business_minutes <= m.target_minutes
                WHEN m.response_due_at <= $as_of THEN false END AS response_met,
           CASE WHEN m.first_response_at IS NOT NULL AND m.response_business_minutes <= m.target_minutes
                    THEN 'met'
                WHEN m.first_response_at IS NOT NULL OR m.response_due_at <= $as_of THEN 'breached'
                ELSE 'pending' END AS response_status
    FROM measured m
), skipped AS (
    -- Closed days between opening and the clock start, named, for the explanation.
    SELECT j.ticket_id, string_agg(DISTINCT cl.name, ', ' ORDER BY cl.name) AS names
    FROM judged j JOIN staging.calendar_closures cl
      ON cl.calendar_id = j.calendar_used
     AND cl.day BETWEEN CAST(j.created_local AS DATE)
                    AND CAST(timezone(j.timezone, j.clock_started_at) AS DATE)
    GROUP BY j.ticket_id
)
SELECT j.ticket_id, j.target_priority, j.calendar_used,
       j.target_minutes AS response_target_minutes, j.first_response_at,
       j.first_event AS first_response_event, j.clock_started_at, j.response_due_at,
       round(j.response_business_minutes, 2) AS response_business_minutes,
       j.response_met, j.response_status,
       concat(
           'Opened ', strftime(j.created_local, '%a %d %b %H:%M'),
           ' (', CASE WHEN j.created_open THEN 'in hours' ELSE 'outside hours' END, ', ',
           j.timezone, CASE WHEN j.calendar_used = '24x7' THEN ', 24x7 emergency cover' ELSE '' END,
           '). ',
           CASE WHEN NOT j.created_open THEN concat(
               'Clock started ', strftime(timezone(j.timezone, j.clock_started_at), '%a %d %b %H:%M'),
               CASE WHEN s.names IS NOT NULL THEN concat(' (', s.names, ' skipped)') ELSE '' END, '. ')
                ELSE '' END,
           CASE WHEN j.first_response_at IS NOT NULL THEN concat(
               'First agent action ', strftime(timezone(j.timezone, j.first_response_at), '%a %d %b %H:%M'),
               ' (', j.first_event, '). ',
               CAST(round(j.response_business_minutes) AS BIGINT), ' business minutes against a ',
               CAST(round(j.target_minutes) AS BIGINT), '-minute ', j.target_priority, ' target: ',
               CASE WHEN j.response_met
                    THEN concat('met with ',
                                CAST(round(j.target_minutes - j.response_business_minutes) AS BIGINT),
                                ' to spare.')
                    ELSE concat('missed by ',
                                CAST(round(j.response_business_minutes - j.target_minutes) AS BIGINT),
                                '.') END)
                WHEN j.response_status = 'breached' THEN concat(
               'No agent action yet; the ', CAST(round(j.target_minutes) AS BIGINT), '-minute ',
               j.target_priority, ' target passed at ',
               strftime(timezone(j.timezone, j.response_due_at), '%a %d %b %H:%M'), '.')
                ELSE concat(
               'No agent action yet; the ', CAST(round(j.target_minutes) AS BIGINT), '-minute ',
               j.target_priority, ' target passes at ',
               strftime(timezone(j.timezone, j.response_due_at), '%a %d %b %H:%M'), '.')
           END) AS sla_explanation
FROM judged j LEFT JOIN skipped s USING (ticket_id)
"""
