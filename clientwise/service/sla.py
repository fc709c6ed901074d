"""SLA arithmetic in business time: opening hours on working days, public holidays off, make-up working days
(调休) on. Pure functions over a `Hours` value; `hours_for(calendar)` builds one from the database.

All arithmetic runs in local time (settings.TIME_ZONE): a working day is a calendar day there, and opening
hours are wall-clock times. Inputs and outputs are timezone-aware datetimes (returned in UTC).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings

from clientwise.service.models import CalendarDay

MAX_DAYS = 3660  # a target that needs more than ten years of working days is a configuration error


@dataclass(frozen=True)
class Hours:
    """Business hours: `opens`-`closes` on working days. A working day is a weekday in `workdays` (ISO,
    1 = Monday) that is not in `holidays`, or any day in `makeup` (make-up working days win over weekends)."""

    opens: dt.time
    closes: dt.time
    workdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    makeup: frozenset[dt.date] = field(default_factory=frozenset)
    tz: str = ""

    def __post_init__(self):
        if self.closes <= self.opens:
            raise ValueError("closing time must be after opening time")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz or settings.TIME_ZONE)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.makeup:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() in self.workdays

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        zone = self.zone
        return (dt.datetime.combine(day, self.opens, tzinfo=zone), dt.datetime.combine(day, self.closes, tzinfo=zone))


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return value


def add_business_minutes(start: dt.datetime, minutes: float, hours: Hours | None) -> dt.datetime:
    """The moment `minutes` of business time after `start`. Without hours the clock runs around the clock.

    Time before opening counts from opening; after closing, from the next working day's opening. A target
    that ends exactly at closing time is due at closing time, not the next morning."""
    _aware(start)
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if hours is None:
        return (start + dt.timedelta(minutes=minutes)).astimezone(dt.UTC)
    remaining = dt.timedelta(minutes=minutes)
    local = start.astimezone(hours.zone)
    day = local.date()
    for _ in range(MAX_DAYS):
        if hours.is_working_day(day):
            opens, closes = hours.window(day)
            begin = max(local, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(dt.UTC)
                remaining -= available
        day += dt.timedelta(days=1)
        local = dt.datetime.combine(day, dt.time(0), tzinfo=hours.zone)
    raise ValueError("SLA target does not fit in the calendar (no working days?)")


def business_minutes_between(start: dt.datetime, end: dt.datetime, hours: Hours | None) -> float:
    """Business minutes from `start` to `end` (0 when end is not after start)."""
    _aware(start), _aware(end)
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds() / 60
    zone = hours.zone
    a, b = start.astimezone(zone), end.astimezone(zone)
    total = dt.timedelta()
    day = a.date()
    while day <= b.date():
        if hours.is_working_day(day):
            opens, closes = hours.window(day)
            lo, hi = max(a, opens), min(b, closes)
            if hi > lo:
                total += hi - lo
        day += dt.timedelta(days=1)
    return total.total_seconds() / 60


def hours_for(calendar) -> Hours | None:
    """The Hours of a BusinessCalendar row (with its holidays and make-up days), or None for "no calendar"."""
    if calendar is None:
        return None

    holidays, makeup = set(), set()
    for day, kind in CalendarDay.objects.filter(calendar_id=calendar.pk).values_list("date", "kind"):
        (holidays if kind == CalendarDay.Kind.HOLIDAY else makeup).add(day)
    return Hours(opens=calendar.opens, closes=calendar.closes,
                 workdays=frozenset(int(c) for c in calendar.workdays if c.isdigit() and 1 <= int(c) <= 7),
                 holidays=frozenset(holidays), makeup=frozenset(makeup))


@dataclass(frozen=True)
class Targets:
    first_response_due: dt.datetime
    resolution_due: dt.datetime
    response_warn_at: dt.datetime
    resolution_warn_at: dt.datetime


def targets(opened_at: dt.datetime, *, first_response_minutes: int, resolution_minutes: int, warn_percent: int,
            hours: Hours | None) -> Targets:
    """Due and warning times of a ticket opened at `opened_at` under a policy."""
    share = max(0, min(100, warn_percent)) / 100
    return Targets(
        first_response_due=add_business_minutes(opened_at, first_response_minutes, hours),
        resolution_due=add_business_minutes(opened_at, resolution_minutes, hours),
        response_warn_at=add_business_minutes(opened_at, first_response_minutes * share, hours),
        resolution_warn_at=add_business_minutes(opened_at, resolution_minutes * share, hours),
    )
