"""Benchmark: business minutes for many (start, end) pairs in DuckDB, against businesstimedelta.

Builds synthetic calendars in many zones (hours, lunch breaks, weekends, holidays, closures, changes
of hours, 24x7) and random ticket pairs in DuckDB, times build_open_intervals and business_minutes,
then computes a sample of the pairs one by one with the businesstimedelta package (on calendars it
can express: one row, no 24x7) and counts mismatches. Not a test: run it by hand.

    .venv/bin/python -m scripts.bench_business_minutes                      # full size
    .venv/bin/python -m scripts.bench_business_minutes --pairs 20000 --sample 500
"""

import argparse
import random
import sys
import time as clock
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    # Run as a plain script too, not only with -m from the project root.
    sys.path.insert(0, str(ROOT))

from logic.business_time import (  # noqa: E402
    ALWAYS_OPEN,
    WEEKDAYS,
    Calendar,
    build_open_intervals,
    business_minutes_sql,
    public_holidays,
)

# (zone, country, subdivision): DST in both hemispheres, half- and quarter-hour offsets, none.
PLACES = [
    ("Europe/London", "GB", "ENG"), ("Europe/Berlin", "DE", "BE"), ("Europe/Paris", "FR", None),
    ("Europe/Dublin", "IE", None), ("America/New_York", "US", "NY"), ("America/Chicago", "US", "IL"),
    ("America/Los_Angeles", "US", "CA"), ("America/St_Johns", "CA", "NL"),
    ("America/Mexico_City", "MX", None), ("America/Sao_Paulo", "BR", "SP"),
    ("Australia/Sydney", "AU", "NSW"), ("Australia/Adelaide", "AU", "SA"),
    ("Pacific/Auckland", "NZ", None), ("Asia/Kolkata", "IN", None), ("Asia/Kathmandu", "NP", None),
    ("Asia/Tokyo", "JP", None), ("Asia/Singapore", "SG", None), ("Asia/Dubai", "AE", None),
    ("Africa/Johannesburg", "ZA", None), ("UTC", None, None),
]
MON_FRI = WEEKDAYS[:5]
TEMPLATES = [
    {day: [("09:00", "17:00")] for day in MON_FRI},
    {day: [("08:00", "12:00"), ("13:00", "18:00")] for day in MON_FRI},
    {day: [("08:30", "17:30")] for day in MON_FRI} | {"saturday": [("09:00", "13:00")]},
    {day: [("07:00", "19:00")] for day in WEEKDAYS},
    {day: [("08:00", "17:00")] for day in ("sunday", "monday", "tuesday", "wednesday", "thursday")},
    {day: [("09:00", "12:30"), ("14:00", "18:00")] for day in MON_FRI},
]


def make_calendars(count: int, start: date, end: date, rng: random.Random) -> list[Calendar]:
    """``count`` calendars: 10% 24x7, 20% with a change of hours, 20% without holidays, some closures."""
    calendars = []
    span = (end - start).days
    for n in range(count):
        calendar_id = f"cal{n:04d}"
        zone, country, subdivision = rng.choice(PLACES)
        if rng.random() < 0.2:
            country = subdivision = None
        if rng.random() < 0.1:
            calendars.append(Calendar.always_open(calendar_id, zone))
            continue
        closures = [start + timedelta(days=rng.randrange(span)) for _ in range(rng.randrange(4))]
        common = {"country": country, "subdivision": subdivision, "extra_closures": closures}
        if rng.random() < 0.2:
            change = start + timedelta(days=rng.randrange(30, span - 30))
            calendars.append(Calendar(calendar_id, zone, rng.choice(TEMPLATES), valid_to=change, **common))
            calendars.append(Calendar(calendar_id, zone, rng.choice(TEMPLATES), valid_from=change, **common))
        else:
            calendars.append(Calendar(calendar_id, zone, rng.choice(TEMPLATES), **common))
    return calendars


# Ticket pairs: uniform creation instants, response delays mostly minutes to days, some weeks.
_PAIRS = """
CREATE OR REPLACE TEMP TABLE bench_pairs AS
SELECT i AS "key",
       'cal' || lpad(CAST(hash(i, $seed) % $calendars AS VARCHAR), 4, '0') AS calendar_id,
       start_at,
       start_at + to_seconds(CAST(least(-ln(1 - random()) * 86400 * 1.5, 45 * 86400) AS BIGINT)) AS end_at
FROM (
    SELECT i, TIMESTAMPTZ '{first}' + to_seconds(CAST(random() * $span_seconds AS BIGINT)) AS start_at
    FROM range($pairs) r(i)
)
"""


def bench_duckdb(con: duckdb.DuckDBPyConnection, calendars: list[Calendar], pairs: int, start: date,
                 end: date, seed: int, repeat: int) -> dict[str, float]:
    """Best of ``repeat`` timings of the interval build and the query on ``pairs`` synthetic pairs."""
    con.execute("SELECT setseed(?)", [seed / 1000]).fetchall()
    # Creation instants leave two days at each end so every zone's coverage holds every pair.
    first = datetime.combine(start + timedelta(days=2), time())
    span_seconds = ((end - start).days - 50) * 86400
    con.execute(_PAIRS.format(first=f"{first.isoformat()}+00"),
                {"seed": seed, "calendars": len({c.calendar_id for c in calendars}),
                 "span_seconds": span_seconds, "pairs": pairs})
    build_times, query_times = [], []
    for _ in range(repeat):
        began = clock.perf_counter()
        intervals = build_open_intervals(con, calendars, start, end)
        built = clock.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE bench_result AS "
                    f"{business_minutes_sql('open_intervals', 'SELECT * FROM bench_pairs')}")
        build_times.append(built - began)
        query_times.append(clock.perf_counter() - built)
    nulls = con.execute("SELECT count(*) FROM bench_result WHERE business_minutes IS NULL").fetchall()[0][0]
    return {"intervals": intervals, "build_s": min(build_times), "query_s": min(query_times), "nulls": nulls}


def _bt_rules(rows: list[Calendar], years: range):
    """businesstimedelta rules for one single-row calendar, or None if it cannot express it."""
    import businesstimedelta as btd
    import pytz

    if len(rows) != 1 or rows[0].kind == ALWAYS_OPEN:
        return None
    calendar = rows[0]
    zone = pytz.timezone(calendar.timezone)
    by_interval: dict[tuple[str, str], list[int]] = {}
    for day, intervals in calendar.weekly_hours.items():
        for interval in intervals:
            by_interval.setdefault(interval, []).append(WEEKDAYS.index(day))
    if any(end == "24:00" for _, end in by_interval):
        return None
    rules = [btd.WorkDayRule(start_time=time.fromisoformat(a), end_time=time.fromisoformat(b),
                             working_days=sorted(days), tz=zone) for (a, b), days in by_interval.items()]
    closed = set(calendar.extra_closures)
    if calendar.country:
        for year in years:
            closed |= {day for day, _ in public_holidays(calendar.country, calendar.subdivision, year)}
    if closed:
        # Its holiday lookup walks day by day to the next holiday and fails after five empty years,
        # so a sentinel after the last pair keeps it going past the last real one.
        rules.append(btd.HolidayRule(closed | {date(years.stop, 12, 31)}, tz=zone))
    return btd.Rules(rules)


def bench_businesstimedelta(con: duckdb.DuckDBPyConnection, calendars: list[Calendar], sample: int,
                            years: range) -> dict[str, float]:
    """Compute ``sample`` pairs one by one with businesstimedelta; time it and count mismatches."""
    try:
        import businesstimedelta  # noqa: F401
    except ImportError:
        sys.exit("businesstimedelta is not installed: .venv/bin/pip install businesstimedelta")
    by_id: dict[str, list[Calendar]] = {}
    for calendar in calendars:
        by_id.setdefault(calendar.calendar_id, []).append(calendar)
    rules = {cid: r for cid, rows in by_id.items() if (r := _bt_rules(rows, years)) is not None}
    rows = con.execute("""
        SELECT p."key", p.calendar_id, p.start_at, p.end_at, r.business_minutes
        FROM bench_pairs p JOIN bench_result r USING ("key")
        WHERE list_contains($ids, p.calendar_id)
        ORDER BY p."key" LIMIT $sample""", {"ids": sorted(rules), "sample": sample}).fetchall()
    mismatches = []
    began = clock.perf_counter()
    for key, calendar_id, start_at, end_at, ours in rows:
        theirs = rules[calendar_id].difference(start_at, end_at).timedelta.total_seconds() / 60
        if abs(theirs - ours) > 1e-6:
            mismatches.append((key, calendar_id, start_at, end_at, ours, theirs))
    elapsed = clock.perf_counter() - began
    return {"sample": len(rows), "calendars": len(rules), "seconds": elapsed, "mismatches": mismatches}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calendars", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=10_000, help="pairs for businesstimedelta (0: skip)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    parser.add_argument("--repeat", type=int, default=3, help="DuckDB runs; the best is reported")
    args = parser.parse_args(argv)

    calendars = make_calendars(args.calendars, args.start, args.end, random.Random(args.seed))
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    if args.threads:
        con.execute(f"SET threads={int(args.threads)}")
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    ours = bench_duckdb(con, calendars, args.pairs, args.start, args.end, args.seed, max(1, args.repeat))
    total = ours["build_s"] + ours["query_s"]
    print(f"duckdb {duckdb.__version__}, {threads} threads, best of {max(1, args.repeat)}; "
          f"{args.calendars} calendars "
          f"({len(calendars)} rows, {len({c.timezone for c in calendars})} zones), "
          f"local dates {args.start} to {args.end}")
    print(f"build_open_intervals: {ours['intervals']:,} intervals in {ours['build_s']:.2f} s")
    print(f"business_minutes: {args.pairs:,} pairs in {ours['query_s']:.2f} s "
          f"= {args.pairs / ours['query_s']:,.0f} pairs/s; with the build {total:.2f} s "
          f"= {args.pairs / total:,.0f} pairs/s; NULL results {ours['nulls']}")
    if args.sample <= 0:
        return
    theirs = bench_businesstimedelta(con, calendars, args.sample,
                                     range(args.start.year, args.end.year + 1))
    rate = theirs["sample"] / theirs["seconds"]
    from importlib.metadata import version

    print(f"businesstimedelta {version('businesstimedelta')}: {theirs['sample']:,} pairs of "
          f"{theirs['calendars']} single-row calendars in {theirs['seconds']:.2f} s = {rate:,.0f} pairs/s; "
          f"{args.pairs:,} pairs would take {args.pairs / rate:,.0f} s")
    print(f"ratio (pairs/s, query only): {args.pairs / ours['query_s'] / rate:,.0f}x; "
          f"with the build: {args.pairs / total / rate:,.0f}x")
    print(f"mismatches on the sample: {len(theirs['mismatches'])}")
    for mismatch in theirs["mismatches"][:20]:
        print("  key={} calendar={} start={} end={} ours={} theirs={}".format(*mismatch))


if __name__ == "__main__":
    main()
