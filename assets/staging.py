"""Staging layer: typed, normalised, latest version per record; bad rows to quarantine with a reason."""


import contextlib
import time
from collections.abc import Callable

import dagster as dg
import duckdb
import holidays
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection, TransactionException

from assets.business_time import next_opening_sql
from assets.partitions import (
    MonthResult,
    check_each_month,
    for_each_month,
    month_span,
    monthly_partitions,
    run_metadata,
    single_run,
    time_window,
)
from assets.raw import (
    TICKET_ZONES,
    raw_clients,
    raw_review_decisions,
    raw_ticket_events,
    raw_tickets,
    raw_time_entries,
    ticket_month_sql,
)
from assets.resources import PipelineSettings
from assets.warehouse import (
    RECORD_KEY,
    TIME_COLUMN,
    ensure_warehouse,
    file_reconciliation_sql,
    first_failure,
    mark_judged,
    prepare_session,
    quarantine_replace,
    sql_literal,
    warnings_replace,
)
from policy.config import SCOPE_EXCLUSION_IDS, PolicyConfig, parse_hours_spec
from policy.paths import partitions_start


def sql_list(values: list[str]) -> str:
    """A SQL list of string literals, e.g. for IN (…)."""
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


def register_policy(con: duckdb.DuckDBPyConnection, policy: PolicyConfig) -> None:
    """Expose the policy's lookup tables to this connection's SQL as temp tables."""
    con.execute("CREATE OR REPLACE TEMP TABLE policy_priority (value VARCHAR, priority VARCHAR)")
    con.executemany("INSERT INTO policy_priority VALUES (?, ?)", policy.priority_lookup())
    con.execute(
        "CREATE OR REPLACE TEMP TABLE policy_plan (plan VARCHAR, plan_name VARCHAR, limit_per_seat DOUBLE)"
    )
    con.executemany("INSERT INTO policy_plan VALUES (?, ?, ?)", policy.plan_limits())
    con.execute("CREATE OR REPLACE TEMP TABLE policy_currency AS SELECT ? AS currency",
                [policy.currency])
    con.execute("CREATE OR REPLACE TEMP TABLE policy_rate (scope_id VARCHAR, rate DOUBLE)")
    con.executemany("INSERT INTO policy_rate VALUES (?, ?)",
                    list(policy.rate_card.by_scope_exclusion.items()))
    con.execute("CREATE OR REPLACE TEMP TABLE policy_target (priority VARCHAR, minutes DOUBLE)")
    con.executemany("INSERT INTO policy_target VALUES (?, ?)",
                    list(policy.response_targets_minutes.items()))


# Latest delivery wins: later file first seen, then later file name, then later row.
_DELIVERY_ORDER = "r.first_seen_at DESC, r._source_file DESC, r._source_row DESC"

# The ids of a contract's included_scope that are not scope exclusion ids of the policy.
_UNKNOWN_SCOPE = f"""list_filter(
    list_transform(string_split(coalesce(included_scope, ''), ';'), lambda s: lower(trim(s))),
    lambda s: s <> '' AND s NOT IN {sql_list(list(SCOPE_EXCLUSION_IDS))})"""

_CLIENT_RULES = [
    ("missing_value", "client_id", "blank(client_id)", "client_id is empty"),
    ("missing_value", "name", "blank(name)", "name is empty"),
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
    ("unknown_scope", "included_scope", f"len({_UNKNOWN_SCOPE}) > 0",
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


def _register_holiday_places(con: duckdb.DuckDBPyConnection) -> None:
    """Countries (alpha-2) and subdivisions the holidays package has calendars for."""
    places = [
        (country, subdivision)
        for country, subdivisions in holidays.list_supported_countries().items()
        if len(country) == 2
        for subdivision in [None, *subdivisions]
    ]
    con.execute("CREATE OR REPLACE TEMP TABLE holiday_places (country VARCHAR, subdivision VARCHAR)")
    con.execute(
        "INSERT INTO holiday_places SELECT unnest($1), unnest($2)",
        [[c for c, _ in places], [s for _, s in places]],
    )


def _register_bad_hours(con: duckdb.DuckDBPyConnection) -> None:
    """Validate each distinct contract hours text once with the policy's parser."""
    con.execute("CREATE OR REPLACE TEMP TABLE bad_hours (spec VARCHAR, message VARCHAR)")
    specs = con.execute(
        "SELECT DISTINCT business_hours FROM raw.clients WHERE NOT blank(business_hours)"
    ).fetchall()
    for (spec,) in specs:
        try:
            parse_hours_spec(spec)
        except ValueError as exc:
            con.execute("INSERT INTO bad_hours VALUES (?, ?)", [spec, str(exc)])


@dg.asset(group_name="staging", kinds={"duckdb"}, deps=[raw_clients])
def staging_clients(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Typed, effective-dated client contracts: one row per client and valid_from."""
    policy = settings.policy()
    with duckdb.get_connection() as con:
        ensure_warehouse(con)
        register_policy(con, policy)
        _register_bad_hours(con)
        _register_holiday_places(con)
        con.execute("BEGIN TRANSACTION")
        _judge_raw(con, "client_rows", "clients", _CLIENT_RULES)
        # Name the unknown ids themselves, not only the field.
        con.execute(
            f"""UPDATE client_rows SET reason = reason || ': ' || array_to_string({_UNKNOWN_SCOPE}, ', ')
                || ' (known: {', '.join(SCOPE_EXCLUSION_IDS)})'
                WHERE reason_code = 'unknown_scope'"""
        )
        quarantined = quarantine_replace(
            con, "staging_clients", "clients", None, "client_rows", "client_id", "trim(r.client_id)"
        )
        con.execute("DELETE FROM staging.clients")
        con.execute(
            f"""INSERT INTO staging.clients BY NAME
            WITH ranked AS (
                SELECT r.*, row_number() OVER (
                    PARTITION BY trim(client_id), CAST(valid_from AS DATE)
                    ORDER BY {_DELIVERY_ORDER}) AS version
                FROM client_rows r WHERE reason_code IS NULL
            )
            SELECT trim(client_id) AS client_id, trim(name) AS name, trim(timezone) AS timezone,
                   nullif(upper(trim(country)), '') AS country,
                   nullif(trim(subdivision), '') AS subdivision,
                   lower(trim(plan)) AS plan, CAST(seats AS INTEGER) AS seats,
                   coalesce(parse_bool(after_hours_coverage), false) AS after_hours_coverage,
                   list_filter(list_transform(string_split(coalesce(included_scope, ''), ';'),
                                              lambda s: lower(trim(s))), lambda s: s <> '') AS included_scope,
                   try_cast(hourly_rate AS DOUBLE) AS hourly_rate,
                   coalesce(nullif(upper(trim(currency)), ''),
                            (SELECT currency FROM policy_currency)) AS currency,
                   nullif(trim(business_hours), '') AS business_hours,
                   CASE WHEN NOT blank(response_targets) THEN map_from_entries(list_transform(
                       string_split(response_targets, ';'),
                       lambda kv: struct_pack(k := lower(trim(split_part(kv, '=', 1))),
                                              v := CAST(split_part(kv, '=', 2) AS DOUBLE))))
                   END AS response_targets,
                   list_transform(list_filter(string_split(coalesce(closures, ''), ';'),
                                              lambda d: trim(d) <> ''),
                                  lambda d: CAST(trim(d) AS DATE)) AS closures,
                   CAST(valid_from AS DATE) AS valid_from,
                   lead(CAST(valid_from AS DATE)) OVER (
                       PARTITION BY trim(client_id) ORDER BY CAST(valid_from AS DATE)) AS valid_to,
                   _source_file, _source_row
            FROM ranked WHERE version = 1"""
        )
        mark_judged(con, "staging_clients", None)
        con.execute("COMMIT")
        rows, clients = con.execute(
            "SELECT count(*), count(DISTINCT client_id) FROM staging.clients"
        ).fetchone()
    context.log.info(f"staging.clients: {rows} contract row(s) of {clients} client(s),"
                     f" {quarantined} quarantined")
    return dg.MaterializeResult(
        metadata={"row_count": rows, "clients": clients, "quarantined": quarantined}
    )


def _window_rules(field: str, ts: str) -> list[tuple[str, str, str, str]]:
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


def _ticket_rules() -> list[tuple[str, str, str, str]]:
    """The ticket rules; a row raw could not place in its own month (_placed_month NULL) is
    quarantined in the month it was filed under, never staged there."""
    before, future = _window_rules("created_at", "created_ts")
    return [
        *_TICKET_RULES[:3],
        # In the client's zone, as raw placed it: a row early on the first day of the first
        # month in UTC may still be in that month.
        (*before[:2], f"_placed_month IS NULL AND _zone_month < DATE '{partitions_start()}'",
         before[3]),
        (*future[:2], f"{future[2]} OR _placed_month IS NULL", future[3]),
        *_TICKET_RULES[3:],
    ]


_TICKET_RULES = [
    ("missing_value", "ticket_id", "blank(ticket_id)", "ticket_id is empty"),
    ("missing_value", "client_id", "blank(client_id)", "client_id is empty"),
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


# Accepted tickets that deserve a caveat. `ticket_rows` holds the month's typed rows.
_TICKET_WARNINGS = """
SELECT _source_file AS source_file, _source_row AS source_row, ticket_id AS record_key,
       client_id, 'final_priority' AS field, final_priority_raw AS raw_value,
       'unknown_priority' AS reason_code,
       'final_priority is not in the policy priority_map; the ticket is kept without it' AS reason
FROM staging.tickets
WHERE month = $month AND final_priority IS NULL AND NOT blank(final_priority_raw)
UNION ALL
SELECT _source_file, _source_row, ticket_id, client_id, 'triage_priority', triage_priority_raw,
       'unknown_priority',
       'triage_priority is not in the policy priority_map; the ticket is kept without it'
FROM staging.tickets
WHERE month = $month AND triage_priority IS NULL AND NOT blank(triage_priority_raw)
UNION ALL
SELECT _source_file, _source_row, ticket_id, client_id, 'description', left(description, 200),
       'long_text', 'description is ' || length(description) || ' characters; kept whole'
FROM staging.tickets WHERE month = $month AND length(description) > 65536
UNION ALL
-- A later version naming another client moves the ticket to that client: say so, naming both.
-- Only tickets delivered more than once this month are looked at (a cheap predicate).
SELECT DISTINCT t._source_file, t._source_row, t.ticket_id, t.client_id, 'client_id', t.client_id,
       'client_changed',
       'ticket ' || t.ticket_id || ' was delivered for client ' || trim(r.client_id) || ' ('
       || r._source_file || ' row ' || r._source_row || ') and now for client ' || t.client_id
       || '; the later version is used, so the ticket counts for ' || t.client_id
FROM staging.tickets t
JOIN raw.tickets r ON trim(r.ticket_id) = t.ticket_id AND r._partition_month = $month
WHERE t.month = $month AND t.versions_delivered > 1 AND trim(r.client_id) <> t.client_id
UNION ALL
-- One file holding a ticket twice with the same updated_at but different content is ambiguous.
SELECT _source_file, _source_row, trim(ticket_id), trim(client_id), 'ticket_id', ticket_id,
       'conflicting_duplicate',
       'ticket ' || trim(ticket_id) || ' is delivered again at row ' || last_row
       || ' of the same file with the same updated_at and different content; row '
       || last_row || ' is used'
FROM (
    SELECT r.*, max(_source_row) OVER w AS last_row,
           count(DISTINCT md5(concat_ws('|', client_id, requester, created_at, subject, description,
                 category, source, declared_emergency, triage_priority, final_priority,
                 parent_ticket_id, affected_users, status, resolved_at))) OVER w AS variants
    FROM ticket_rows r WHERE reason_code IS NULL
    WINDOW w AS (PARTITION BY trim(ticket_id), _source_file, updated_at)
)
WHERE variants > 1 AND _source_row <> last_row
"""


# Tables holding one row per ticket (or its children) under the ticket's month.
_TICKET_MONTH_TABLES = (
    "staging.tickets", "staging.ticket_events", "staging.time_entries", "marts.ticket_facts",
    "marts.scope_hits", "marts.emergency_readings", "marts.out_of_scope",
)


@dg.asset(
    group_name="staging",
    kinds={"duckdb"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    # After the review decisions' ingest step: this step judges them again (see below), and two
    # steps writing staging.review_decisions at once would conflict.
    deps=[raw_tickets, staging_clients, dg.AssetKey("staging_review_decisions")],
)
def staging_tickets(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Typed tickets, priorities normalised, the latest delivered version of each ticket."""
    policy = settings.policy()
    provider_sources = sql_list(policy.ticket_unit.provider_initiated_sources)
    rules = _ticket_rules()

    def stage(con: DuckDBPyConnection, month: str) -> MonthResult:
        started = time.perf_counter()
        register_policy(con, policy)
        con.execute("BEGIN TRANSACTION")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE ticket_rows AS
            WITH contracts AS (
                SELECT client_id, min(valid_from) AS contract_from,
                       arg_max(timezone, valid_from) AS tz
                FROM staging.clients GROUP BY client_id
            ), zones AS ({TICKET_ZONES}), typed AS (
                SELECT r.*, f.first_seen_at,
                       try_cast(r.created_at AS TIMESTAMPTZ) AS created_ts,
                       c.contract_from, c.tz,
                       -- The month raw placed the row in by its created_at (NULL: it could not).
                       {ticket_month_sql("r.created_at", "z.tz", "f.max_month")} AS _placed_month,
                       date_trunc('month', timezone(coalesce(z.tz, 'UTC'),
                                                    try_cast(r.created_at AS TIMESTAMPTZ)))
                           AS _zone_month
                FROM raw.tickets r
                JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
                LEFT JOIN contracts c ON c.client_id = trim(r.client_id)
                LEFT JOIN zones z ON z.client_id = r.client_id
                WHERE r._partition_month = ?
            )
            SELECT *, {first_failure(rules)} FROM typed""",
            [month],
        )
        # A later delivery can move a ticket to another month (its created_at was corrected):
        # only the month of its latest version stages it, so no ticket counts twice.
        con.execute("DELETE FROM quality.moved_tickets WHERE month = ?", [month])
        con.execute(
            """INSERT INTO quality.moved_tickets
            WITH mine AS (
                SELECT trim(ticket_id) AS ticket_id, count(*) AS raw_rows FROM raw.tickets
                WHERE _partition_month = $month AND NOT blank(ticket_id) GROUP BY ALL
            ), versions AS (
                SELECT trim(r.ticket_id) AS ticket_id, r._partition_month,
                       row_number() OVER (
                           PARTITION BY trim(r.ticket_id)
                           ORDER BY try_cast(r.updated_at AS TIMESTAMPTZ) DESC NULLS LAST,
                                    f.first_seen_at DESC, r._source_file DESC, r._source_row DESC)
                           AS version
                FROM raw.tickets r
                JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
                WHERE trim(r.ticket_id) IN (SELECT ticket_id FROM mine)
            )
            SELECT CAST($month AS DATE), v.ticket_id, v._partition_month, m.raw_rows
            FROM versions v JOIN mine m USING (ticket_id)
            WHERE v.version = 1 AND v._partition_month <> CAST($month AS DATE)""",
            {"month": month},
        )
        con.execute(
            """DELETE FROM ticket_rows WHERE trim(ticket_id) IN (
                   SELECT ticket_id FROM quality.moved_tickets WHERE month = ?)""",
            [month],
        )
        quarantined = quarantine_replace(
            con, "staging_tickets", "tickets", month, "ticket_rows", "ticket_id", "trim(r.client_id)"
        )
        con.execute("DELETE FROM staging.tickets WHERE month = ?", [month])
        # Staged afresh, so its marts are rebuilt from here: no longer stale.
        con.execute("DELETE FROM quality.stale_months WHERE month = ?", [month])
        con.execute(
            f"""INSERT INTO staging.tickets BY NAME
            WITH ranked AS (
                SELECT r.*,
                       row_number() OVER w AS version,
                       count(*) OVER (PARTITION BY trim(r.ticket_id)) AS versions_delivered
                FROM ticket_rows r
                WHERE reason_code IS NULL
                WINDOW w AS (PARTITION BY trim(r.ticket_id)
                             ORDER BY try_cast(r.updated_at AS TIMESTAMPTZ) DESC NULLS LAST,
                                      {_DELIVERY_ORDER})
            )
            SELECT trim(r.ticket_id) AS ticket_id, trim(r.client_id) AS client_id,
                   CAST(? AS DATE) AS month, nullif(trim(r.requester), '') AS requester,
                   r.created_ts AS created_at, timezone(r.tz, r.created_ts) AS created_local,
                   r.subject, r.description, nullif(trim(r.category), '') AS category,
                   lower(trim(r.source)) AS source,
                   coalesce(lower(trim(r.source)) IN {provider_sources}, false)
                       AS is_provider_initiated,
                   parse_bool(r.declared_emergency) AS declared_emergency,
                   r.triage_priority AS triage_priority_raw, tp.priority AS triage_priority,
                   r.final_priority AS final_priority_raw, fp.priority AS final_priority,
                   nullif(trim(r.parent_ticket_id), '') AS parent_ticket_id,
                   try_cast(r.affected_users AS INTEGER) AS affected_users,
                   lower(trim(r.status)) AS status,
                   try_cast(r.resolved_at AS TIMESTAMPTZ) AS resolved_at,
                   try_cast(r.updated_at AS TIMESTAMPTZ) AS updated_at,
                   parse_bool(r.source_sla_met) AS source_sla_met,
                   r.versions_delivered, r._source_file, r._source_row
            FROM ranked r
            LEFT JOIN policy_priority tp ON tp.value = lower(trim(r.triage_priority))
            LEFT JOIN policy_priority fp ON fp.value = lower(trim(r.final_priority))
            WHERE r.version = 1""",
            [month],
        )
        warned = warnings_replace(con, "staging_tickets", "tickets", month, _TICKET_WARNINGS,
                                  {"month": month})
        mark_judged(con, "staging_tickets", month)
        staged, superseded, unmapped = con.execute(
            """SELECT count(*), sum(versions_delivered - 1),
                      count(*) FILTER (WHERE (final_priority IS NULL AND NOT blank(final_priority_raw))
                                       OR (triage_priority IS NULL AND NOT blank(triage_priority_raw)))
               FROM staging.tickets WHERE month = ?""",
            [month],
        ).fetchone()
        con.execute("COMMIT")
        return MonthResult(
            {
                "row_count": staged,
                "superseded_versions": int(superseded or 0),
                "quarantined": quarantined,
                "warnings": warned,
                "unmapped_priority_tickets": unmapped,
            },
            f"staging.tickets {month[:7]}: {staged} ticket(s), {int(superseded or 0)} superseded"
            f" version(s), {quarantined} quarantined, {warned} warning(s) in"
            f" {time.perf_counter() - started:.1f} s",
        )

    failed: dict[str, Exception] = {}

    def stage_or_roll_back(con: DuckDBPyConnection, month: str) -> MonthResult:
        """The month staged, or rolled back (its error is raised once the other months are done)."""
        try:
            return stage(con, month)
        except Exception as exc:
            with contextlib.suppress(TransactionException):  # failed outside the transaction
                con.execute("ROLLBACK")
            exc.add_note(f"while computing month {month[:7]}")
            failed[month] = exc
            return MonthResult(summary=f"staging.tickets {month[:7]}: failed, rolled back ({exc})")

    # Months side by side: each stages only the tickets whose latest version is its own, so no
    # two months of the run stage the same ticket (one whose latest version is quarantined is
    # staged in none). Copies staged under another month by an earlier delivery are then deleted
    # for the months that committed, all at once (a month deleting them itself could conflict
    # with the month that holds them), also when another month failed: a committed month's
    # ticket must not count twice until that month is run again.
    outcomes = for_each_month(context, duckdb, stage_or_roll_back)
    results = {month: result for month, result in outcomes.items() if month not in failed}
    stale, stale_months = _delete_stale_copies(duckdb, sorted(results)) if results else (0, [])
    # Whether a review decision's ticket exists, and its client, is known now that the
    # months' tickets are loaded (on a first run the ingest step saw none).
    with duckdb.get_connection() as con:
        prepare_session(con)
        _stage_review_decisions(con)
    if failed:
        raise failed[min(failed)]
    context.log.info(f"staging.tickets: {stale} stale row(s) of moved tickets deleted in other months")
    named = ", ".join(m[:7] for m in stale_months)
    if stale_months:
        context.log.warning(
            f"staging.tickets: tickets moved here were counted under {named}; those months'"
            " marts and reports are stale until they are run again (python -m pipelines.run"
            " does; see quality.stale_months)")
    return dg.MaterializeResult(metadata=run_metadata(
        results, stale_rows_deleted=stale, stale_months=named or "none"))


def _delete_stale_copies(duckdb_resource: DuckDBResource, months: list[str]) -> tuple[int, list[str]]:
    """Delete the rows, under any other month, of tickets staged in `months`.

    Returns how many rows, and the months outside `months` they were deleted from: those
    months' aggregates (marts.client_month, the reports) still count the tickets, so they are
    recorded in quality.stale_months until they are staged again.
    """
    with duckdb_resource.get_connection() as con:
        prepare_session(con)
        con.execute("BEGIN TRANSACTION")
        deleted = [
            row[0]
            for table in _TICKET_MONTH_TABLES
            for row in con.execute(
                f"""DELETE FROM {table} USING (
                        SELECT ticket_id, month FROM staging.tickets
                        WHERE month IN {sql_list(months)}) AS latest
                    WHERE {table}.ticket_id = latest.ticket_id AND {table}.month <> latest.month
                    RETURNING {table}.month"""
            ).fetchall()
        ]
        stale = sorted({m.isoformat() for m in deleted} - set(months))
        con.execute(
            "INSERT INTO quality.stale_months SELECT CAST(unnest($months) AS DATE), now()"
            " WHERE len($months) > 0",
            {"months": stale},
        )
        con.execute("COMMIT")
    return len(deleted), stale


@dg.asset_check(asset=staging_tickets, blocking=True, partitions_def=monthly_partitions)
def staging_tickets_reconcile(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Every raw row of the month is staged, superseded, moved to another month, or quarantined."""
    return check_each_month(context, duckdb, _tickets_reconcile_month)


def _tickets_reconcile_month(con: DuckDBPyConnection, month: str) -> dg.AssetCheckResult:
    """staging_tickets_reconcile for one month; a failure names a raw row found nowhere."""
    raw_rows, staged, superseded, quarantined, moved = con.execute(
        """SELECT (SELECT count(*) FROM raw.tickets WHERE _partition_month = $m),
                  (SELECT count(*) FROM staging.tickets WHERE month = $m),
                  (SELECT coalesce(sum(versions_delivered - 1), 0) FROM staging.tickets
                   WHERE month = $m),
                  (SELECT count(*) FROM quality.quarantine
                   WHERE stage = 'staging_tickets' AND partition_month = $m),
                  (SELECT coalesce(sum(raw_rows), 0) FROM quality.moved_tickets WHERE month = $m)""",
        {"m": month},
    ).fetchone()
    passed = raw_rows == staged + superseded + quarantined + moved
    description = None
    if not passed:
        # Name a raw row that is nowhere: neither its ticket staged here or moved, nor the
        # row quarantined (looked up only when the check fails).
        lost = con.execute(
            """SELECT r._source_file, r._source_row, r.ticket_id FROM raw.tickets r
               WHERE r._partition_month = $m
                 AND trim(r.ticket_id) NOT IN (SELECT ticket_id FROM staging.tickets
                                               WHERE month = $m)
                 AND trim(r.ticket_id) NOT IN (SELECT ticket_id FROM quality.moved_tickets
                                               WHERE month = $m)
                 AND (r._source_file, r._source_row) NOT IN (
                     SELECT (source_file, source_row) FROM quality.quarantine
                     WHERE stage = 'staging_tickets' AND partition_month = $m)
               ORDER BY 1, 2 LIMIT 1""",
            {"m": month},
        ).fetchone()
        description = (f"{raw_rows} raw row(s) but {staged} staged + {int(superseded)}"
                       f" superseded + {quarantined} quarantined + {int(moved)} moved"
                       + (f"; e.g. {lost[0]}: row {lost[1]} (ticket {lost[2]}) is in none"
                          if lost else ""))
    return dg.AssetCheckResult(
        passed=passed, description=description,
        metadata={"raw_rows": raw_rows, "staged": staged, "superseded": int(superseded),
                  "quarantined": quarantined, "moved_to_other_month": int(moved)},
    )


# Rules for events and time entries; the ticket rules below come last, so a row's own defect
# is named first.
_EVENT_RULES = [
    ("missing_value", "ticket_id", "blank(ticket_id)", "ticket_id is empty"),
    ("unparseable_timestamp", "event_at", "try_cast(event_at AS TIMESTAMPTZ) IS NULL",
     "event_at is not an ISO 8601 timestamp"),
    ("unknown_value", "actor_type",
     "lower(trim(actor_type)) NOT IN ('agent', 'client', 'system') OR actor_type IS NULL",
     "actor_type must be agent, client or system"),
    ("missing_value", "event_type", "blank(event_type)", "event_type is empty"),
]

_ENTRY_RULES = [
    ("missing_value", "ticket_id", "blank(ticket_id)", "ticket_id is empty"),
    ("unparseable_timestamp", "started_at", "try_cast(started_at AS TIMESTAMPTZ) IS NULL",
     "started_at is not an ISO 8601 timestamp"),
    # NaN and Infinity cast to DOUBLE: they are not numbers of minutes either.
    ("invalid_number", "minutes",
     "try_cast(minutes AS DOUBLE) IS NULL OR NOT isfinite(try_cast(minutes AS DOUBLE))",
     "minutes is not a finite number"),
    ("negative_minutes", "minutes", "try_cast(minutes AS DOUBLE) < 0", "minutes is negative"),
]


def _child_rules(entity: str, policy: PolicyConfig) -> list[tuple[str, str, str, str]]:
    """The row rules of events or time entries for this run: a timestamp in the future (after the
    as-of instant plus the margin) and, for time entries, an entry longer than the policy's limit.

    A child timestamp before the first month is not refused: its ticket places it in time, and
    an event before its ticket's creation is already warned about (clock skew).
    """
    ts = TIME_COLUMN[entity]
    future = _window_rules(ts, f"try_cast({ts} AS TIMESTAMPTZ)")[1]
    if entity == "ticket_events":
        return [*_EVENT_RULES[:2], future, *_EVENT_RULES[2:]]
    limit = policy.data_quality.input_limits.max_entry_minutes
    too_long = ("invalid_number", "minutes", f"try_cast(minutes AS DOUBLE) > {limit}",
                f"minutes is more than {limit:g} for one entry"
                " (data_quality.input_limits.max_entry_minutes); a unit error?")
    return [*_ENTRY_RULES[:2], future, *_ENTRY_RULES[2:], too_long]

_PARENT_RULES = [
    ("ticket_quarantined", "ticket_id", "_ticket_state = 'quarantined'",
     "the ticket itself is quarantined (see its staging_tickets quarantine row)"),
    ("unknown_ticket", "ticket_id", "_ticket_state = 'unknown'",
     "no ticket with this ticket_id was delivered"),
]

# The month a child row whose ticket was never delivered is judged in: its own timestamp's.
# A timestamp outside its file's months (which landing counts inside the pipeline's window only:
# a year 1900 or 2200) is judged in the file's first month, a month that exists.
# assets.warehouse._CHILD places these rows the same way for the reconciliation.
_ORPHAN_MONTH = """coalesce(
    CASE WHEN date_trunc('month', timezone('UTC', try_cast(r.{ts} AS TIMESTAMPTZ)))
              BETWEEN f.min_month AND f.max_month
         THEN date_trunc('month', timezone('UTC', try_cast(r.{ts} AS TIMESTAMPTZ))) END,
    f.min_month, date_trunc('month', f.first_seen_at))::DATE"""


def _judge_children(entity: str) -> Callable[[DuckDBPyConnection, list[str]], None]:
    """Prepare step: which month judges each raw row of `entity`, for all months of the run.

    One pass over the raw rows for the range (temp table child_index): a row belongs to the
    month of its staged ticket, to each month its ticket was quarantined in, or, when its ticket
    was never delivered, to its own timestamp's month. Rows of other months are not listed.
    """
    orphan_month = _ORPHAN_MONTH.format(ts=TIME_COLUMN[entity])

    def prepare(con: DuckDBPyConnection, months: list[str]) -> None:
        # A raw row is named by (hash of file id and row, row): rowids may change when a
        # checkpoint compacts deleted rows. hash(file id) finds the files a month needs.
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE child_index AS
            WITH quarantined_tickets AS (
                SELECT DISTINCT partition_month AS month, trim(record_key) AS ticket_id
                FROM quality.quarantine
                WHERE stage = 'staging_tickets' AND partition_month BETWEEN $first AND $last
                  AND NOT blank(record_key)
                  AND trim(record_key) NOT IN (SELECT ticket_id FROM staging.tickets)
            ), delivered AS (
                SELECT DISTINCT trim(ticket_id) AS ticket_id FROM raw.tickets WHERE NOT blank(ticket_id)
            ), rows AS (
                SELECT hash(_file_id, _source_row) AS row_key, _source_row, hash(_file_id) AS file_key,
                       trim(ticket_id) AS ticket_id
                FROM raw.{entity}
            ), orphans AS MATERIALIZED (
                -- Rows whose ticket was never delivered (few) first: their month is parsed from
                -- their own timestamp, which over every raw row was most of this statement.
                SELECT * FROM raw.{entity}
                WHERE coalesce(trim(ticket_id), '') NOT IN (SELECT ticket_id FROM delivered)
            )
            SELECT r.row_key, r._source_row, r.file_key, t.month AS judged_month,
                   'staged' AS ticket_state
            FROM rows r JOIN staging.tickets t ON t.ticket_id = r.ticket_id
            WHERE t.month BETWEEN $first AND $last
            UNION ALL
            SELECT r.row_key, r._source_row, r.file_key, q.month, 'quarantined'
            FROM rows r JOIN quarantined_tickets q ON q.ticket_id = r.ticket_id
            UNION ALL
            SELECT hash(r._file_id, r._source_row), r._source_row, hash(r._file_id),
                   {orphan_month}, 'unknown'
            FROM orphans r
            JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
            WHERE {orphan_month} BETWEEN $first AND $last""",
            {"first": months[0], "last": months[-1]},
        )

    return prepare


def _stage_child(
    con: duckdb.DuckDBPyConnection,
    month: str,
    entity: str,
    rules: list[tuple[str, str, str, str]],
    columns: str,
) -> tuple[int, int]:
    """Stage events or time entries of the month's tickets; return (staged, quarantined).

    Rows of tickets staged this month are typed; rows of tickets quarantined this month, and
    rows whose ticket was never delivered (judged in their own month), are quarantined. Which
    rows are the month's comes from child_index (see _judge_children).
    """
    stage = f"staging_{entity}"
    # Only the files holding the month's rows are read: raw rows are stored file by file, so
    # DuckDB skips the row groups of every other file.
    files = [r[0] for r in con.execute(
        "SELECT file_id FROM raw.landing_files WHERE hash(file_id) IN ("
        " SELECT file_key FROM child_index WHERE judged_month = ?)", [month]).fetchall()]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE child_rows AS
        WITH candidates AS (
            SELECT r.*, f.first_seen_at, c.ticket_state AS _ticket_state
            FROM raw.{entity} r
            JOIN child_index c
              ON c.row_key = hash(r._file_id, r._source_row) AND c._source_row = r._source_row
            JOIN raw.landing_files f ON f.file_id = r._file_id AND f.path = r._source_file
            WHERE c.judged_month = $month AND r._file_id IN {sql_list(sorted(set(files)) or [''])}
        )
        SELECT *, {first_failure(rules + _PARENT_RULES)} FROM candidates""",
        {"month": month},
    )
    quarantined = quarantine_replace(
        con, stage, entity, month, "child_rows", "ticket_id",
        """coalesce((SELECT any_value(t.client_id) FROM staging.tickets t
                     WHERE t.ticket_id = trim(r.ticket_id)),
                    (SELECT any_value(q.client_id) FROM quality.quarantine q
                     WHERE q.stage = 'staging_tickets' AND trim(q.record_key) = trim(r.ticket_id)))""",
    )
    # Say why the ticket was refused (its own quarantine row), not only that it was.
    con.execute(
        """UPDATE quality.quarantine q SET reason = q.reason || ': ' || w.why
           FROM (SELECT trim(record_key) AS ticket_id,
                        min(source_file || ' row ' || source_row || ', ' || reason) AS why
                 FROM quality.quarantine WHERE stage = 'staging_tickets'
                   AND trim(record_key) IN (SELECT trim(ticket_id) FROM child_rows
                                            WHERE reason_code = 'ticket_quarantined')
                 GROUP BY ALL) w
           WHERE q.stage = $stage AND q.partition_month = CAST($month AS DATE)
             AND q.reason_code = 'ticket_quarantined' AND trim(q.record_key) = w.ticket_id""",
        {"stage": stage, "month": month},
    )
    # A row judged here may have been judged in another month before its ticket was loaded
    # (as a row of a ticket never delivered): this month's judgement replaces that one.
    con.execute(
        """DELETE FROM quality.quarantine
           WHERE stage = $stage AND partition_month <> CAST($month AS DATE)
             AND (source_file, source_row) IN (SELECT (_source_file, _source_row) FROM child_rows)""",
        {"stage": stage, "month": month},
    )
    # Rows the file reader refused belong to this month's tickets' clients too.
    con.execute(
        """UPDATE quality.quarantine q SET client_id = t.client_id FROM staging.tickets t
           WHERE q.stage = 'landing_files' AND q.entity = ? AND q.client_id IS NULL
             AND trim(q.record_key) = t.ticket_id AND t.month = ?""",
        [entity, month],
    )
    con.execute(f"DELETE FROM staging.{entity} WHERE month = ?", [month])
    # Latest delivery wins; only keys delivered more than once are sorted (most are delivered
    # once, and the window over every row was two thirds of the statement).
    con.execute(
        f"""INSERT INTO staging.{entity} BY NAME
        WITH accepted AS (SELECT * FROM child_rows WHERE reason_code IS NULL),
        repeated AS (
            SELECT {RECORD_KEY[entity]} AS record_key FROM accepted r GROUP BY ALL HAVING count(*) > 1
        ), latest AS (
            SELECT * FROM accepted r ANTI JOIN repeated k
                ON k.record_key IS NOT DISTINCT FROM {RECORD_KEY[entity]}
            UNION ALL
            SELECT * EXCLUDE (version) FROM (
                SELECT r.*, row_number() OVER (
                    PARTITION BY {RECORD_KEY[entity]} ORDER BY {_DELIVERY_ORDER}) AS version
                FROM accepted r SEMI JOIN repeated k
                  ON k.record_key IS NOT DISTINCT FROM {RECORD_KEY[entity]}
            ) WHERE version = 1
        )
        SELECT CAST(? AS DATE) AS month, trim(ticket_id) AS ticket_id, {columns},
               _source_file, _source_row
        FROM latest""",
        [month],
    )
    mark_judged(con, stage, month)
    staged = con.execute(
        f"SELECT count(*) FROM staging.{entity} WHERE month = ?", [month]
    ).fetchone()[0]
    return staged, quarantined


@dg.asset(
    group_name="staging",
    kinds={"duckdb"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    deps=[staging_tickets, raw_ticket_events],
)
def staging_ticket_events(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Typed events of the month's tickets, one row per event id (latest delivery wins)."""
    rules = _child_rules("ticket_events", settings.policy())

    def stage(con: DuckDBPyConnection, month: str) -> MonthResult:
        started = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        staged, quarantined = _stage_child(
            con, month, "ticket_events", rules,
            """nullif(trim(event_id), '') AS event_id,
               CAST(event_at AS TIMESTAMPTZ) AS event_at, lower(trim(event_type)) AS event_type,
               lower(trim(actor_type)) AS actor_type, nullif(trim(actor), '') AS actor,
               parse_bool(is_public) AS is_public, nullif(trim(new_value), '') AS new_value""",
        )
        # Clock skew between systems: an event stamped before its ticket was opened is kept
        # (the response clock counts it at the creation instant) and flagged.
        warned = warnings_replace(
            con, "staging_ticket_events", "ticket_events", month,
            """SELECT e._source_file AS source_file, e._source_row AS source_row,
                      e.ticket_id AS record_key, t.client_id, 'event_at' AS field,
                      CAST(e.event_at AS VARCHAR) AS raw_value, 'before_creation' AS reason_code,
                      'event_at is before the ticket''s created_at (' || CAST(t.created_at AS VARCHAR)
                      || '); counted at the creation instant' AS reason
               FROM staging.ticket_events e
               JOIN staging.tickets t ON t.ticket_id = e.ticket_id AND t.month = e.month
               WHERE e.month = $month AND e.event_at < t.created_at""",
            {"month": month},
        )
        con.execute("COMMIT")
        return MonthResult(
            {"row_count": staged, "quarantined": quarantined, "warnings": warned},
            f"staging.ticket_events {month[:7]}: {staged} event(s), {quarantined} quarantined,"
            f" {warned} warning(s) in {time.perf_counter() - started:.1f} s",
        )

    # One month at a time: a month may take over quarantine rows judged in another month.
    results = for_each_month(context, duckdb, stage, concurrent=False,
                             prepare=_judge_children("ticket_events"))
    return dg.MaterializeResult(metadata=run_metadata(results))


@dg.asset(
    group_name="staging",
    kinds={"duckdb"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    # By key: assets.calendars builds on staging_clients from this module.
    deps=[staging_tickets, raw_time_entries, dg.AssetKey("business_calendars")],
)
def staging_time_entries(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Typed time entries of the month's tickets, each marked when it started outside hours."""
    rules = _child_rules("time_entries", settings.policy())

    def stage(con: DuckDBPyConnection, month: str) -> MonthResult:
        started = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        staged, quarantined = _stage_child(
            con, month, "time_entries", rules,
            """nullif(trim(entry_id), '') AS entry_id,
               CAST(started_at AS TIMESTAMPTZ) AS started_at,
               CAST(minutes AS DOUBLE) AS minutes, lower(trim(work_type)) AS work_type,
               parse_bool(billable) AS billable, note""",
        )
        # Work started while the client's calendar was closed: evidence of planned after-hours
        # work, and billable emergency work for clients without after-hours cover.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE entry_open AS "
            + next_opening_sql(
                "staging.calendar_intervals",
                """SELECT concat_ws('|', e._source_file, e._source_row) AS "key",
                          t.client_id AS calendar_id, e.started_at AS "at"
                   FROM staging.time_entries e
                   JOIN staging.tickets t ON t.ticket_id = e.ticket_id AND t.month = e.month
                   WHERE e.month = $month""",
            ),
            {"month": month},
        )
        con.execute(
            """UPDATE staging.time_entries e SET outside_hours = NOT coalesce(o.is_open, true)
               FROM entry_open o
               WHERE e.month = ? AND o."key" = concat_ws('|', e._source_file, e._source_row)""",
            [month],
        )
        outside = con.execute(
            "SELECT count(*) FILTER (WHERE outside_hours) FROM staging.time_entries WHERE month = ?",
            [month],
        ).fetchone()[0]
        con.execute("COMMIT")
        return MonthResult(
            {"row_count": staged, "quarantined": quarantined, "outside_hours_entries": outside},
            f"staging.time_entries {month[:7]}: {staged} entr(ies), {quarantined} quarantined,"
            f" {outside} outside hours in {time.perf_counter() - started:.1f} s",
        )

    # One month at a time: a month may take over quarantine rows judged in another month.
    results = for_each_month(context, duckdb, stage, concurrent=False,
                             prepare=_judge_children("time_entries"))
    return dg.MaterializeResult(metadata=run_metadata(results))


# `noted`: a note from the finance workbook that decides nothing (kept, never in force).
_DECISION = r"^(scope:([a-z_]+)=(approved|rejected|noted)|emergency=(confirmed|denied))$"

_DECISION_RULES = [
    ("missing_value", "ticket_id", "blank(ticket_id)", "ticket_id is empty"),
    ("invalid_decision", "decision",
     f"NOT regexp_matches(lower(trim(coalesce(decision, ''))), '{_DECISION}')",
     "decision must be scope:<id>=approved|rejected|noted or emergency=confirmed|denied"),
    ("unknown_scope", "decision",
     f"lower(trim(decision)) LIKE 'scope:%' AND regexp_extract(lower(trim(decision)), '{_DECISION}', 2)"
     f" NOT IN {sql_list(list(SCOPE_EXCLUSION_IDS))}",
     "decision names a scope exclusion id that the policy does not have"),
    ("unparseable_timestamp", "decided_at", "try_cast(decided_at AS TIMESTAMPTZ) IS NULL",
     "decided_at is not an ISO 8601 timestamp"),
    ("unknown_ticket", "ticket_id",
     # NOT EXISTS, not NOT IN: a raw ticket row without an id would make NOT IN unknown.
     "NOT EXISTS (SELECT 1 FROM raw.tickets t WHERE trim(t.ticket_id) = trim(r.ticket_id))",
     "no ticket with this ticket_id was delivered (in the months loaded so far; a month's run"
     " judges the decisions again)"),
]

# A decision's client: its staged ticket's, else the client its latest delivered version names
# (a quarantined ticket's decision still belongs to that client's report).
_DECISION_CLIENT = """coalesce(
    (SELECT any_value(t.client_id) FROM staging.tickets t WHERE t.ticket_id = trim(r.ticket_id)),
    (SELECT arg_max(trim(t.client_id), t._loaded_at) FROM raw.tickets t
     WHERE trim(t.ticket_id) = trim(r.ticket_id)))"""


def _judge_raw(con: DuckDBPyConnection, table: str, entity: str,
              rules: list[tuple[str, str, str, str]]) -> None:
    """TEMP `table`: every raw row of an unpartitioned entity with its file's first sighting and
    the first of `rules` it fails (NULL when it passes them all)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT r.*, f.first_seen_at, {first_failure(rules)}
        FROM raw.{entity} r JOIN raw.landing_files f
          ON f.file_id = r._file_id AND f.path = r._source_file"""
    )


def _stage_review_decisions(con: DuckDBPyConnection) -> tuple[int, int, int]:
    """Judge and parse every delivered review decision; return (rows, in force, quarantined).

    Run at ingest and again after a month's tickets are staged: whether a decision's ticket
    exists, and its client, are only known once the ticket's month is loaded.
    """
    con.execute("BEGIN TRANSACTION")
    _judge_raw(con, "decision_rows", "review_decisions", _DECISION_RULES)
    quarantined = quarantine_replace(
        con, "staging_review_decisions", "review_decisions", None, "decision_rows", "ticket_id",
        _DECISION_CLIENT,
    )
    con.execute("DELETE FROM staging.review_decisions")
    con.execute(
        f"""INSERT INTO staging.review_decisions BY NAME
        WITH parsed AS (
            SELECT trim(ticket_id) AS ticket_id, lower(trim(decision)) AS decision,
                   CASE WHEN lower(trim(decision)) LIKE 'scope:%' THEN 'scope'
                        ELSE 'emergency' END AS kind,
                   nullif(regexp_extract(lower(trim(decision)), '{_DECISION}', 2), '') AS scope_id,
                   coalesce(nullif(regexp_extract(lower(trim(decision)), '{_DECISION}', 3), ''),
                            regexp_extract(lower(trim(decision)), '{_DECISION}', 4)) AS verdict,
                   nullif(trim(reviewer), '') AS reviewer,
                   CAST(decided_at AS TIMESTAMPTZ) AS decided_at, note,
                   first_seen_at, _source_file, _source_row
            FROM decision_rows WHERE reason_code IS NULL
        )
        SELECT * EXCLUDE (first_seen_at),
               row_number() OVER (
                   PARTITION BY ticket_id, kind, scope_id
                   ORDER BY verdict = 'noted', decided_at DESC, first_seen_at DESC,
                            _source_file DESC, _source_row DESC) = 1
               AND verdict <> 'noted' AS is_current
        FROM parsed"""
    )
    mark_judged(con, "staging_review_decisions", None)
    con.execute("COMMIT")
    rows, current = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE is_current) FROM staging.review_decisions"
    ).fetchone()
    return rows, current, quarantined


@dg.asset(group_name="staging", kinds={"duckdb"}, deps=[raw_review_decisions])
def staging_review_decisions(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Human review decisions, parsed; the latest per ticket and question is the one in force."""
    with duckdb.get_connection() as con:
        ensure_warehouse(con)
        rows, current, quarantined = _stage_review_decisions(con)
    context.log.info(f"staging.review_decisions: {rows} decision(s), {current} in force,"
                     f" {quarantined} quarantined")
    return dg.MaterializeResult(
        metadata={"row_count": rows, "decisions_in_force": current, "quarantined": quarantined}
    )


def _files_reconcile(
    con: duckdb.DuckDBPyConnection, entity: str, months: list[str] | None = None
) -> dg.AssetCheckResult:
    """Every delivered file of `entity`: delivered = accepted + quarantined + superseded (+ pending).

    With `months` (a partitioned check), the files holding rows judged in those months, each
    whole, when most staged months are other months: a month's check should not cost a pass
    over every year delivered before it. Otherwise every file, the cheaper way (a superset).
    """
    scope = None
    if months:
        first, last = min(months), max(months)
        inside, outside = con.execute(
            "SELECT count(*) FILTER (WHERE partition_month BETWEEN $first AND $last),"
            " count(*) FILTER (WHERE partition_month NOT BETWEEN $first AND $last)"
            " FROM quality.stage_runs WHERE stage = $stage",
            {"first": first, "last": last, "stage": f"staging_{entity}"},
        ).fetchone()
        scope = (first, last) if outside > inside else None
    rows = con.execute(
        "SELECT path, status, delivered, accepted, quarantined, superseded, pending, unaccounted"
        f" FROM ({file_reconciliation_sql((entity,), scope)}) ORDER BY path"
    ).fetchall()
    broken = {r[0]: dict(zip(("status", "delivered", "accepted", "quarantined", "superseded",
                               "pending", "unaccounted"), r[1:], strict=True))
              for r in rows if r[7] != 0}
    totals = {name: int(sum(r[i] for r in rows)) for i, name in
              enumerate(("delivered", "accepted", "quarantined", "superseded", "pending"), start=2)}
    description = None
    if broken:
        description = "; ".join(
            f"{path}: {v['delivered']} delivered but {v['accepted']} accepted + {v['quarantined']}"
            f" quarantined + {v['superseded']} superseded + {v['pending']} pending"
            for path, v in list(broken.items())[:5]
        )
    return dg.AssetCheckResult(
        passed=not broken,
        description=description,
        metadata={
            "files": len(rows),
            "files_of": "every delivered file" if scope is None
            else f"files with rows judged in {month_span(*scope)}",
            "files_pending": sum(1 for r in rows if r[6]),
            "files_not_reconciling": dg.MetadataValue.json(broken),
            **totals,
        },
    )


@dg.asset_check(asset=staging_clients, blocking=True)
def clients_files_reconcile(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every clients file reconciles: delivered = accepted + quarantined + superseded."""
    with duckdb.get_connection() as con:
        return _files_reconcile(con, "clients")


@dg.asset_check(asset=staging_review_decisions, blocking=True)
def review_decisions_files_reconcile(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every review decisions file reconciles: delivered = accepted + quarantined."""
    with duckdb.get_connection() as con:
        return _files_reconcile(con, "review_decisions")


@dg.asset_check(asset=staging_tickets, blocking=True, partitions_def=monthly_partitions)
def tickets_files_reconcile(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Every tickets file reconciles, counting rows of months not staged yet as pending."""
    with duckdb.get_connection() as con:
        return _files_reconcile(con, "tickets", context.partition_keys)


@dg.asset_check(asset=staging_ticket_events, blocking=True, partitions_def=monthly_partitions)
def ticket_events_files_reconcile(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Every ticket events file reconciles, counting rows of months not staged yet as pending."""
    with duckdb.get_connection() as con:
        return _files_reconcile(con, "ticket_events", context.partition_keys)


@dg.asset_check(asset=staging_time_entries, blocking=True, partitions_def=monthly_partitions)
def time_entries_files_reconcile(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Every time entries file reconciles, counting rows of months not staged yet as pending."""
    with duckdb.get_connection() as con:
        return _files_reconcile(con, "time_entries", context.partition_keys)
