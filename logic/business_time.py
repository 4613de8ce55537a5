"""Business time in DuckDB: open intervals per calendar and business minutes between two instants.

The model (docs/business-time.md):
- a calendar is a chain of effective-dated rows, each with an IANA zone, weekly local hours, public
  holidays (``holidays`` package, by country and subdivision) and extra closed days, or ``24x7``;
- ``build_open_intervals`` turns the rows into one row per open interval in UTC, with the business
  minutes before it, entirely in SQL;
- ``business_minutes_sql`` measures (start, end) pairs with two ASOF joins on that table, and
  ``next_opening_sql`` tells when the business clock starts for an instant.

DST rule: a local opening or closing time happens at the first instant at which the local wall
clock shows that time or later. A time skipped by a spring-forward gap therefore happens at the
jump, and a time repeated by a fall-back overlap at its first occurrence; an interval lasts the
real time between its two instants.

Every SQL statement here is independent of the session's TimeZone setting: local times are turned
into instants with ``timezone(zone, timestamp)`` and instants are only shifted by fixed durations.
"""

import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal, Self

import duckdb
import holidays

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HOURS = "hours"
ALWAYS_OPEN = "24x7"
CalendarKind = Literal["hours", "24x7"]

# Temp tables that load_calendars (re)creates; build_open_intervals reads them.
CALENDARS_TABLE = "bt_calendars"
WEEKLY_HOURS_TABLE = "bt_weekly_hours"
CLOSURES_TABLE = "bt_closures"
HOLIDAYS_TABLE = "bt_holidays"

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _minute_of_day(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Calendar:
    """One effective-dated row of a business calendar.

    ``weekly_hours`` maps a weekday name to local wall-clock intervals ("HH:MM", "HH:MM"), ordered
    and not overlapping; "24:00" may end an interval. ``valid_to`` is exclusive; rows sharing a
    ``calendar_id`` must form one unbroken chain in one time zone. A ``24x7`` row is always open:
    weekly hours, public holidays and closures do not apply to it.
    """

    calendar_id: str
    timezone: str
    weekly_hours: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    country: str | None = None
    subdivision: str | None = None
    valid_from: date = date(1900, 1, 1)
    valid_to: date | None = None
    extra_closures: Sequence[date] = ()
    kind: CalendarKind = HOURS

    def __post_init__(self) -> None:
        where = f"calendar {self.calendar_id!r}"
        if not self.calendar_id:
            raise ValueError("calendar_id must not be empty")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{where}: unknown time zone {self.timezone!r}") from error
        if self.kind not in (HOURS, ALWAYS_OPEN):
            raise ValueError(f"{where}: kind must be {HOURS!r} or {ALWAYS_OPEN!r}, not {self.kind!r}")
        if self.kind == ALWAYS_OPEN and any(self.weekly_hours.values()):
            raise ValueError(f"{where}: a 24x7 calendar takes no weekly hours")
        if self.country is not None and not re.fullmatch(r"[A-Z]{2}", self.country):
            raise ValueError(f"{where}: country must be an ISO 3166 alpha-2 code, not {self.country!r}")
        if self.subdivision is not None and self.country is None:
            raise ValueError(f"{where}: a subdivision needs a country")
        if not isinstance(self.valid_from, date) or not isinstance(self.valid_to, date | None):
            raise ValueError(f"{where}: valid_from and valid_to must be dates (valid_to may be None)")
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"{where}: valid_to {self.valid_to} is not after valid_from {self.valid_from}")
        unknown = sorted(set(self.weekly_hours) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"{where}: unknown weekday(s) {', '.join(unknown)}")
        hours: dict[str, tuple[tuple[str, str], ...]] = {}
        for day, intervals in self.weekly_hours.items():
            previous_end = 0
            for start, end in intervals:
                for hhmm in (start, end):
                    if not _HHMM.match(hhmm):
                        raise ValueError(f"{where}: {day} '{hhmm}' is not a time HH:MM")
                if _minute_of_day(start) >= _minute_of_day(end):
                    raise ValueError(f"{where}: {day} interval {start}-{end} does not end after it starts")
                if _minute_of_day(start) < previous_end:
                    raise ValueError(f"{where}: {day} interval {start}-{end} overlaps the one before")
                previous_end = _minute_of_day(end)
            hours[day] = tuple((start, end) for start, end in intervals)
        # Normalised copies, so a caller's later mutation cannot change a loaded calendar.
        object.__setattr__(self, "weekly_hours", hours)
        object.__setattr__(self, "extra_closures", tuple(sorted(set(self.extra_closures))))

    @classmethod
    def always_open(cls, calendar_id: str, timezone: str = "UTC", valid_from: date = date(1900, 1, 1),
                    valid_to: date | None = None) -> Self:
        """A 24x7 row: every instant is business time."""
        return cls(calendar_id, timezone, valid_from=valid_from, valid_to=valid_to, kind=ALWAYS_OPEN)

    def weekly_minutes(self) -> list[tuple[int, int, int]]:
        """(ISO weekday 1-7, opening minute, closing minute) rows; 24x7 is 00:00-24:00 every day."""
        if self.kind == ALWAYS_OPEN:
            return [(isodow, 0, 1440) for isodow in range(1, 8)]
        return [(WEEKDAYS.index(day) + 1, _minute_of_day(start), _minute_of_day(end))
                for day, intervals in self.weekly_hours.items() for start, end in intervals]


def _check_chains(calendars: Sequence[Calendar]) -> None:
    """Rows of one calendar_id must share a zone and chain without gaps or overlaps."""
    by_id: dict[str, list[Calendar]] = {}
    for calendar in calendars:
        by_id.setdefault(calendar.calendar_id, []).append(calendar)
    for calendar_id, rows in by_id.items():
        rows.sort(key=lambda row: row.valid_from)
        zones = {row.timezone for row in rows}
        if len(zones) > 1:
            # Intervals of two zones could overlap at the change; a move is a new calendar_id.
            raise ValueError(f"calendar {calendar_id!r}: rows use several time zones {sorted(zones)}")
        for before, after in zip(rows, rows[1:], strict=False):
            if before.valid_to != after.valid_from:
                raise ValueError(
                    f"calendar {calendar_id!r}: row valid from {before.valid_from} ends at "
                    f"{before.valid_to}, but the next row starts at {after.valid_from}")


def load_calendars(con: duckdb.DuckDBPyConnection, calendars: Sequence[Calendar]) -> None:
    """(Re)create the temp tables bt_calendars, bt_weekly_hours and bt_closures from ``calendars``."""
    _check_chains(calendars)
    known = {name for (name,) in con.execute("SELECT name FROM pg_timezone_names()").fetchall()}
    for calendar in calendars:
        if calendar.timezone not in known:
            raise ValueError(f"calendar {calendar.calendar_id!r}: DuckDB does not know {calendar.timezone!r}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {CALENDARS_TABLE} (
            row_id INTEGER PRIMARY KEY, calendar_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            timezone VARCHAR NOT NULL, country VARCHAR, subdivision VARCHAR,
            valid_from DATE NOT NULL, valid_to DATE)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {WEEKLY_HOURS_TABLE} (
            row_id INTEGER NOT NULL, isodow TINYINT NOT NULL,
            open_minute SMALLINT NOT NULL, close_minute SMALLINT NOT NULL)""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CLOSURES_TABLE} (row_id INTEGER NOT NULL, day DATE NOT NULL)")
    rows = list(enumerate(calendars))
    hours = [(row_id, *interval) for row_id, c in rows for interval in c.weekly_minutes()]
    closures = [(row_id, day) for row_id, c in rows if c.kind == HOURS for day in c.extra_closures]
    # Columns travel as lists and are unnested together: one statement per table, whatever the size.
    if rows:
        con.execute(f"""
            INSERT INTO {CALENDARS_TABLE}
            SELECT unnest($1), unnest($2), unnest($3), unnest($4), unnest($5), unnest($6), unnest($7),
                   unnest($8)""",
                    [[r for r, _ in rows], [c.calendar_id for _, c in rows], [c.kind for _, c in rows],
                     [c.timezone for _, c in rows], [c.country for _, c in rows],
                     [c.subdivision for _, c in rows], [c.valid_from for _, c in rows],
                     [c.valid_to for _, c in rows]])
    if hours:
        con.execute(f"INSERT INTO {WEEKLY_HOURS_TABLE} SELECT unnest($1), unnest($2), unnest($3), unnest($4)",
                    [list(column) for column in zip(*hours, strict=True)])
    if closures:
        con.execute(f"INSERT INTO {CLOSURES_TABLE} SELECT unnest($1), unnest($2)",
                    [list(column) for column in zip(*closures, strict=True)])


@lru_cache(maxsize=4096)
def public_holidays(country: str, subdivision: str | None, year: int) -> tuple[tuple[date, str], ...]:
    """Public holidays (observed days included) of one country/subdivision and year, from ``holidays``."""
    try:
        days = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as error:
        raise ValueError(f"no public holidays known for country {country!r} subdivision "
                         f"{subdivision!r}: {error}") from error
    return tuple(sorted(days.items()))


def load_holidays(con: duckdb.DuckDBPyConnection, places: Iterable[tuple[str, str | None]],
                  years: Iterable[int]) -> int:
    """(Re)create temp table bt_holidays(country, subdivision, day, name); returns its row count."""
    rows = [(country, subdivision, day, name)
            for country, subdivision in sorted(set(places), key=lambda p: (p[0], p[1] or ""))
            for year in years
            for day, name in public_holidays(country, subdivision, year)]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {HOLIDAYS_TABLE} (
            country VARCHAR NOT NULL, subdivision VARCHAR, day DATE NOT NULL, name VARCHAR)""")
    if rows:
        con.execute(f"INSERT INTO {HOLIDAYS_TABLE} SELECT unnest($1), unnest($2), unnest($3), unnest($4)",
                    [list(column) for column in zip(*rows, strict=True)])
    return len(rows)


def _identifier(name: str) -> str:
    """Table names are spliced into SQL, so only plain (optionally schema-qualified) names pass."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain table name: {name!r}")
    return name


# A local wall time becomes the first instant at which the zone's clock shows it or later:
# - a time that exists once: the instant timezone() gives;
# - a time repeated by a fall-back overlap: its first occurrence. ICU picks the later one, so the
#   time is also read with the offset in force a day before and a day after, and the earliest
#   reading that round-trips wins;
# - a time skipped by a spring-forward gap (no reading round-trips): the instant of the jump,
#   found by stepping minute by minute through the gap (offsets are whole minutes; a gap is at
#   most a few hours and there are a handful per zone and year).
# Shifts are in hours, never days: adding a day to a TIMESTAMPTZ would use the session zone.
_WALL_TO_INSTANT = """
walls AS (
    SELECT timezone AS tz, open_local AS wall FROM local_intervals
    UNION
    SELECT timezone, close_local FROM local_intervals
), readings AS (
    SELECT tz, wall, timezone(tz, wall) AS icu,
           timezone(tz, wall - INTERVAL 24 HOUR) + INTERVAL 24 HOUR AS with_day_before,
           timezone(tz, wall + INTERVAL 24 HOUR) - INTERVAL 24 HOUR AS with_day_after
    FROM walls
), instants AS MATERIALIZED (
    SELECT tz, wall,
           coalesce(
               list_min(list_filter([icu, with_day_before, with_day_after],
                                    lambda r: timezone(tz, r) = wall)),
               list_min(list_filter(
                   generate_series(least(icu, with_day_before, with_day_after), icu, INTERVAL 1 MINUTE),
                   lambda r: timezone(tz, r) >= wall))
           ) AS instant
    FROM readings
)"""

_BUILD = """
CREATE OR REPLACE TEMP TABLE {table} AS
WITH days AS (
    -- Local dates of [start, end) each joined to the row in force that day (effective dating).
    SELECT c.row_id, c.calendar_id, c.kind, c.timezone, c.country, c.subdivision, d.range::DATE AS day
    FROM range($start::TIMESTAMP, $end::TIMESTAMP, INTERVAL 1 DAY) d
    JOIN {calendars} c
      ON d.range::DATE >= c.valid_from AND (c.valid_to IS NULL OR d.range::DATE < c.valid_to)
), closed AS (
    SELECT d.row_id, d.day
    FROM days d JOIN {holidays} h
      ON h.country = d.country AND h.subdivision IS NOT DISTINCT FROM d.subdivision AND h.day = d.day
    WHERE d.kind = 'hours'
    UNION
    SELECT row_id, day FROM {closures}
), local_intervals AS MATERIALIZED (
    SELECT d.calendar_id, d.timezone,
           d.day + to_minutes(h.open_minute) AS open_local,
           d.day + to_minutes(h.close_minute) AS close_local
    FROM days d
    JOIN {weekly_hours} h ON h.row_id = d.row_id AND h.isodow = isodow(d.day)
    ANTI JOIN closed x ON x.row_id = d.row_id AND x.day = d.day
), {wall_to_instant}, intervals AS (
    SELECT l.calendar_id, o.instant AS open_at, c.instant AS close_at,
           (epoch_us(c.instant) - epoch_us(o.instant)) / 60e6 AS minutes
    FROM local_intervals l
    JOIN instants o ON o.tz = l.timezone AND o.wall = l.open_local
    JOIN instants c ON c.tz = l.timezone AND c.wall = l.close_local
    -- An interval wholly inside a spring-forward gap never happens.
    WHERE c.instant > o.instant
)
SELECT calendar_id, open_at, close_at, minutes,
       coalesce(sum(minutes) OVER (PARTITION BY calendar_id ORDER BY open_at
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS cum_before
FROM intervals
ORDER BY calendar_id, open_at
"""

# The instants a calendar is measured over: local midnight of the first covered day to local
# midnight after the last one. Outside them a calendar is unknown, not closed.
_COVERAGE = """
CREATE OR REPLACE TEMP TABLE {table}_coverage AS
WITH bounds AS (
    SELECT calendar_id, any_value(timezone) AS timezone,
           greatest(min(valid_from), $start) AS first_day,
           least(max(coalesce(valid_to, $end)), $end) AS end_day
    FROM {calendars}
    GROUP BY calendar_id
), local_intervals AS (
    SELECT calendar_id, timezone, first_day::TIMESTAMP AS open_local, end_day::TIMESTAMP AS close_local
    FROM bounds
    WHERE end_day > first_day
), {wall_to_instant}
SELECT l.calendar_id, o.instant AS covered_from, c.instant AS covered_to
FROM local_intervals l
JOIN instants o ON o.tz = l.timezone AND o.wall = l.open_local
JOIN instants c ON c.tz = l.timezone AND c.wall = l.close_local
"""


def build_open_intervals(con: duckdb.DuckDBPyConnection, calendars: Sequence[Calendar], start: date,
                         end: date, table: str = "open_intervals") -> int:
    """Create temp tables ``table`` and ``table``_coverage for local dates start <= day < end.

    ``table``: calendar_id, open_at, close_at (TIMESTAMPTZ), minutes, cum_before (DOUBLE), where
    cum_before is the calendar's business minutes from ``start`` to open_at.
    ``table``_coverage: calendar_id, covered_from, covered_to (TIMESTAMPTZ), the instants that
    local midnight of the first and after the last covered day map to.
    Returns the number of open intervals.
    """
    table = _identifier(table)
    if end <= start:
        raise ValueError(f"end {end} must be after start {start}")
    load_calendars(con, calendars)
    places = {(c.country, c.subdivision) for c in calendars if c.country is not None and c.kind == HOURS}
    load_holidays(con, places, range(start.year, (end - timedelta(days=1)).year + 1))
    names = {"table": table, "calendars": CALENDARS_TABLE, "weekly_hours": WEEKLY_HOURS_TABLE,
             "closures": CLOSURES_TABLE, "holidays": HOLIDAYS_TABLE, "wall_to_instant": _WALL_TO_INSTANT}
    params = {"start": start, "end": end}
    con.execute(_BUILD.format(**names), params)
    con.execute(_COVERAGE.format(**names), params)
    overlapping = con.execute(f"""
        SELECT count(*) FROM (
            SELECT open_at < lag(close_at) OVER (PARTITION BY calendar_id ORDER BY open_at) AS clash
            FROM {table}) WHERE clash""").fetchall()[0][0]
    # The ASOF lookups rely on disjoint intervals; the DST rule keeps them so, this proves it.
    if overlapping:
        raise RuntimeError(f"{overlapping} open intervals overlap the one before in {table}")
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def business_minutes_sql(intervals_table: str, pairs_sql: str) -> str:
    """SQL giving ("key", business_minutes DOUBLE) for a relation ("key", calendar_id, start_at, end_at).

    Business minutes elapsed by instant t = cum_before + clamp(t - open_at, 0, minutes) of the
    latest interval opening at or before t (0 before the first one); the result is that at end_at
    minus that at start_at. NULL when end_at is before start_at, when either instant lies outside
    the calendar's coverage, or for an unknown calendar_id.
    """
    table = _identifier(intervals_table)
    return f"""
WITH pairs AS ({pairs_sql}
), at_start AS (
    SELECT p."key", p.calendar_id, p.start_at, p.end_at,
           coalesce(i.cum_before + least(greatest(epoch_us(p.start_at) - epoch_us(i.open_at), 0) / 60e6,
                                         i.minutes), 0) AS elapsed_start
    FROM pairs p ASOF LEFT JOIN {table} i ON i.calendar_id = p.calendar_id AND p.start_at >= i.open_at
), at_end AS (
    SELECT s.*,
           coalesce(i.cum_before + least(greatest(epoch_us(s.end_at) - epoch_us(i.open_at), 0) / 60e6,
                                         i.minutes), 0) AS elapsed_end
    FROM at_start s ASOF LEFT JOIN {table} i ON i.calendar_id = s.calendar_id AND s.end_at >= i.open_at
)
SELECT e."key",
       CASE WHEN e.end_at >= e.start_at AND e.start_at >= c.covered_from AND e.end_at <= c.covered_to
            THEN e.elapsed_end - e.elapsed_start END AS business_minutes
FROM at_end e LEFT JOIN {table}_coverage c ON c.calendar_id = e.calendar_id
"""


def business_minutes(con: duckdb.DuckDBPyConnection, pairs_sql: str,
                     intervals_table: str = "open_intervals") -> duckdb.DuckDBPyRelation:
    """Relation ("key", business_minutes) for the pairs relation; see business_minutes_sql."""
    return con.sql(business_minutes_sql(intervals_table, pairs_sql))


def next_opening_sql(intervals_table: str, instants_sql: str) -> str:
    """SQL giving ("key", clock_starts_at TIMESTAMPTZ, is_open BOOLEAN) for ("key", calendar_id, at).

    clock_starts_at is ``at`` itself when the calendar is open then, else the next opening. NULL
    (both columns) when ``at`` is outside the calendar's coverage; clock_starts_at is also NULL
    when no opening follows within it.
    """
    table = _identifier(intervals_table)
    return f"""
WITH instants AS ({instants_sql}
), current AS (
    SELECT q."key", q.calendar_id, q."at", i.close_at AS current_close
    FROM instants q ASOF LEFT JOIN {table} i ON i.calendar_id = q.calendar_id AND q."at" >= i.open_at
), upcoming AS (
    SELECT k.*, i.open_at AS next_open
    FROM current k ASOF LEFT JOIN {table} i ON i.calendar_id = k.calendar_id AND k."at" < i.open_at
)
SELECT u."key",
       CASE WHEN u."at" >= c.covered_from AND u."at" < c.covered_to
            THEN CASE WHEN u."at" < u.current_close THEN u."at" ELSE u.next_open END END AS clock_starts_at,
       CASE WHEN u."at" >= c.covered_from AND u."at" < c.covered_to
            THEN coalesce(u."at" < u.current_close, false) END AS is_open
FROM upcoming u LEFT JOIN {table}_coverage c ON c.calendar_id = u.calendar_id
"""


def next_opening(con: duckdb.DuckDBPyConnection, instants_sql: str,
                 intervals_table: str = "open_intervals") -> duckdb.DuckDBPyRelation:
    """Relation ("key", clock_starts_at, is_open) for the instants relation; see next_opening_sql."""
    return con.sql(next_opening_sql(intervals_table, instants_sql))
