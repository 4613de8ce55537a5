"""Business minutes in DuckDB against hand-worked cases and a minute-walking oracle in plain Python.

The oracle shares nothing with the SQL but the Calendar input and the ``holidays`` package: it walks
UTC minute by minute, reads each minute's wall clock with zoneinfo, opens and closes at the first
minute whose wall clock shows the opening or closing time or later (the documented DST rule), and
counts open minutes one by one.
"""

import bisect
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb
import holidays
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from logic.business_time import (
    ALWAYS_OPEN,
    WEEKDAYS,
    Calendar,
    build_open_intervals,
    business_minutes,
    business_minutes_sql,
    next_opening,
)

WEEKDAYS_9_TO_5 = {day: [("09:00", "17:00")] for day in WEEKDAYS[:5]}


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """One in-memory connection per module, in UTC as the pipeline's connections are."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone='UTC'")
    yield connection
    connection.close()


def utc(text: str) -> datetime:
    """An aware UTC datetime from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _literal(value: datetime) -> str:
    return f"TIMESTAMPTZ '{value.astimezone(UTC).isoformat()}'"


def pairs_sql(pairs: Sequence[tuple[str, datetime, datetime]]) -> str:
    """A VALUES relation ("key", calendar_id, start_at, end_at); keys are list positions."""
    rows = ", ".join(f"({key}, '{cal}', {_literal(start)}, {_literal(end)})"
                     for key, (cal, start, end) in enumerate(pairs))
    return f'SELECT * FROM (VALUES {rows}) t("key", calendar_id, start_at, end_at)'


def instants_sql(instants: Sequence[tuple[str, datetime]]) -> str:
    """A VALUES relation ("key", calendar_id, "at"); keys are list positions."""
    rows = ", ".join(f"({key}, '{cal}', {_literal(at)})" for key, (cal, at) in enumerate(instants))
    return f'SELECT * FROM (VALUES {rows}) t("key", calendar_id, "at")'


def measure(con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, datetime, datetime]]) -> list:
    """Business minutes for each pair, in order (None where the SQL gives NULL)."""
    rows = business_minutes(con, pairs_sql(pairs)).fetchall()
    return [minutes for _, minutes in sorted(rows)]


def clock_starts(con: duckdb.DuckDBPyConnection, instants: Sequence[tuple[str, datetime]]) -> list:
    """(clock_starts_at, is_open) for each instant, in order."""
    rows = next_opening(con, instants_sql(instants)).fetchall()
    return [(starts, is_open) for _, starts, is_open in sorted(rows)]


# ---------------------------------------------------------------------------------------------
# The oracle: plain Python, minute by minute.


@dataclass
class Oracle:
    """Open/closed for every UTC minute from ``origin``, and the covered minute range."""

    origin: datetime
    open_minute: bytearray
    covered: tuple[int, int]
    transitions: list[int]
    # What the scenario exercised, for hypothesis's statistics.
    notes: set[str]

    def index(self, at: datetime) -> int:
        return int((at - self.origin).total_seconds() // 60)

    def at(self, index: int) -> datetime:
        return self.origin + timedelta(minutes=index)

    def minutes(self, start: datetime, end: datetime) -> int | None:
        first, last = self.index(start), self.index(end)
        low, high = self.covered
        if high <= low or last < first or first < low or last > high:
            return None
        return sum(self.open_minute[first:last])

    def clock_start(self, at: datetime) -> tuple[datetime | None, bool] | tuple[None, None]:
        i = self.index(at)
        if not self.covered[0] <= i < self.covered[1]:
            return None, None
        if self.open_minute[i]:
            return at, True
        following = self.open_minute.find(1, i, self.covered[1])
        return (self.at(following) if following >= 0 else None), False


def _hhmm(text: str) -> int:
    return int(text[:2]) * 60 + int(text[3:])


_HOLIDAYS: dict[tuple[str, str | None, int], holidays.HolidayBase] = {}


def _is_holiday(country: str, subdivision: str | None, day: date) -> bool:
    key = (country, subdivision, day.year)
    if key not in _HOLIDAYS:
        _HOLIDAYS[key] = holidays.country_holidays(country, subdiv=subdivision, years=day.year)
    return day in _HOLIDAYS[key]


def _utc_offsets(zone: ZoneInfo, origin: datetime, count: int) -> list[int]:
    """The zone's UTC offset in minutes at each minute from origin, as zoneinfo says."""

    def offset(i: int) -> int:
        seconds = (origin + timedelta(minutes=i)).astimezone(zone).utcoffset().total_seconds()
        assert seconds % 60 == 0, "the oracle counts whole minutes"
        return int(seconds // 60)

    # Asking every minute is slow; ask hourly and every minute only in hours where the offset moves
    # (no zone changes twice within an hour).
    offsets = []
    for hour in range(0, count, 60):
        minutes = min(60, count - hour)
        if offset(hour) == offset(hour + minutes):
            offsets += [offset(hour)] * minutes
        else:
            offsets += [offset(i) for i in range(hour, hour + minutes)]
    return offsets


def oracle(rows: Sequence[Calendar], start: date, end: date) -> Oracle:
    """Walk one calendar's rows over local dates start <= day < end, minute by minute."""
    origin = datetime.combine(start - timedelta(days=2), time(), UTC)
    count = ((end - start).days + 4) * 1440
    offsets = _utc_offsets(ZoneInfo(rows[0].timezone), origin, count)
    # Wall clock of every minute, in minutes after origin's date at 00:00 local wall-clock time;
    # the first minute whose wall clock shows T or later is the first whose running maximum does.
    running_max, highest = [], -(10**9)
    for i, offset in enumerate(offsets):
        highest = max(highest, i + offset)
        running_max.append(highest)

    def first_showing(day: date, minute: int) -> int:
        return bisect.bisect_left(running_max, (day - origin.date()).days * 1440 + minute)

    shown = Counter(i + offset for i, offset in enumerate(offsets))
    notes = set()
    open_minute = bytearray(count)
    first_day = max(start, min(row.valid_from for row in rows))
    last_day = min(end, max(row.valid_to or end for row in rows))
    day = first_day
    while day < last_day:
        row = next(r for r in rows if r.valid_from <= day and (r.valid_to is None or day < r.valid_to))
        if row.kind == ALWAYS_OPEN:
            spans = [(0, 1440)]
            notes.add("24x7 day")
        elif day in row.extra_closures or (row.country and _is_holiday(row.country, row.subdivision, day)):
            spans = []
            notes.add("holiday or closure")
        else:
            spans = [(_hhmm(a), _hhmm(b)) for a, b in row.weekly_hours.get(WEEKDAYS[day.weekday()], ())]
        for a, b in spans:
            for minute in (a, b):
                times_shown = shown[(day - origin.date()).days * 1440 + minute]
                if times_shown != 1:
                    notes.add("opening/closing time skipped by DST" if times_shown == 0
                              else "opening/closing time repeated by DST")
            for i in range(first_showing(day, a), first_showing(day, b)):
                open_minute[i] = 1
        day += timedelta(days=1)
    covered = (first_showing(first_day, 0), first_showing(last_day, 0))
    transitions = [i for i in range(1, count) if offsets[i] != offsets[i - 1]]
    if any(covered[0] <= i < covered[1] for i in transitions):
        notes.add("DST change inside the coverage")
    if len(rows) > 1:
        notes.add("change of hours")
    return Oracle(origin, open_minute, covered, transitions, notes)


# ---------------------------------------------------------------------------------------------
# Fixed cases reproduced from other projects' suites.


LUNCH_BREAK = {day: [("09:00", "12:00"), ("13:00", "18:00")] for day in WEEKDAYS[:5]}
UNEVEN_WEEK = {"monday": [("09:00", "17:00")], "wednesday": [("09:00", "17:00")],
               "friday": [("09:00", "17:00")], "tuesday": [("10:00", "16:00")],
               "thursday": [("10:00", "16:00")], "saturday": [("11:00", "14:30")]}

REFERENCE_CASES = [
    (Calendar("lunch", "UTC", LUNCH_BREAK), "2016-01-18 09:00", "2016-01-25 09:00", 40),
    (Calendar("lunch_ca", "UTC", LUNCH_BREAK, country="US", subdivision="CA"),
     "2015-12-21 09:00", "2015-12-28 09:00", 32),
    (Calendar("uneven", "UTC", UNEVEN_WEEK), "2006-01-01 00:00", "2006-01-08 00:00", 39.5),
    (Calendar("uneven", "UTC", UNEVEN_WEEK), "2006-01-05 12:00", "2006-01-06 12:00", 7),
    (Calendar("federal", "UTC", WEEKDAYS_9_TO_5, country="US"), "2014-01-16 18:30", "2014-01-22 10:00", 17),
]


@pytest.mark.parametrize(("calendar", "start", "end", "hours"), REFERENCE_CASES,
                         ids=["lunch-break", "us-ca-christmas", "uneven-week", "uneven-midweek", "mlk-day"])
def test_reference_cases(con, calendar: Calendar, start: str, end: str, hours: float):
    build_open_intervals(con, [calendar], date(2005, 12, 1), date(2016, 12, 31))
    assert measure(con, [(calendar.calendar_id, utc(start), utc(end))]) == [hours * 60]
    # The oracle agrees, so it is checked against the same published figures.
    truth = oracle([calendar], utc(start).date() - timedelta(days=3), utc(end).date() + timedelta(days=3))
    assert truth.minutes(utc(start), utc(end)) == hours * 60


# ---------------------------------------------------------------------------------------------
# DST cases worked out by hand.

LONDON_WEEKDAYS = Calendar("ldn", "Europe/London", {day: [("08:00", "18:00")] for day in WEEKDAYS[:5]})
LONDON_DAILY = Calendar("ldn_daily", "Europe/London", {day: [("08:00", "18:00")] for day in WEEKDAYS})
SYDNEY = Calendar("syd", "Australia/Sydney", WEEKDAYS_9_TO_5)
SYDNEY_NIGHT = Calendar("syd_night", "Australia/Sydney", {"sunday": [("00:00", "06:00")]})
NY_ALWAYS = Calendar.always_open("ny_24x7", "America/New_York")
LONDON_ALWAYS = Calendar.always_open("ldn_24x7", "Europe/London")
NY_ALL_DAY = Calendar("ny_all_day", "America/New_York", {day: [("00:00", "24:00")] for day in WEEKDAYS})

DST_CASES = [
    # 31 Mar 2024: London opens 08:00 BST = 07:00 UTC; a UTC-naive sum would give 0 here.
    (LONDON_DAILY, "2024-03-31 07:00", "2024-03-31 08:00", 60),
    # Fri 17:00 GMT to Mon 09:00 BST: Fri 17:00-18:00 and Mon 08:00-09:00.
    (LONDON_WEEKDAYS, "2024-03-29 17:00", "2024-04-01 08:00", 120),
    # Fri 17:00 BST (16:00 UTC) to Mon 09:00 GMT (09:00 UTC) across 27 Oct.
    (LONDON_WEEKDAYS, "2024-10-25 16:00", "2024-10-28 09:00", 120),
    # A whole BST week then a GMT Monday: 5 x 10 h + 1 h.
    (LONDON_WEEKDAYS, "2024-10-21 00:00", "2024-10-28 09:00", 3060),
    # Sydney, 7 Apr 2024 (AEDT +11 -> AEST +10): Fri 16:00-17:00 AEDT and Mon 09:00-10:00 AEST.
    (SYDNEY, "2024-04-05 05:00", "2024-04-08 00:00", 120),
    # Fri 17:00 AEDT to Mon 09:00 AEST is all closed; a fixed +11 would count Mon 09:00-10:00.
    (SYDNEY, "2024-04-05 06:00", "2024-04-07 23:00", 0),
    # Sunday 00:00-06:00 on the change night lasts 7 real hours (00:00 AEDT to 06:00 AEST).
    (SYDNEY_NIGHT, "2024-04-06 12:00", "2024-04-07 12:00", 420),
    # 24x7 equals real elapsed time whatever the wall clock does.
    (LONDON_ALWAYS, "2024-10-26 12:00", "2024-10-27 12:00", 1440),
    (LONDON_ALWAYS, "2024-03-30 00:00", "2024-04-01 00:00", 2880),
    (NY_ALWAYS, "2024-03-09 17:00", "2024-03-11 17:00", 2880),
    # A local day 00:00-24:00 lasts 23 h on 10 Mar 2024 and 25 h on 3 Nov 2024 in New York.
    (NY_ALL_DAY, "2024-03-10 05:00", "2024-03-11 04:00", 1380),
    (NY_ALL_DAY, "2024-11-03 04:00", "2024-11-04 05:00", 1500),
]


@pytest.mark.parametrize(("calendar", "start", "end", "minutes"), DST_CASES)
def test_dst_cases(con, calendar: Calendar, start: str, end: str, minutes: int):
    build_open_intervals(con, [calendar], date(2024, 1, 1), date(2025, 1, 1))
    assert measure(con, [(calendar.calendar_id, utc(start), utc(end))]) == [minutes]


# Opening/closing times inside a gap or an overlap: the first instant the wall clock shows the time.
EDGE_HOURS = [
    # London 31 Mar 2024: 01:00 GMT jumps to 02:00 BST (01:00 UTC).
    ("Europe/London", date(2024, 3, 31), ("01:00", "03:00"), 60),
    ("Europe/London", date(2024, 3, 31), ("01:30", "03:00"), 60),  # opens at the jump
    ("Europe/London", date(2024, 3, 31), ("01:15", "01:45"), 0),  # never happens
    ("America/New_York", date(2024, 3, 10), ("02:30", "03:30"), 30),  # 03:00-03:30 EDT
    # London 27 Oct 2024: 02:00 BST falls back to 01:00 GMT (01:00 UTC).
    ("Europe/London", date(2024, 10, 27), ("01:30", "03:00"), 150),  # first 01:30, BST
    ("Europe/London", date(2024, 10, 27), ("00:00", "01:30"), 90),  # closes at the first 01:30
    ("Europe/London", date(2024, 10, 27), ("01:00", "02:00"), 120),  # both passes of 01:xx
    # Sao Paulo 4 Nov 2018: midnight jumps to 01:00; the day opens at 01:00 -02 (03:00 UTC).
    ("America/Sao_Paulo", date(2018, 11, 4), ("00:00", "08:00"), 420),
    # Sao Paulo 17 Feb 2018: 24:00 -02 falls back to 23:00 -03, so the day lasts 25 h.
    ("America/Sao_Paulo", date(2018, 2, 17), ("00:00", "24:00"), 1500),
    # Lord Howe 6 Oct 2024: 02:00 jumps to 02:30 (+10:30 -> +11).
    ("Australia/Lord_Howe", date(2024, 10, 6), ("02:00", "03:00"), 30),
    ("Australia/Lord_Howe", date(2024, 10, 6), ("02:10", "02:20"), 0),
    # Lord Howe 7 Apr 2024: 02:00 falls back to 01:30.
    ("Australia/Lord_Howe", date(2024, 4, 7), ("01:30", "02:00"), 60),
]


@pytest.mark.parametrize(("zone", "day", "hours", "minutes"), EDGE_HOURS)
def test_opening_times_in_gaps_and_overlaps(con, zone: str, day: date, hours: tuple[str, str], minutes: int):
    calendar = Calendar("edge", zone, {WEEKDAYS[day.weekday()]: [hours]})
    build_open_intervals(con, [calendar], day - timedelta(days=3), day + timedelta(days=3))
    whole_day = (datetime.combine(day - timedelta(days=1), time(), UTC),
                 datetime.combine(day + timedelta(days=2), time(), UTC))
    assert measure(con, [("edge", *whole_day)]) == [minutes]
    assert oracle([calendar], day - timedelta(days=3), day + timedelta(days=3)).minutes(*whole_day) == minutes


def test_interval_inside_a_gap_leaves_no_row(con):
    calendar = Calendar("gap", "Europe/London", {"sunday": [("01:15", "01:45"), ("08:00", "09:00")]})
    assert build_open_intervals(con, [calendar], date(2024, 3, 31), date(2024, 4, 1)) == 1


def test_next_opening_explains_after_hours_and_holidays(con):
    plain = Calendar("plain", "Europe/London", {day: [("08:00", "17:00")] for day in WEEKDAYS[:5]})
    england = Calendar("england", "Europe/London", {day: [("08:00", "17:00")] for day in WEEKDAYS[:5]},
                       country="GB", subdivision="ENG")
    gap_night = Calendar("gap_night", "Europe/London", {"sunday": [("01:30", "03:00")]})
    build_open_intervals(con, [plain, england, gap_night], date(2024, 3, 1), date(2024, 5, 1))
    assert clock_starts(con, [
        # Opened Fri 17:40 (after hours): clock starts Mon 08:00 BST.
        ("plain", utc("2024-03-22 17:40")),
        ("plain", utc("2024-03-29 17:40")),
        # Opened Thu 17:40 before Easter in England: Good Friday and Easter Monday are closed.
        ("england", utc("2024-03-28 17:40")),
        # Open now: the clock starts at once.
        ("plain", utc("2024-04-02 10:15")),
        # 01:30 is skipped on 31 Mar: the clock starts at the jump, 02:00 BST.
        ("gap_night", utc("2024-03-31 00:30")),
        # Exactly at closing time the calendar is closed.
        ("plain", utc("2024-04-02 16:00")),
    ]) == [
        (utc("2024-03-25 08:00"), False),
        (utc("2024-04-01 07:00"), False),
        (utc("2024-04-02 07:00"), False),
        (utc("2024-04-02 10:15"), True),
        (utc("2024-03-31 01:00"), False),
        (utc("2024-04-03 07:00"), False),
    ]


def test_hours_change_applies_from_its_date_not_to_history(con):
    before = Calendar("desk", "UTC", WEEKDAYS_9_TO_5, valid_to=date(2024, 6, 3))
    after = Calendar("desk", "UTC", {day: [("08:00", "18:00")] for day in WEEKDAYS[:5]},
                     valid_from=date(2024, 6, 3), valid_to=date(2024, 7, 1))
    then_always = Calendar.always_open("desk", "UTC", valid_from=date(2024, 7, 1))
    build_open_intervals(con, [after, before, then_always], date(2024, 5, 1), date(2024, 8, 1))
    assert measure(con, [
        ("desk", utc("2024-05-31 08:00"), utc("2024-05-31 18:00")),  # old hours: 09:00-17:00
        ("desk", utc("2024-06-03 07:00"), utc("2024-06-03 19:00")),  # new hours: 08:00-18:00
        ("desk", utc("2024-05-31 08:00"), utc("2024-06-03 08:30")),  # 480 + 30
        ("desk", utc("2024-06-28 17:00"), utc("2024-07-01 01:00")),  # Fri 17-18, then 24x7 from 1 Jul
    ]) == [480, 600, 510, 60 + 60]


def test_nulls_and_zeros(con):
    build_open_intervals(con, [LONDON_WEEKDAYS], date(2024, 3, 1), date(2024, 4, 1))
    assert measure(con, [
        ("ldn", utc("2024-03-12 12:00"), utc("2024-03-11 12:00")),  # end before start
        ("ldn", utc("2024-03-12 12:00"), utc("2024-03-12 12:00")),  # no time at all
        ("ldn", utc("2024-02-29 12:00"), utc("2024-03-04 12:00")),  # starts before coverage
        ("ldn", utc("2024-03-29 12:00"), utc("2024-04-02 12:00")),  # ends after coverage
        ("ldn", utc("2024-03-01 00:00"), utc("2024-03-31 23:00")),  # exactly the coverage
        ("nowhere", utc("2024-03-11 12:00"), utc("2024-03-12 12:00")),  # unknown calendar
        ("ldn", utc("2024-03-09 09:00"), utc("2024-03-10 17:00")),  # a weekend
    ]) == [None, 0, None, None, 21 * 600, None, 0]
    assert con.execute("SELECT covered_from, covered_to FROM open_intervals_coverage").fetchall() == [
        (utc("2024-03-01 00:00"), utc("2024-03-31 23:00"))]


def test_results_do_not_depend_on_the_session_time_zone():
    calendars = [LONDON_WEEKDAYS, SYDNEY, NY_ALL_DAY]
    pairs = [("ldn", utc("2024-03-29 17:00"), utc("2024-04-01 08:00")),
             ("syd", utc("2024-04-05 05:00"), utc("2024-04-08 00:00")),
             ("ny_all_day", utc("2024-11-03 04:00"), utc("2024-11-04 05:00"))]
    results = []
    for zone in ("UTC", "America/New_York", "Australia/Sydney", "Asia/Kolkata"):
        with duckdb.connect() as connection:
            connection.execute(f"SET TimeZone='{zone}'")
            build_open_intervals(connection, calendars, date(2024, 3, 1), date(2024, 12, 1))
            results.append(measure(connection, pairs))
    assert results == [[120, 120, 1500]] * 4


def test_sql_builder_embeds_in_larger_queries(con):
    build_open_intervals(con, [LONDON_WEEKDAYS], date(2024, 3, 1), date(2024, 5, 1), table="ldn_intervals")
    inner = pairs_sql([("ldn", utc("2024-03-29 17:00"), utc("2024-04-01 08:00"))])
    total = con.execute(f"SELECT sum(business_minutes) FROM ({business_minutes_sql('ldn_intervals', inner)})")
    assert total.fetchall() == [(120.0,)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"weekly_hours": {"monday": [("09:00", "12:00"), ("11:00", "13:00")]}}, "overlaps"),
    ({"weekly_hours": {"monday": [("17:00", "09:00")]}}, "does not end after"),
    ({"weekly_hours": {"monday": [("9:00", "17:00")]}}, "not a time"),
    ({"weekly_hours": {"monday": [("24:00", "24:00")]}}, "does not end after"),
    ({"weekly_hours": {"funday": [("09:00", "17:00")]}}, "unknown weekday"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"subdivision": "CA"}, "needs a country"),
    ({"country": "usa"}, "alpha-2"),
    ({"valid_from": date(2024, 2, 1), "valid_to": date(2024, 1, 1)}, "not after"),
    ({"valid_from": None}, "must be dates"),
    ({"kind": ALWAYS_OPEN, "weekly_hours": WEEKDAYS_9_TO_5}, "takes no weekly hours"),
])
def test_invalid_calendars_are_refused(kwargs: dict, message: str):
    arguments = {"calendar_id": "bad", "timezone": "UTC"} | kwargs
    with pytest.raises(ValueError, match=message):
        Calendar(**arguments)


@pytest.mark.parametrize(("rows", "message"), [
    ([Calendar("c", "UTC", valid_to=date(2024, 2, 1)), Calendar("c", "UTC", valid_from=date(2024, 3, 1))],
     "but the next row starts"),
    ([Calendar("c", "UTC", valid_to=date(2024, 2, 1)),
      Calendar("c", "Europe/Paris", valid_from=date(2024, 2, 1))], "several time zones"),
    ([Calendar("c", "UTC", country="XX")], "no public holidays known"),
])
def test_invalid_calendar_sets_are_refused(con, rows: list[Calendar], message: str):
    with pytest.raises(ValueError, match=message):
        build_open_intervals(con, rows, date(2024, 1, 1), date(2024, 6, 1))


# ---------------------------------------------------------------------------------------------
# Property tests: random calendars, zones, holidays, closures and instants against the oracle.

# Examples per property test: a quarter of the full count by default, so that `make test` keeps
# within its time (the strategies already aim most draws at DST changes, openings and closings);
# MSP_PROPERTY_EXAMPLES=full runs the full counts, e.g. after a change to logic/business_time.py.
FULL_EXAMPLES = os.environ.get("MSP_PROPERTY_EXAMPLES") == "full"


def examples(full: int) -> int:
    """The number of examples a property test runs: `full` or, by default, a quarter of it."""
    return full if FULL_EXAMPLES else max(20, full // 4)


# Zones with DST both hemispheres, midnight changes (Sao Paulo), 30-minute changes (Lord Howe),
# half-hour offsets (Kolkata, St John's) and none; each with dates near its changes.
ZONES = {
    "UTC": [],
    "Asia/Kolkata": [],
    "Europe/London": [date(2024, 3, 31), date(2024, 10, 27), date(2016, 3, 27)],
    "America/New_York": [date(2024, 3, 10), date(2024, 11, 3), date(2015, 11, 1)],
    "Australia/Sydney": [date(2024, 4, 7), date(2024, 10, 6)],
    "America/Sao_Paulo": [date(2017, 10, 15), date(2018, 2, 17), date(2018, 11, 4), date(2019, 2, 16)],
    "Australia/Lord_Howe": [date(2024, 4, 7), date(2024, 10, 6)],
    "America/St_Johns": [date(2024, 3, 10), date(2024, 11, 3)],
}
PLACES = [None, ("US", None), ("US", "CA"), ("GB", "ENG"), ("AU", "NSW"), ("BR", None), ("IN", None)]
# Minutes of the day where DST changes happen, so that opening times land in gaps and overlaps.
EDGY_MINUTES = [0, 30, 60, 75, 90, 100, 120, 135, 150, 180, 1380, 1410, 1440]

# Three draws in four from the edgy minutes (one_of picks its branches evenly).
minute_of_day = st.one_of(*[st.sampled_from(EDGY_MINUTES)] * 3, st.integers(0, 1440))


def _as_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[str, str]]:
    """0-3 ordered, non-overlapping intervals of one day."""
    count = draw(st.integers(0, 3))
    points = sorted(draw(st.lists(minute_of_day, min_size=2 * count, max_size=2 * count, unique=True)))
    return [(_as_hhmm(a), _as_hhmm(b)) for a, b in zip(points[::2], points[1::2], strict=True)]


@st.composite
def weekly_hours(draw: st.DrawFn) -> dict[str, list[tuple[str, str]]]:
    """Hours per weekday; half the time the same every day, so that a change night has hours."""
    if draw(st.booleans()):
        every_day = draw(day_hours())
        return {day: every_day for day in WEEKDAYS}
    return {day: draw(day_hours()) for day in WEEKDAYS}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Calendar], date, date]:
    """One calendar (one to three effective-dated rows) and the local dates to build."""
    zone = draw(st.sampled_from(sorted(ZONES)))
    # Mostly a window around one of the zone's changes, where mistakes hide.
    if ZONES[zone] and draw(st.integers(0, 3)):
        anchor = draw(st.sampled_from(ZONES[zone]))
    else:
        anchor = draw(st.dates(date(2015, 1, 1), date(2025, 12, 1)))
    start = anchor - timedelta(days=draw(st.integers(0, 10)))
    end = anchor + timedelta(days=draw(st.integers(1, 11)))
    days = (end - start).days
    change_days = sorted(draw(st.lists(st.integers(1, max(1, days - 1)), max_size=2, unique=True)))
    bounds = [date(1900, 1, 1) if draw(st.booleans()) else start + timedelta(days=draw(st.integers(0, 1)))]
    bounds += [start + timedelta(days=d) for d in change_days if start + timedelta(days=d) > bounds[0]]
    rows = []
    for i, valid_from in enumerate(bounds):
        always = draw(st.integers(0, 5)) == 0
        place = draw(st.sampled_from(PLACES))
        closures = draw(st.lists(st.integers(0, days), max_size=3))
        # A 24x7 row gets holidays and closures too: it must ignore them.
        rows.append(Calendar(
            "cal", zone, {} if always else draw(weekly_hours()), country=place and place[0],
            subdivision=place and place[1], valid_from=valid_from,
            valid_to=bounds[i + 1] if i + 1 < len(bounds) else None,
            extra_closures=[start + timedelta(days=d) for d in closures],
            kind=ALWAYS_OPEN if always else "hours"))
    return rows, start, end


def instants(truth: Oracle) -> st.SearchStrategy[datetime]:
    """Whole-minute instants in the coverage, often near a DST change or an opening or closing."""
    low, high = truth.covered
    edges = [i for i in range(low + 1, high) if truth.open_minute[i] != truth.open_minute[i - 1]]
    near = [i for i in truth.transitions + edges if low <= i <= high] or [low]
    return st.one_of(st.integers(low, high),
                     st.builds(lambda i, d: min(high, max(low, i + d)),
                               st.sampled_from(near), st.integers(-120, 120))).map(truth.at)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), data=st.data())
def test_business_minutes_match_the_minute_walk(con, scenario, data):
    rows, start, end = scenario
    truth = oracle(rows, start, end)
    for note in truth.notes:
        event(note)
    build_open_intervals(con, rows, start, end)
    low, high = truth.covered
    assert con.execute("SELECT covered_from, covered_to FROM open_intervals_coverage").fetchall() == (
        [(truth.at(low), truth.at(high))] if high > low else [])
    drawn = data.draw(st.lists(st.tuples(instants(truth), instants(truth)), min_size=1, max_size=12))
    pairs = [("cal", *sorted(pair)) for pair in drawn]
    pairs.append(("cal", truth.at(low), truth.at(high)))
    # Outside the coverage and backwards are NULL; the oracle says None for both.
    pairs.append(("cal", truth.at(low - 1), truth.at(high)))
    pairs.append(("cal", pairs[0][2], pairs[0][1] - timedelta(minutes=1)))
    assert measure(con, pairs) == [truth.minutes(a, b) for _, a, b in pairs]


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), data=st.data())
def test_next_opening_matches_the_minute_walk(con, scenario, data):
    rows, start, end = scenario
    truth = oracle(rows, start, end)
    for note in truth.notes:
        event(note)
    build_open_intervals(con, rows, start, end)
    moments = [("cal", at) for at in data.draw(st.lists(instants(truth), min_size=1, max_size=12))]
    moments.append(("cal", truth.at(truth.covered[0] - 1)))
    assert clock_starts(con, moments) == [truth.clock_start(at) for _, at in moments]


@st.composite
def change_nights(draw: st.DrawFn) -> tuple[list[Calendar], date, date]:
    """Every day open only around the change hours, over a few days around one DST change."""
    zone = draw(st.sampled_from([z for z in sorted(ZONES) if ZONES[z]]))
    anchor = draw(st.sampled_from(ZONES[zone]))
    count = draw(st.integers(1, 3))
    points = sorted(draw(st.lists(st.sampled_from(EDGY_MINUTES), min_size=2 * count, max_size=2 * count,
                                  unique=True)))
    night = [(_as_hhmm(a), _as_hhmm(b)) for a, b in zip(points[::2], points[1::2], strict=True)]
    calendar = Calendar("cal", zone, {day: night for day in WEEKDAYS})
    return [calendar], anchor - timedelta(days=2), anchor + timedelta(days=3)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=change_nights(), data=st.data())
def test_night_hours_on_change_nights_match_the_minute_walk(con, scenario, data):
    rows, start, end = scenario
    truth = oracle(rows, start, end)
    for note in truth.notes:
        event(note)
    build_open_intervals(con, rows, start, end)
    drawn = data.draw(st.lists(st.tuples(instants(truth), instants(truth)), min_size=1, max_size=12))
    pairs = [("cal", *sorted(pair)) for pair in drawn] + [("cal", truth.at(truth.covered[0]),
                                                          truth.at(truth.covered[1]))]
    assert measure(con, pairs) == [truth.minutes(a, b) for _, a, b in pairs]
    moments = [("cal", a) for _, a, _ in pairs]
    assert clock_starts(con, moments) == [truth.clock_start(at) for _, at in moments]


@settings(max_examples=examples(100), deadline=None)
@given(zone=st.sampled_from(sorted(ZONES)), day=st.dates(date(2015, 1, 1), date(2025, 12, 1)),
       offsets=st.lists(st.integers(0, 14 * 1440), min_size=2, max_size=2))
def test_always_open_equals_real_elapsed_minutes(con, zone, day, offsets):
    build_open_intervals(con, [Calendar.always_open("always", zone)], day - timedelta(days=2),
                         day + timedelta(days=17))
    origin = datetime.combine(day, time(), UTC)
    a, b = sorted(offsets)
    assert measure(con, [("always", origin + timedelta(minutes=a), origin + timedelta(minutes=b))]) == [b - a]

