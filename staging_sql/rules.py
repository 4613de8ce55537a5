"""The staging rules: per entity, the first rule a raw row breaks names why it is quarantined."""

from duckdb import DuckDBPyConnection

from policy.base import SCOPE_EXCLUSION_IDS
from policy.config import PolicyConfig
from policy.paths import partitions_start
from policy.window import time_window
from warehouse.contract import TIME_COLUMN
from warehouse.sqlquote import sql_list
from warehouse.writes import first_failure

# Latest delivery wins: later file first seen, then later file name, then later row.
DELIVERY_ORDER = "r.first_seen_at DESC, r._source_file DESC, r._source_row DESC"


def missing(field: str) -> tuple[str, str, str, str]:
    """The rule for a field that must not be empty."""
    return ("missing_value", field, f"blank({field})", f"{field} is empty")


def unparseable_timestamp(field: str) -> tuple[str, str, str, str]:
    """The rule for a field that must read as an ISO 8601 timestamp."""
    return ("unparseable_timestamp", field, f"try_cast({field} AS TIMESTAMPTZ) IS NULL",
            f"{field} is not an ISO 8601 timestamp")


# The ids of a contract's included_scope that are not scope exclusion ids of the policy.
UNKNOWN_SCOPE = f"""list_filter(
    list_transform(string_split(coalesce(included_scope, ''), ';'), lambda s: lower(trim(s))),
    lambda s: s <> '' AND s NOT IN {sql_list(list(SCOPE_EXCLUSION_IDS))})"""


CLIENT_RULES = [
    missing("client_id"),
    missing("name"),
    ("unparseable_date", "valid_from", "try_cast(valid_from AS DATE) IS NULL",
     "valid_from is not a date (YYYY-MM-DD)"),
    ("unknown_timezone", "timezone",
     "timezone NOT IN (SELECT name FROM pg_timezone_names())",
     "timezone is not an IANA time zone name"),
    ("unknown_plan", "plan", "lower(trim(plan)) NOT IN (SELECT plan FROM policy_plan)",
     "plan is not one of the policy config's fair_use.plans"),
    # Read as a number first: a cast to INTEGER rounds (0.6 would be 1 seat).
    ("invalid_number", "seats",
     """coalesce(try_cast(seats AS DOUBLE) NOT BETWEEN 1 AND 2147483647
                 OR try_cast(seats AS DOUBLE) <> floor(try_cast(seats AS DOUBLE)), true)""",
     "seats must be a whole number above 0"),
    ("invalid_boolean", "after_hours_coverage",
     "NOT blank(after_hours_coverage) AND parse_bool(after_hours_coverage) IS NULL",
     "after_hours_coverage must be true or false"),
    ("invalid_number", "hourly_rate",
     """NOT blank(hourly_rate) AND NOT coalesce(try_cast(hourly_rate AS DOUBLE) > 0
                                                AND isfinite(try_cast(hourly_rate AS DOUBLE)), false)""",
     "hourly_rate must be a finite number above 0"),
    ("invalid_currency", "currency",
     "NOT blank(currency) AND NOT regexp_matches(upper(trim(currency)), '^[A-Z]{3}$')",
     "currency must be an ISO 4217 code of three letters (e.g. EUR)"),
    # The rate card is in the policy's currency: a contract in another one brings its own rate.
    ("missing_value", "hourly_rate",
     "NOT blank(currency) AND upper(trim(currency)) <> (SELECT currency FROM policy_currency)"
     " AND blank(hourly_rate)",
     "a contract in another currency than the policy's rate card needs its own hourly_rate"),
    # A typo would bill work the agreement includes: the contract row is refused, not guessed.
    ("unknown_scope", "included_scope", f"len({UNKNOWN_SCOPE}) > 0",
     "included_scope names scope exclusion id(s) the policy does not have"),
    ("unknown_country", "country",
     "NOT blank(country) AND upper(trim(country)) NOT IN (SELECT country FROM holiday_places)",
     "country is not an ISO 3166 alpha-2 code with known public holidays"),
    ("unknown_subdivision", "subdivision",
     """NOT blank(subdivision) AND NOT EXISTS (
            SELECT 1 FROM holiday_places h
            WHERE h.country = upper(trim(country)) AND h.subdivision = trim(subdivision))""",
     "subdivision is not a subdivision the holidays calendar knows for this country"),
    ("invalid_hours", "business_hours", "business_hours IN (SELECT spec FROM bad_hours)",
     "business_hours must look like 'mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00'"),
    ("invalid_targets", "response_targets",
     """NOT blank(response_targets) AND NOT list_bool_and(list_transform(
            string_split(response_targets, ';'),
            lambda kv: lower(trim(split_part(kv, '=', 1))) IN ('emergency', 'high', 'normal', 'low')
                       AND coalesce(try_cast(split_part(kv, '=', 2) AS DOUBLE), 0) > 0
                       AND isfinite(coalesce(try_cast(split_part(kv, '=', 2) AS DOUBLE), 0))))""",
     "response_targets must look like 'emergency=30;high=90' (business minutes above 0)"),
    ("unparseable_date", "closures",
     """NOT blank(closures) AND NOT list_bool_and(list_transform(
            string_split(closures, ';'), lambda d: try_cast(trim(d) AS DATE) IS NOT NULL))""",
     "closures must be ';'-separated dates (YYYY-MM-DD)"),
]


def window_rules(field: str, ts: str) -> list[tuple[str, str, str, str]]:
    """Rules for a parsed timestamp outside the pipeline's window (before its first month, or
    later than the as-of instant plus the policy's margin)."""
    first, last = time_window()
    return [
        ("timestamp_out_of_range", field, f"{ts} < TIMESTAMPTZ '{first}'",
         f"{field} is before the first month the pipeline covers ({first[:7]},"
         " MSP_PARTITIONS_START)"),
        ("timestamp_out_of_range", field, f"{ts} > TIMESTAMPTZ '{last}'",
         f"{field} is in the future: later than the as-of instant (or the run, when later)"
         " plus data_quality.input_limits.future_margin_days"),
    ]


def ticket_rules() -> list[tuple[str, str, str, str]]:
    """The ticket rules; a row raw could not place in its own month (_placed_month NULL) is
    quarantined in the month it was filed under, never staged there."""
    before, future = window_rules("created_at", "created_ts")
    return [
        *TICKET_RULES[:3],
        # In the client's zone, as raw placed it: a row early on the first day of the first
        # month in UTC may still be in that month.
        (*before[:2], f"_placed_month IS NULL AND _zone_month < DATE '{partitions_start()}'",
         before[3]),
        (*future[:2], f"{future[2]} OR _placed_month IS NULL", future[3]),
        *TICKET_RULES[3:],
    ]


TICKET_RULES = [
    missing("ticket_id"),
    missing("client_id"),
    ("unparseable_timestamp", "created_at", "created_ts IS NULL",
     "created_at is not an ISO 8601 timestamp"),
    ("client_quarantined", "client_id",
     """contract_from IS NULL AND trim(client_id) IN (
            SELECT trim(record_key) FROM quality.quarantine WHERE stage = 'staging_clients')""",
     "client_id's contract rows are all quarantined (see the staging_clients quarantine)"),
    ("unknown_client", "client_id", "contract_from IS NULL",
     "client_id has no contract in the clients files"),
    ("no_contract_in_force", "created_at", "created_ts < contract_from",
     "created before the client's first contract row took effect"),
]


# Rules for events and time entries; the ticket rules below come last, so a row's own defect
# is named first.
EVENT_RULES = [
    missing("ticket_id"),
    unparseable_timestamp("event_at"),
    ("unknown_value", "actor_type",
     "lower(trim(actor_type)) NOT IN ('agent', 'client', 'system') OR actor_type IS NULL",
     "actor_type must be agent, client or system"),
    missing("event_type"),
]


ENTRY_RULES = [
    missing("ticket_id"),
    unparseable_timestamp("started_at"),
    # NaN and Infinity cast to DOUBLE: they are not numbers of minutes either.
    ("invalid_number", "minutes",
     "try_cast(minutes AS DOUBLE) IS NULL OR NOT isfinite(try_cast(minutes AS DOUBLE))",
     "minutes is not a finite number"),
    ("negative_minutes", "minutes", "try_cast(minutes AS DOUBLE) < 0", "minutes is negative"),
]


def child_rules(entity: str, policy: PolicyConfig) -> list[tuple[str, str, str, str]]:
    """The row rules of events or time entries for this run: a timestamp in the future (after the
    as-of instant plus the margin) and, for time entries, an entry longer than the policy's limit.

    A child timestamp before the first month is not refused: its ticket places it in time, and
    an event before its ticket's creation is already warned about (clock skew).
    """
    ts = TIME_COLUMN[entity]
    future = window_rules(ts, f"try_cast({ts} AS TIMESTAMPTZ)")[1]
    if entity == "ticket_events":
        return [*EVENT_RULES[:2], future, *EVENT_RULES[2:]]
    limit = policy.data_quality.input_limits.max_entry_minutes
    too_long = ("invalid_number", "minutes", f"try_cast(minutes AS DOUBLE) > {limit}",
                f"minutes is more than {limit:g} for one entry"
                " (data_quality.input_limits.max_entry_minutes); a unit error?")
    return [*ENTRY_RULES[:2], future, *ENTRY_RULES[2:], too_long]


PARENT_RULES = [
    ("ticket_quarantined", "ticket_id", "_ticket_state = 'quarantined'",
     "the ticket itself is quarantined (see its staging_tickets quarantine row)"),
    ("unknown_ticket", "ticket_id", "_ticket_state = 'unknown'",
     "no ticket with this ticket_id was delivered"),
]


# `noted`: a note from the finance workbook that decides nothing (kept, never in force).
DECISION = r"^(scope:([a-z_]+)=(approved|rejected|noted)|emergency=(confirmed|denied))$"


DECISION_RULES = [
    missing("ticket_id"),
    ("invalid_decision", "decision",
     f"NOT regexp_matches(lower(trim(coalesce(decision, ''))), '{DECISION}')",
     "decision must be scope:<id>=approved|rejected|noted or emergency=confirmed|denied"),
    ("unknown_scope", "decision",
     f"lower(trim(decision)) LIKE 'scope:%' AND regexp_extract(lower(trim(decision)), '{DECISION}', 2)"
     f" NOT IN {sql_list(list(SCOPE_EXCLUSION_IDS))}",
     "decision names a scope exclusion id that the policy does not have"),
    unparseable_timestamp("decided_at"),
    ("unknown_ticket", "ticket_id",
     # NOT EXISTS, not NOT IN: a raw ticket row without an id would make NOT IN unknown.
     "NOT EXISTS (SELECT 1 FROM raw.tickets t WHERE trim(t.ticket_id) = trim(r.ticket_id))",
     "no ticket with this ticket_id was delivered"
     " (in the months loaded so far; a month's run judges the decisions again)"),
]

# Where a decision written in a finance workbook stands: its sheet and cell (NULL for a CSV row).
DECISION_PLACE = "r._source_file || ', sheet ' || (r._extra->>'sheet') || ', cell ' || (r._extra->>'cell')"


def judge_raw(con: DuckDBPyConnection, table: str, entity: str,
              rules: list[tuple[str, str, str, str]], place: str | None = None) -> None:
    """TEMP `table`: every raw row of an unpartitioned entity with its file's first sighting and
    the first of `rules` it fails (NULL when it passes them all); see first_failure for `place`.

    Each rule's condition is evaluated once per row, as a column the four CASEs of first_failure
    read: written into each CASE, a condition with a subquery (a decision's ticket among every
    raw ticket) was planned and joined four times (0.6 s a call at 1M tickets against 0.17 s).
    Every rule's condition is so evaluated for every row, so none may raise (try_cast, never CAST).
    """
    flags = [f"_rule_{i}" for i in range(len(rules))]
    named = [(code, field, flag, message)
             for flag, (code, field, _, message) in zip(flags, rules, strict=True)]
    conditions = ", ".join(f"({condition}) AS {flag}"
                           for flag, (_, _, condition, _) in zip(flags, rules, strict=True))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT * EXCLUDE ({", ".join(flags)}), {first_failure(named, place)}
        FROM (SELECT r.*, f.first_seen_at, {conditions}
              FROM raw.{entity} r JOIN raw.landing_files f
                ON f.file_id = r._file_id AND f.path = r._source_file) r"""
    )
