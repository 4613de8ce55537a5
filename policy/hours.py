"""Business hours and the response clock: weekdays, hours specs, closures, counting events."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import (
    Field,
    field_validator,
)

from policy.base import (
    Strict,
)

WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


Interval = tuple[str, str]


class CountingEvent(Strict):
    """An agent event that counts as the response (acknowledge, review, classify, begin triage)."""

    event_type: str = Field(min_length=1)
    public_only: bool = False
    new_values: list[str] | None = None  # for change events: only these new values count

    @field_validator("event_type")
    @classmethod
    def _lower_type(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("new_values")
    @classmethod
    def _lower_values(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [v.strip().lower() for v in values]


class Closure(Strict):
    date: date
    name: str = Field(min_length=1)


class ResponseRules(Strict):
    """Policy section 5: what starts and stops the response clock, and which priority sets the target."""

    target_priority: Literal["intake", "triage", "final"]
    counting_events: list[CountingEvent] = Field(min_length=1)
    extra_closures: list[Closure] = Field(default_factory=list)


_DAY_ALIASES = {d[:3]: d for d in WEEKDAYS}


def check_intervals(day: str, intervals: list[Interval]) -> None:
    """Raise ValueError unless the day's intervals are HH:MM times, each ending after it starts, in order."""
    previous_end = "00:00"
    for start, end in intervals:
        for t in (start, end):
            if not _HHMM.match(t):
                raise ValueError(f"{day}: '{t}' is not a time HH:MM")
        if not start < end:
            raise ValueError(f"{day}: interval {start}-{end} ends before it starts")
        if start < previous_end:
            raise ValueError(f"{day}: interval {start}-{end} overlaps the one before")
        previous_end = end


def parse_hours_spec(spec: str) -> dict[str, list[Interval]]:
    """Parse contract hours like 'mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00'.

    Days not named are closed. Raises ValueError with the offending part.
    """
    hours: dict[str, list[Interval]] = {d: [] for d in WEEKDAYS}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        days_part, _, times_part = part.partition(" ")
        days = days_part.lower().split("-")
        if any(d[:3] not in _DAY_ALIASES for d in days) or len(days) > 2:
            raise ValueError(f"'{part}': days must look like mon, mon-fri or sat")
        first = WEEKDAYS.index(_DAY_ALIASES[days[0][:3]])
        last = WEEKDAYS.index(_DAY_ALIASES[days[-1][:3]])
        if last < first:
            raise ValueError(f"'{part}': day range runs backwards")
        intervals: list[Interval] = []
        for chunk in filter(None, (c.strip() for c in times_part.split(","))):
            start, sep, end = chunk.partition("-")
            if not sep:
                raise ValueError(f"'{part}': '{chunk}' must look like 08:00-17:00")
            intervals.append((start.strip(), end.strip()))
        for day in WEEKDAYS[first : last + 1]:
            check_intervals(day, intervals)
            hours[day] = intervals
    if not any(hours.values()):
        raise ValueError(f"'{spec}': no opening hours")
    return hours
