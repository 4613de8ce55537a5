"""Response-time SQL: the response event, the target, business minutes and the clock explanation.

Business minutes come from `staging.calendar_intervals` (one row per open interval of a calendar,
with `cum_before` = business minutes of that calendar before the interval opens): the business
minutes elapsed up to an instant t are `cum_before + clamp(t - open_at, 0, minutes)` of the last
interval opening at or before t, found with an ASOF JOIN (logic.business_time). Elapsed =
f(end) - f(start); the due time is where f reaches f(created) + target.

The clock is judged in whole minutes, as the report shows its times: the instants it reads
(creation, first response, the as-of instant) are cut to their minute first, so elapsed business
minutes are whole, and a target is breached only once they exceed it, answered or not. Nothing
after the as-of instant counts (docs/decisions.md).
"""

from datetime import datetime

import duckdb

from logic.business_time import business_minutes_sql, next_opening_sql
from policy.config import PolicyConfig
from warehouse.sqlquote import month_in, sql_literal


def counting_event_predicate(policy: PolicyConfig, alias: str = "e") -> str:
    """SQL predicate: the event is a human agent action that counts as the response."""
    rules = []
    for rule in policy.response.counting_events:
        parts = [f"{alias}.event_type = {sql_literal(rule.event_type)}"]
        if rule.public_only:
            parts.append(f"coalesce({alias}.is_public, false)")
        if rule.new_values is not None:
            values = ", ".join(sql_literal(v) for v in rule.new_values)
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


INTERVALS = "staging.calendar_intervals"


def _clocked_sql(policy: PolicyConfig, months: list[str]) -> str:
    """Tickets of `months` with a target: contract, target priority, calendar and first response."""
    return f"""
WITH t AS (
    SELECT t.*, {target_priority_sql(policy)} AS target_priority
    FROM staging.tickets t WHERE {month_in("t.month", months)}
), contract AS (
    SELECT t.ticket_id, t.month, t.client_id, t.created_at, t.created_local, t.target_priority,
           t.is_provider_initiated, c.timezone, c.after_hours_coverage,
           coalesce(c.response_targets[t.target_priority], pt.minutes) AS target_minutes,
           CASE WHEN t.target_priority = 'emergency' AND c.after_hours_coverage THEN '24x7'
                ELSE t.client_id END AS calendar_used
    FROM t JOIN staging.ticket_contract c ON c.ticket_id = t.ticket_id AND c.month = t.month
    LEFT JOIN policy_target pt ON pt.priority = t.target_priority
), response AS (
    SELECT e.ticket_id, min(greatest(e.event_at, c.created_at)) AS first_response_at,
           arg_min(e.event_type || coalesce(' to ' || e.new_value, ''), e.event_at) AS first_event
    -- A ticket's events are its month's (as each month's statement read them alone).
    FROM staging.ticket_events e JOIN contract c ON c.ticket_id = e.ticket_id AND c.month = e.month
    WHERE {month_in("e.month", months)} AND e.event_at <= $as_of AND {counting_event_predicate(policy)}
    GROUP BY e.ticket_id
)
SELECT c.*, r.first_response_at, r.first_event,
       -- The instants the clock reads, cut to their minute.
       {_minute("c.created_at")} AS clock_from, {_minute("r.first_response_at")} AS clock_to
FROM contract c LEFT JOIN response r USING (ticket_id)
WHERE NOT c.is_provider_initiated AND c.target_minutes IS NOT NULL
"""


# The instant the calendar has run f(created) + target business minutes: inside the last interval
# that opens below that goal. f(created) is measured from the start of the calendar's coverage.
# The ticket is breached once f exceeds the goal (`response_goal`), answered or not.
_DUE = f"""
WITH goal AS (
    SELECT k.ticket_id, k.calendar_used, f.business_minutes + k.target_minutes AS goal
    FROM sla_clocked k JOIN sla_since_coverage f ON f."key" = k.ticket_id
)
SELECT g.ticket_id, g.goal AS response_goal,
       i.open_at + to_microseconds(CAST((g.goal - i.cum_before) * 60e6 AS BIGINT)) AS response_due_at
FROM goal g ASOF LEFT JOIN {INTERVALS} i ON i.calendar_id = g.calendar_used AND g.goal > i.cum_before
"""


def _minute(instant: str) -> str:
    """The instant cut to its whole minute: the clock reads whole minutes.

    Epoch arithmetic, not date_trunc: on a TIMESTAMPTZ that goes through ICU and cost 0.7 s per
    million instants on one thread (against 0.07 s), and it would depend on the session's zone.
    """
    return f"make_timestamptz(CAST(floor(epoch_us({instant}) / 60e6) AS BIGINT) * 60000000)"


# The month's calendars' intervals that a lookup by instant can land on. Every instant the month's
# clock reads is at or after its earliest clock_from (a first response, a clock start and
# clock_to are not earlier than the ticket's creation) or is the as-of instant, or is a
# calendar's coverage start: each lookup takes the latest interval opening at or before it (or
# the next one after it), so the intervals from the last one opening at or before the earliest of
# those instants on, and those opening at or before the coverage start, give every lookup the
# interval the whole table gives. Each interval keeps its cum_before (minutes from the coverage
# start), so the minutes are the same. The due instant's lookup (by minutes, `_DUE`) reads the
# whole table.
MONTH_INTERVALS = "sla_month_intervals"
_MONTH_INTERVALS = f"""
CREATE OR REPLACE TEMP TABLE {MONTH_INTERVALS} AS
WITH first_instant AS (
    SELECT calendar_used AS calendar_id, least(min(clock_from), {_minute("$as_of")}) AS first_at
    FROM sla_clocked GROUP BY calendar_used
), anchor AS (
    SELECT i.calendar_id, max(i.open_at) AS open_at
    FROM {INTERVALS} i JOIN first_instant f ON f.calendar_id = i.calendar_id AND i.open_at <= f.first_at
    GROUP BY i.calendar_id
)
SELECT i.*
FROM {INTERVALS} i
JOIN first_instant f ON f.calendar_id = i.calendar_id
LEFT JOIN anchor a ON a.calendar_id = i.calendar_id
LEFT JOIN {INTERVALS}_coverage c ON c.calendar_id = i.calendar_id
WHERE a.open_at IS NULL OR i.open_at >= a.open_at OR i.open_at <= c.covered_from
"""


def build_ticket_response(
    con: duckdb.DuckDBPyConnection, policy: PolicyConfig, month: str, as_of: datetime
) -> None:
    """Create temp table ticket_response: the response clock of every ticket of the month.

    Needs the temp table policy_target (policy.sql.register_policy).
    """
    build_ticket_responses(con, policy, [month], as_of, "sla_range_response", temporary=True)
    con.execute("CREATE OR REPLACE TEMP TABLE ticket_response AS"
                " SELECT * EXCLUDE (month) FROM sla_range_response")


def month_response(con: duckdb.DuckDBPyConnection, table: str, month: str) -> None:
    """Temp view ticket_response: the month's rows of a range's `table` (build_ticket_responses)."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW ticket_response AS SELECT * EXCLUDE (month)"
                f" FROM {table} WHERE month = DATE {sql_literal(month)}")


# One statement per step for all of a run's months, not per month: each month's eight statements
# cost about as much CPU to plan and to sort the calendars for their ASOF joins as to compute its
# few thousand rows (4.3 s of CPU at 100k over 13 months, ticket_facts' largest part). A ticket
# is staged in one month (staging keeps its latest delivery), and every lookup is by its own
# instants and calendar, so each ticket's row is the one its month's statements gave alone.
def build_ticket_responses(
    con: duckdb.DuckDBPyConnection, policy: PolicyConfig, months: list[str], as_of: datetime,
    table: str, temporary: bool = False,
) -> None:
    """Create `table` (a temp table if `temporary`): ticket_response's rows for every ticket of
    `months`, with their month.

    Needs the temp table policy_target (policy.sql.register_policy); the sla_* temp tables it
    builds on the way are this connection's.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE sla_clocked AS {_clocked_sql(policy, months)}",
                {"as_of": as_of})
    # The clock's lookups by instant read only the months' calendars from their interval that holds
    # the months' first instant on (and the coverage start's): an ASOF join sorts every interval it
    # is given, and a year of calendars is 59,143 intervals at 100k tickets, 298,303 at 1M.
    con.execute(_MONTH_INTERVALS, {"as_of": as_of})
    con.execute(f"CREATE OR REPLACE TEMP VIEW {MONTH_INTERVALS}_coverage AS"
                f" SELECT * FROM {INTERVALS}_coverage")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sla_minutes AS "
        + business_minutes_sql(
            MONTH_INTERVALS,
            """SELECT ticket_id AS "key", calendar_used AS calendar_id, clock_from AS start_at,
                      clock_to AS end_at
               FROM sla_clocked WHERE first_response_at IS NOT NULL""",
        )
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sla_since_coverage AS "
        + business_minutes_sql(
            MONTH_INTERVALS,
            f"""SELECT k.ticket_id AS "key", k.calendar_used AS calendar_id,
                       c.covered_from AS start_at, k.clock_from AS end_at
                FROM sla_clocked k JOIN {INTERVALS}_coverage c ON c.calendar_id = k.calendar_used""",
        )
    )
    # f(as-of) per calendar of the month (a handful of rows): an unanswered ticket is breached
    # once it passes the ticket's goal.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sla_at_as_of AS "
        + business_minutes_sql(
            MONTH_INTERVALS,
            f"""SELECT calendar_id AS "key", calendar_id, covered_from AS start_at,
                       {_minute("$as_of")} AS end_at
                FROM {INTERVALS}_coverage
                WHERE calendar_id IN (SELECT calendar_used FROM sla_clocked)""",
        ),
        {"as_of": as_of},
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sla_clock_start AS "
        + next_opening_sql(
            MONTH_INTERVALS,
            """SELECT ticket_id AS "key", calendar_used AS calendar_id, created_at AS "at"
               FROM sla_clocked""",
        )
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE sla_due AS {_DUE}")
    kind = "TEMP TABLE" if temporary else "TABLE"
    con.execute(f"CREATE OR REPLACE {kind} {table} AS {_RESPONSE}", {"as_of": as_of})
    for step in _STEPS:  # a range's steps can be large (1M tickets a year): not kept past the table
        con.execute(f"DROP TABLE IF EXISTS {step}")


_STEPS = ("sla_clocked", MONTH_INTERVALS, "sla_minutes", "sla_since_coverage", "sla_at_as_of",
          "sla_clock_start", "sla_due")


_RESPONSE = """
WITH measured AS (
    SELECT k.*, o.is_open AS created_open, o.clock_starts_at AS clock_started_at,
           d.response_due_at, m.business_minutes AS response_business_minutes,
           a.business_minutes > d.response_goal AS over_at_as_of
    FROM sla_clocked k
    LEFT JOIN sla_clock_start o ON o."key" = k.ticket_id
    LEFT JOIN sla_minutes m ON m."key" = k.ticket_id
    LEFT JOIN sla_due d ON d.ticket_id = k.ticket_id
    LEFT JOIN sla_at_as_of a ON a."key" = k.calendar_used
), judged AS (
    -- One rule for both: breached once the whole business minutes exceed the target; an
    -- unanswered ticket whose minutes have reached it, not more, is still pending.
    SELECT m.*,
           CASE WHEN m.first_response_at IS NOT NULL
                    THEN m.response_business_minutes <= m.target_minutes
                WHEN m.over_at_as_of THEN false END AS response_met,
           CASE WHEN m.first_response_at IS NOT NULL AND m.response_business_minutes <= m.target_minutes
                    THEN 'met'
                WHEN m.first_response_at IS NOT NULL OR m.over_at_as_of THEN 'breached'
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
SELECT j.ticket_id, j.month, j.target_priority, j.calendar_used,
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
               -- Whole minutes against a target that may have decimals: a miss is never "by 0".
               CASE WHEN j.response_met
                    THEN concat('met with ',
                                CAST(floor(j.target_minutes - j.response_business_minutes) AS BIGINT),
                                ' to spare.')
                    ELSE concat('missed by ',
                                CAST(ceil(j.response_business_minutes - j.target_minutes) AS BIGINT),
                                '.') END)
                WHEN j.response_status = 'breached' THEN concat(
               'No agent action yet; the ', CAST(round(j.target_minutes) AS BIGINT), '-minute ',
               j.target_priority, ' target passed at ',
               strftime(timezone(j.timezone, j.response_due_at), '%a %d %b %H:%M'), '.')
                WHEN j.response_due_at <= $as_of THEN concat(
               'No agent action yet; the ', CAST(round(j.target_minutes) AS BIGINT), '-minute ',
               j.target_priority, ' target was used up at ',
               strftime(timezone(j.timezone, j.response_due_at), '%a %d %b %H:%M'),
               '; it is breached once a further business minute passes without one.')
                ELSE concat(
               'No agent action yet; the ', CAST(round(j.target_minutes) AS BIGINT), '-minute ',
               j.target_priority, ' target passes at ',
               strftime(timezone(j.timezone, j.response_due_at), '%a %d %b %H:%M'), '.')
           END) AS sla_explanation
FROM judged j LEFT JOIN skipped s USING (ticket_id)
"""
