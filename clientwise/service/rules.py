"""Pure rules of field service that the services, the pages, the API and the demo share: when a visit window is,
in whose clock, and when a visit is overdue.

Visit windows are wall-clock times where the technician goes: settings.TIME_ZONE (Asia/Shanghai by default). They
are stored as aware datetimes (UTC in the database) and shown in that zone again; a window given without a zone
(a form's `datetime-local`, an API client sending "2026-12-08T09:00") means local time, never UTC. Anything that
makes windows — the new-work-order form's proposal, the demo, an import — builds them with `visit_window()` from a
local day and hour, so a "09:00–11:00" visit cannot turn into 01:00–03:00 by taking a UTC timestamp's hour.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

# Hours (local) a visit may be booked in by default: the first slot starts at 08:00, the last ends by 20:00.
DEFAULT_VISIT_HOURS = (8, 20)
OPEN_STATUSES = ("scheduled", "assigned", "in_progress")


def visit_hours() -> tuple[int, int]:
    """(first hour, last hour) of the visiting day in local time (settings.SERVICE_VISIT_HOURS)."""
    start, end = getattr(settings, "SERVICE_VISIT_HOURS", DEFAULT_VISIT_HOURS)
    return int(start), int(end)


def local_aware(value: dt.datetime) -> dt.datetime:
    """`value` as an aware datetime: one without a zone is local wall-clock time (settings.TIME_ZONE)."""
    if timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_default_timezone())
    return value


def visit_window(day: dt.date, hour: int, hours: float = 2) -> tuple[dt.datetime, dt.datetime]:
    """The window starting at `hour`:00 local time on `day` and lasting `hours`, as aware datetimes. `hour` is
    clamped into the visiting day so that the window ends by its last hour."""
    first, last = visit_hours()
    length = dt.timedelta(hours=hours)
    latest = max(first, int(last - hours))
    start = dt.datetime.combine(day, dt.time(min(max(hour, first), latest)))
    start = timezone.make_aware(start, timezone.get_default_timezone())
    return start, start + length


def next_visit_window(now: dt.datetime | None = None, hours: float = 3) -> tuple[dt.datetime, dt.datetime]:
    """The window a new work order proposes: tomorrow at the start of the visiting day, local time."""
    today = timezone.localdate(now or timezone.now())
    return visit_window(today + dt.timedelta(days=1), visit_hours()[0] + 1, hours)


def within_visit_hours(start: dt.datetime, end: dt.datetime) -> bool:
    """Whether a window lies inside one local visiting day's hours (for a warning: emergencies may be booked
    outside them)."""
    first, last = visit_hours()
    s, e = timezone.localtime(local_aware(start)), timezone.localtime(local_aware(end))
    if s.date() != e.date() and not (e.date() == s.date() + dt.timedelta(days=1) and e.time() == dt.time(0)):
        return False
    end_hour = 24 if e.date() != s.date() else e.hour + (e.minute or e.second) / 60
    return s.hour >= first and end_hour <= last


def is_overdue(status: str, window_end: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """A visit is overdue once its window has ended and it is still not done (scheduled, assigned or in progress):
    yesterday's unfinished visit is overdue today."""
    return status in OPEN_STATUSES and window_end is not None and window_end <= (now or timezone.now())
