"""Compile a mapping into DuckDB SQL: field expressions, the ticket, event and client selects.

Everything is set-based SQL over the export tables (`src` for the tickets file, one table per
further file; adapters/read.py loads them); nothing loops over rows.
Values are written to the canonical files as text. A value the mapping cannot convert (say a
timestamp in an unexpected format) is written as delivered, so the pipeline's staging layer
quarantines it with the original value, file and row instead of the adapter dropping it.
"""

from __future__ import annotations

from adapters.mapping import PLACEHOLDER, EventFileSpec, FieldSpec, Mapping, TimeEntriesSpec
from warehouse.sqlquote import sql_identifier, sql_literal

# An Excel date cell arrives as this text (adapters/read.py): unambiguous, so read beside `format`.
EXCEL_TIMESTAMP = "%Y-%m-%d %H:%M:%S"
# An ISO 8601 date with no time of day; DuckDB would read it as midnight.
ISO_DATE = r"^\s*\d{4}-\d{2}-\d{2}\s*$"


def value_sql(spec: FieldSpec) -> str:
    """The cleaned text value before typing: extract, transform, map, template."""
    if spec.value is not None:
        return sql_literal(spec.value)
    if spec.generate == "row_number":
        v = "CAST(_line AS VARCHAR)"
    elif spec.generate == "hash":
        # Twelve hex digits of the MD5 of the chosen cells: stable across re-exports of the row.
        cells = ", ".join(f"coalesce(trim(CAST({sql_identifier(c)} AS VARCHAR)), '')" for c in spec.columns)
        v = f"substr(md5(concat_ws(chr(31), {cells})), 1, 12)"
    else:
        v = f"nullif(trim(CAST({sql_identifier(spec.column)} AS VARCHAR)), '')"
    if spec.extract:
        v = f"coalesce(nullif(regexp_extract({v}, {sql_literal(spec.extract)}, 1), ''), {v})"
    if spec.transform:
        v = {"upper": f"upper({v})", "lower": f"lower({v})",
             "title": f"concat(upper({v}[1]), lower({v}[2:]))"}[spec.transform]
    if spec.map:
        cases = " ".join(f"WHEN {sql_literal(k.strip().lower())} THEN {sql_literal(val)}"
                         for k, val in spec.map.items())
        otherwise = sql_literal(spec.default) if spec.default is not None else v
        v = f"(CASE lower({v}) {cases} ELSE {otherwise} END)"
    elif spec.default is not None:
        v = f"coalesce({v}, {sql_literal(spec.default)})"
    if spec.template:
        before, after = spec.template.split(PLACEHOLDER, 1)
        v = f"({sql_literal(before)} || {v} || {sql_literal(after)})"
    return v


def mapped_flag(spec: FieldSpec) -> str | None:
    """SQL true when the value is non-empty but not a key of the field's value map."""
    if not spec.map or spec.column is None or spec.default is not None:
        return None
    raw = value_sql(spec.model_copy(update={"map": None, "template": None}))
    keys = ", ".join(sql_literal(k.strip().lower()) for k in spec.map)
    return f"({raw} IS NOT NULL AND lower({raw}) NOT IN ({keys}))"


def typed(spec: FieldSpec, zone: str) -> str:
    """The value typed for ordering and arithmetic (timestamps as TIMESTAMPTZ, NULL if unreadable)."""
    v = value_sql(spec)
    if spec.type == "timestamp":
        tz = sql_literal(spec.timezone or zone)
        if spec.format and spec.time_of_day:
            # A date-only value, read at the mapping's named time of day (local to the zone).
            at = sql_literal(spec.time_of_day)
            excel_date = f"try_strptime(left({v}, 10) || ' ' || {at}, '%Y-%m-%d %H:%M')"
            return (f"timezone({tz}, coalesce(try_strptime({v} || ' ' || {at},"
                    f" {sql_literal(spec.format + ' %H:%M')}), CASE WHEN try_strptime({v},"
                    f" {sql_literal(EXCEL_TIMESTAMP)}) IS NOT NULL THEN {excel_date} END))")
        if spec.format:
            return (f"timezone({tz}, coalesce(try_strptime({v}, {sql_literal(spec.format)}),"
                    f" try_strptime({v}, {sql_literal(EXCEL_TIMESTAMP)})))")
        if spec.time_of_day:
            # An ISO date alone (2026-03-14) is read at the mapping's named time of day.
            v = (f"(CASE WHEN regexp_matches({v}, {sql_literal(ISO_DATE)}) THEN trim({v}) || ' ' ||"
                 f" {sql_literal(spec.time_of_day)} ELSE {v} END)")
        # ISO 8601: an offset is honoured; without one the value is local time in the zone.
        return (f"CASE WHEN regexp_matches({v}, '(Z|[+-]\\d\\d(:?\\d\\d)?)$')"
                f" THEN try_cast({v} AS TIMESTAMPTZ)"
                f" ELSE timezone({tz}, try_cast({v} AS TIMESTAMP)) END")
    if spec.type == "integer":
        return f"try_cast({v} AS BIGINT)"
    if spec.type == "boolean":
        return (f"CASE WHEN lower({v}) IN ('true', 't', 'yes', 'y', '1') THEN true"
                f" WHEN lower({v}) IN ('false', 'f', 'no', 'n', '0') THEN false END")
    return v


def text(spec: FieldSpec, zone: str) -> str:
    """The canonical text value: timestamps as ISO 8601 UTC, unconvertible values as delivered."""
    v = value_sql(spec)
    if spec.type == "timestamp":
        ts = typed(spec, zone)
        return (f"coalesce(strftime(timezone('UTC', {ts}), '%Y-%m-%dT%H:%M:%SZ'), {v})")
    if spec.type == "boolean":
        return f"coalesce(CAST({typed(spec, zone)} AS VARCHAR), {v})"
    return v


def _actor_type(mapping: Mapping, actor: str) -> str:
    log = mapping.event_log
    conditions = []
    if log.system_actors:
        conditions.append(f"{actor} IN ({', '.join(sql_literal(a) for a in log.system_actors)})")
    if log.system_actor_pattern:
        conditions.append(f"regexp_matches({actor}, {sql_literal(log.system_actor_pattern)})")
    if not conditions:
        return "'agent'"
    return f"CASE WHEN {' OR '.join(conditions)} THEN 'system' ELSE 'agent' END"


def event_log_updates_sql(mapping: Mapping) -> str:
    """One row per update: ticket id, order, actor, tracked values and the ticket fields."""
    log, zone = mapping.event_log, mapping.source.timezone
    order = [typed(log.event_at, zone) + " NULLS LAST"]
    order += [typed(o, zone) + " NULLS LAST" for o in log.order_by]
    parts = [
        f"{text(log.ticket_id, zone)} AS ticket_id",
        "_line",
        f"{text(log.event_at, zone)} AS event_at",
        f"{typed(log.event_at, zone)} AS event_ts",
        f"{text(log.actor, zone)} AS actor",
        *(f"{text(c.field, zone)} AS c{i}" for i, c in enumerate(log.changes)),
        *(f"{text(spec, zone)} AS {sql_identifier('f_' + name)}" for name, spec in mapping.tickets.items()),
        *(f"{text(spec, zone)} AS {sql_identifier('x_' + name)}" for name, spec in mapping.extra.items()),
        f"{text(log.created.at, zone)} AS created_event_at",
        f"{text(log.created.actor, zone) if log.created.actor else 'NULL'} AS created_actor",
    ]
    return (
        f"SELECT {', '.join(parts)}, row_number() OVER (PARTITION BY {text(log.ticket_id, zone)}"
        f" ORDER BY {', '.join(order)}, _line) AS seq FROM src"
    )


def _take(name: str, spec: FieldSpec) -> str:
    col = sql_identifier(name)
    agg = "arg_min" if spec.take == "first" else "arg_max"
    return f"{agg}({col}, seq) FILTER (WHERE {col} IS NOT NULL)"


def event_log_tickets_sql(mapping: Mapping) -> str:
    """One canonical ticket per ticket id: intake fields from the first update, outcomes from the last."""
    cols = []
    for name, spec in mapping.tickets.items():
        value = _take("f_" + name, spec)
        if name == "client_id":
            value = f"coalesce({value}, {sql_literal(mapping.clients.missing_client)})"
        cols.append(f"{value} AS {sql_identifier(name)}")
    cols += [f"{_take('x_' + n, s)} AS {sql_identifier(n)}" for n, s in mapping.extra.items()]
    return (
        f"SELECT ticket_id, {', '.join(cols)}, min(_line) AS source_line, count(*) AS source_updates"
        " FROM updates WHERE ticket_id IS NOT NULL GROUP BY ticket_id"
    )


def event_log_events_sql(mapping: Mapping) -> str:
    """Canonical events: the creation, then one event per tracked change, else one per update."""
    log = mapping.event_log
    creator_type = sql_literal(log.created.actor_type)
    if log.created.client_sources and "source" in mapping.tickets:
        sources = ", ".join(sql_literal(s.lower()) for s in log.created.client_sources)
        creator_type = (f"CASE WHEN lower(first_value(f_source) OVER w) IN ({sources}) THEN 'client'"
                        f" ELSE {creator_type} END")
    changed = []
    for i, change in enumerate(log.changes):
        if change.initial == "first":
            first = f"c{i}"  # the first update's value is the intake value: no event
        elif change.initial == "none":
            first = "NULL"
        else:
            first = sql_literal(change.initial)
        before = f"CASE WHEN seq = 1 THEN {first} ELSE lag(c{i}) OVER w END"
        cond = f"c{i} IS NOT NULL AND c{i} IS DISTINCT FROM {before}"
        changed.append(f"coalesce({cond}, false) AS changed{i}")
    updater_type = _actor_type(mapping, "actor")
    by_creator = "false"
    if log.created.creator_owns_opening_update:
        by_creator = f"(seq = 1 AND event_at = created_event_at AND {updater_type} = 'system')"
    flagged = f"""
        SELECT *, {', '.join(changed)}, {creator_type} AS creator_type,
               CASE WHEN {by_creator} THEN created_actor ELSE actor END AS ev_actor,
               CASE WHEN {by_creator} THEN {creator_type} ELSE {updater_type} END AS ev_actor_type
        FROM updates WHERE ticket_id IS NOT NULL
        WINDOW w AS (PARTITION BY ticket_id ORDER BY seq)"""
    selects = [
        """SELECT ticket_id || ':created' AS event_id, ticket_id,
                  coalesce(created_event_at, event_at) AS event_at, 'created' AS event_type,
                  creator_type AS actor_type, created_actor AS actor,
                  'false' AS is_public, NULL AS new_value, _line AS source_line
           FROM flagged WHERE seq = 1"""
    ]
    for i, change in enumerate(log.changes):
        selects.append(
            f"""SELECT ticket_id || ':' || _line || ':{i}' AS event_id, ticket_id, event_at,
                       {sql_literal(change.event_type)} AS event_type, ev_actor_type AS actor_type,
                       ev_actor AS actor, {sql_literal(str(change.is_public).lower())} AS is_public,
                       c{i} AS new_value, _line AS source_line
                FROM flagged WHERE changed{i}"""
        )
    if log.other_updates:
        none_changed = " AND ".join(f"NOT changed{i}" for i in range(len(log.changes)))
        selects.append(
            f"""SELECT ticket_id || ':' || _line AS event_id, ticket_id, event_at,
                       {sql_literal(log.other_updates)} AS event_type, ev_actor_type AS actor_type,
                       ev_actor AS actor, 'false' AS is_public, NULL AS new_value,
                       _line AS source_line
                FROM flagged WHERE {none_changed}"""
        )
    return f"WITH flagged AS ({flagged}) " + " UNION ALL ".join(selects)


def row_tickets_sql(mapping: Mapping) -> str:
    """Exports with one row per ticket: the canonical ticket columns of every row."""
    zone = mapping.source.timezone
    cols = []
    for name, spec in mapping.tickets.items():
        value = text(spec, zone)
        if name == "client_id":
            value = f"coalesce({value}, {sql_literal(mapping.clients.missing_client)})"
        cols.append(f"{value} AS {sql_identifier(name)}")
    cols += [f"{text(s, zone)} AS {sql_identifier(n)}" for n, s in mapping.extra.items()]
    return f"SELECT {', '.join(cols)}, _line AS source_line, 1 AS source_updates FROM src"


def row_events_sql(mapping: Mapping) -> str:
    """Exports with one row per ticket: one event per configured timestamp column that is filled."""
    zone = mapping.source.timezone
    ticket_id = text(mapping.tickets["ticket_id"], zone)
    selects = []
    for i, event in enumerate(mapping.events):
        actor = text(event.actor, zone) if event.actor else "NULL"
        new_value = sql_literal(event.new_value) if event.new_value is not None else "NULL"
        selects.append(
            f"""SELECT {ticket_id} || ':{event.event_type}:{i}' AS event_id, {ticket_id} AS ticket_id,
                       {text(event.at, zone)} AS event_at, {sql_literal(event.event_type)} AS event_type,
                       {sql_literal(event.actor_type)} AS actor_type, {actor} AS actor,
                       {sql_literal(str(event.is_public).lower())} AS is_public, {new_value} AS new_value,
                       _line AS source_line
                FROM src WHERE {value_sql(event.at)} IS NOT NULL"""
        )
    if not selects:
        # Typed columns: an all-NULL column would be written as Parquet "NULL", which the
        # pipeline cannot read as text.
        return ("SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS ticket_id,"
                " NULL::VARCHAR AS event_at, NULL::VARCHAR AS event_type,"
                " NULL::VARCHAR AS actor_type, NULL::VARCHAR AS actor, NULL::VARCHAR AS is_public,"
                " NULL::VARCHAR AS new_value, NULL::BIGINT AS source_line WHERE false")
    return " UNION ALL ".join(selects)


def _optional(spec: FieldSpec | None, zone: str) -> str:
    return f"CAST({text(spec, zone)} AS VARCHAR)" if spec is not None else "NULL::VARCHAR"


def event_file_sql(key: str, spec: EventFileSpec, table: str, zone: str) -> str:
    """A file of one row per action or note: one canonical event per row with a time."""
    ticket_id = text(spec.ticket_id, zone)
    event_id = (text(spec.event_id, zone) if spec.event_id
                else f"{ticket_id} || ':{key}:' || _line")
    return f"""SELECT CAST({event_id} AS VARCHAR) AS event_id, CAST({ticket_id} AS VARCHAR) AS ticket_id,
                      CAST({text(spec.at, zone)} AS VARCHAR) AS event_at,
                      CAST({text(spec.event_type, zone)} AS VARCHAR) AS event_type,
                      CAST({text(spec.actor_type, zone)} AS VARCHAR) AS actor_type,
                      {_optional(spec.actor, zone)} AS actor,
                      coalesce({_optional(spec.is_public, zone)}, 'false') AS is_public,
                      {_optional(spec.new_value, zone)} AS new_value, _line AS source_line
               FROM {table} WHERE {value_sql(spec.at)} IS NOT NULL"""


def minutes_sql(spec: TimeEntriesSpec) -> tuple[str, str]:
    """(the delivered amount, the amount in minutes or NULL if unreadable): decimals or h:mm."""
    field = spec.minutes or spec.hours
    raw = value_sql(field)
    per_unit = "1" if spec.minutes is not None else "60"
    number = (f"CASE WHEN regexp_matches({raw}, '^\\d+:\\d{{1,2}}$')"
              f" THEN CAST(split_part({raw}, ':', 1) AS DOUBLE) * 60"
              f" + CAST(split_part({raw}, ':', 2) AS DOUBLE)"
              f" ELSE try_cast({raw} AS DOUBLE) * {per_unit} END")
    return raw, number


def time_entries_sql(mapping: Mapping, table: str) -> str:
    """Canonical time entries: one per row with a non-zero amount; an unreadable amount is kept
    as delivered (the pipeline quarantines it with its value)."""
    spec, zone = mapping.time_entries, mapping.source.timezone
    ticket_id = text(spec.ticket_id or mapping.tickets["ticket_id"], zone)
    raw, number = minutes_sql(spec)
    entry_id = text(spec.entry_id, zone) if spec.entry_id else f"{ticket_id} || ':time:' || _line"
    minutes = f"coalesce(CAST(round({number}, 2) AS VARCHAR), {raw})"
    return f"""SELECT CAST({entry_id} AS VARCHAR) AS entry_id, CAST({ticket_id} AS VARCHAR) AS ticket_id,
                      CAST({text(spec.started_at, zone)} AS VARCHAR) AS started_at,
                      {minutes} AS minutes,
                      {_optional(spec.work_type, zone)} AS work_type,
                      {_optional(spec.billable, zone)} AS billable,
                      {_optional(spec.note, zone)} AS note, _line AS source_line
               FROM {table} WHERE {raw} IS NOT NULL AND coalesce({number}, -1) <> 0"""
