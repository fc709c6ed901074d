"""Partial periods: one rule for every chart and comparison that shows figures per day, week, month, quarter or year.

A period is *partial* when the figures cover only part of it, either because it is still going on (it contains
today, in the local time zone) or because the range asked for starts after its first day or ends before its last.
A partial period is never compared with, or drawn next to, whole ones as if it were whole: the home page compares
today up to the same time of day with last week, and charts draw a partial period apart (pale, hollow, labelled
"so far" or "from ..."), never as a drop. `coverage()` is that rule; the home page's trend and the report
engine (reports.runner) both ask it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

GRAINS = ("day", "week", "month", "quarter", "year")


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the `grain` period holding `day` (weeks start on Monday)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"unknown grain {grain!r}")


def period_end(start: dt.date, grain: str) -> dt.date:
    """The last day of the `grain` period starting on `start`."""
    if grain == "day":
        return start
    if grain == "week":
        return start + dt.timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    y, m = divmod(start.month - 1 + months, 12)
    return dt.date(start.year + y, m + 1, 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Coverage:
    """How much of a period the figures cover: `first`..`last` (local days), `running` when it holds today."""

    start: dt.date
    end: dt.date
    first: dt.date
    last: dt.date
    running: bool

    @property
    def partial(self) -> bool:
        return self.running or self.first > self.start or self.last < self.end


def coverage(start: dt.date, grain: str, *, date_from: dt.date | None = None, date_to: dt.date | None = None,
             today: dt.date | None = None) -> Coverage:
    """The part of the period (`grain`, starting on `start`) that figures for the range [date_from, date_to] can
    hold on `today` (local date): days after today have not happened yet, so a period holding today is running."""
    today = today or timezone.localdate()
    end = period_end(start, grain)
    first = max(start, date_from) if date_from else start
    last = min(end, date_to) if date_to else end
    running = start <= today <= end and last >= today
    if running:
        last = today
    return Coverage(start, end, first, last, running)
