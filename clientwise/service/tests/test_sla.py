"""SLA arithmetic in business time: hours, weekends, holidays, make-up working days, time zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from clientwise.service.sla import Hours, add_business_minutes, business_minutes_between, targets

SH = ZoneInfo("Asia/Shanghai")
# 2026: Oct 1-7 National Day holiday; Sep 27 (Sun) and Oct 10 (Sat) are make-up working days (illustrative).
HOURS = Hours(opens=dt.time(9), closes=dt.time(18), workdays=frozenset({1, 2, 3, 4, 5}),
              holidays=frozenset(dt.date(2026, 10, d) for d in range(1, 8)),
              makeup=frozenset({dt.date(2026, 9, 27), dt.date(2026, 10, 10)}), tz="Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def test_within_one_day():
    assert add_business_minutes(at(2026, 11, 2, 10, 0), 90, HOURS) == at(2026, 11, 2, 11, 30)


def test_ending_exactly_at_closing_time_is_due_at_closing():
    assert add_business_minutes(at(2026, 11, 2, 17, 0), 60, HOURS) == at(2026, 11, 2, 18, 0)


def test_rolls_over_to_next_morning():
    # Mon 17:00 + 2 h: 1 h on Monday, 1 h from Tuesday 09:00.
    assert add_business_minutes(at(2026, 11, 2, 17, 0), 120, HOURS) == at(2026, 11, 3, 10, 0)


def test_before_opening_counts_from_opening():
    assert add_business_minutes(at(2026, 11, 2, 6, 30), 30, HOURS) == at(2026, 11, 2, 9, 30)


def test_after_closing_counts_from_next_working_day():
    assert add_business_minutes(at(2026, 11, 2, 20, 0), 30, HOURS) == at(2026, 11, 3, 9, 30)


def test_weekend_is_skipped():
    # Fri 2026-11-06 16:00 + 4 h = 2 h Friday + 2 h Monday.
    assert add_business_minutes(at(2026, 11, 6, 16, 0), 240, HOURS) == at(2026, 11, 9, 11, 0)
    # Opened on Saturday: the clock starts Monday 09:00.
    assert add_business_minutes(at(2026, 11, 7, 11, 0), 60, HOURS) == at(2026, 11, 9, 10, 0)


def test_public_holidays_are_skipped():
    # Wed 2026-09-30 17:00 + 2 h: 1 h on Sep 30, Oct 1-7 holiday (and the weekend inside it), Oct 8 (Thu) 10:00.
    assert add_business_minutes(at(2026, 9, 30, 17, 0), 120, HOURS) == at(2026, 10, 8, 10, 0)


def test_make_up_working_days_count():
    # Sat 2026-10-10 is a make-up working day: a ticket opened then runs on Saturday.
    assert add_business_minutes(at(2026, 10, 10, 9, 0), 60, HOURS) == at(2026, 10, 10, 10, 0)
    # Fri 2026-09-25 17:00 + 2 h: Sat 26 off, Sun 27 make-up day → Sun 10:00.
    assert add_business_minutes(at(2026, 9, 25, 17, 0), 120, HOURS) == at(2026, 9, 27, 10, 0)


def test_multi_day_target():
    # 3 business days of 9 h = 1620 min from Mon 09:00 → Wed 18:00.
    assert add_business_minutes(at(2026, 11, 2, 9, 0), 1620, HOURS) == at(2026, 11, 4, 18, 0)


def test_without_calendar_the_clock_runs_around_the_clock():
    assert add_business_minutes(at(2026, 11, 7, 23, 0), 120, None) == at(2026, 11, 8, 1, 0)


def test_result_is_utc_and_input_zone_does_not_matter():
    start = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    due = add_business_minutes(start, 60, HOURS)
    assert due.utcoffset() == dt.timedelta(0)
    assert due == at(2026, 11, 2, 11, 0)


def test_business_minutes_between_is_the_inverse():
    start = at(2026, 9, 30, 17, 0)
    for minutes in (0, 1, 59, 60, 61, 540, 541, 1000, 3000):
        end = add_business_minutes(start, minutes, HOURS)
        assert business_minutes_between(start, end, HOURS) == pytest.approx(minutes)
    assert business_minutes_between(at(2026, 11, 6, 17, 0), at(2026, 11, 9, 10, 0), HOURS) == 120
    assert business_minutes_between(at(2026, 11, 9, 10, 0), at(2026, 11, 6, 17, 0), HOURS) == 0


def test_targets_warn_at_a_share_of_the_target():
    t = targets(at(2026, 11, 6, 16, 0), first_response_minutes=60, resolution_minutes=600, warn_percent=80,
                hours=HOURS)
    assert t.first_response_due == at(2026, 11, 6, 17, 0)
    assert t.response_warn_at == at(2026, 11, 6, 16, 48)
    # 600 min: 120 on Friday, 480 on Monday (09:00-17:00).
    assert t.resolution_due == at(2026, 11, 9, 17, 0)
    assert t.resolution_warn_at == at(2026, 11, 9, 15, 0)  # 480 min = 120 Fri + 360 Mon


def test_bad_input():
    with pytest.raises(ValueError):
        add_business_minutes(dt.datetime(2026, 11, 2, 10), 10, HOURS)  # naive
    with pytest.raises(ValueError):
        add_business_minutes(at(2026, 11, 2, 10), -1, HOURS)
    with pytest.raises(ValueError):
        Hours(opens=dt.time(18), closes=dt.time(9))
    never = Hours(opens=dt.time(9), closes=dt.time(18), workdays=frozenset())
    with pytest.raises(ValueError):
        add_business_minutes(at(2026, 11, 2, 10), 10, never)


@pytest.mark.django_db
def test_hours_for_reads_holidays_and_make_up_days():
    from clientwise.service.models import BusinessCalendar, CalendarDay
    from clientwise.service.sla import hours_for

    cal = BusinessCalendar.objects.create(name="CN", opens=dt.time(9), closes=dt.time(18), workdays="12345")
    CalendarDay.objects.create(calendar=cal, date=dt.date(2026, 10, 1), kind="holiday", name="国庆节")
    CalendarDay.objects.create(calendar=cal, date=dt.date(2026, 10, 10), kind="workday", name="调休")
    hours = hours_for(cal)
    assert not hours.is_working_day(dt.date(2026, 10, 1))
    assert hours.is_working_day(dt.date(2026, 10, 10))
    assert not hours.is_working_day(dt.date(2026, 10, 11))
    assert hours_for(None) is None
