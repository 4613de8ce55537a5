"""Staging client contracts: judged against the policy's plans, scope ids, zones and holiday calendars."""

import duckdb
import holidays

from policy.base import SCOPE_EXCLUSION_IDS
from policy.config import PolicyConfig
from policy.hours import parse_hours_spec
from policy.sql import register_policy
from staging_sql.rules import CLIENT_RULES, DELIVERY_ORDER, UNKNOWN_SCOPE, judge_raw
from warehouse.writes import mark_judged, quarantine_replace


def register_holiday_places(con: duckdb.DuckDBPyConnection) -> None:
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


def register_bad_hours(con: duckdb.DuckDBPyConnection) -> None:
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


def stage_clients(con: duckdb.DuckDBPyConnection, policy: PolicyConfig) -> tuple[int, int, int]:
    """Judge every delivered contract row and stage the valid ones, in one transaction;
    return (contract rows, clients, quarantined)."""
    register_policy(con, policy)
    register_bad_hours(con)
    register_holiday_places(con)
    con.execute("BEGIN TRANSACTION")
    judge_raw(con, "client_rows", "clients", CLIENT_RULES)
    # Name the unknown ids themselves, not only the field.
    con.execute(
        f"""UPDATE client_rows SET reason = reason || ': ' || array_to_string({UNKNOWN_SCOPE}, ', ')
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
                ORDER BY {DELIVERY_ORDER}) AS version
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
    return rows, clients, quarantined
