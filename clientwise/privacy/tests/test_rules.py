"""Pure rules: deadlines, allowed actions, identifier comparison, scrubbing."""

from __future__ import annotations

import datetime as dt

import pytest

from clientwise.privacy import rules
from clientwise.privacy.rules import Deadline


@pytest.mark.parametrize("text,expected", [
    ("15 working days", Deadline(15, "working_days")), ("15wd", Deadline(15, "working_days")),
    (" 1 month ", Deadline(1, "months")), ("1m", Deadline(1, "months")), ("2 months", Deadline(2, "months")),
    ("30 days", Deadline(30, "days")), ("30d", Deadline(30, "days")), ("1 Working Day", Deadline(1, "working_days")),
])
def test_parse_deadline(text, expected):
    assert rules.parse_deadline(text) == expected


@pytest.mark.parametrize("text", ["", "15", "fifteen days", "0 days", "15 weeks", "-3 days", "1000 days"])
def test_parse_deadline_refuses(text):
    with pytest.raises(ValueError):
        rules.parse_deadline(text)


def test_fifteen_working_days_skip_weekends_and_the_day_of_receipt():
    friday = dt.date(2026, 3, 6)
    assert rules.due_date(friday, Deadline(15, "working_days")) == dt.date(2026, 3, 27)  # three weeks later, Friday
    saturday = dt.date(2026, 3, 7)
    assert rules.due_date(saturday, Deadline(1, "working_days")) == dt.date(2026, 3, 9)  # Monday


def test_working_days_follow_a_calendar_with_holidays_and_make_up_days():
    # 2026 National Day: 1-7 October off, Saturday 10 October a make-up working day (调休).
    holidays = {dt.date(2026, 10, d) for d in range(1, 8)}

    def working(day):
        return day == dt.date(2026, 10, 10) or (day not in holidays and day.isoweekday() <= 5)

    assert rules.due_date(dt.date(2026, 9, 30), Deadline(2, "working_days"), working) == dt.date(2026, 10, 9)
    assert rules.due_date(dt.date(2026, 9, 30), Deadline(3, "working_days"), working) == dt.date(2026, 10, 10)
    assert rules.due_date(dt.date(2026, 9, 30), Deadline(4, "working_days"), working) == dt.date(2026, 10, 12)


def test_calendar_days_and_months():
    assert rules.due_date(dt.date(2026, 1, 31), Deadline(1, "months")) == dt.date(2026, 2, 28)
    assert rules.due_date(dt.date(2028, 1, 31), Deadline(1, "months")) == dt.date(2028, 2, 29)
    assert rules.due_date(dt.date(2026, 11, 15), Deadline(2, "months")) == dt.date(2027, 1, 15)
    assert rules.due_date(dt.date(2026, 12, 20), Deadline(30, "days")) == dt.date(2027, 1, 19)


def test_a_calendar_without_working_days_is_an_error():
    with pytest.raises(ValueError):
        rules.due_date(dt.date(2026, 1, 1), Deadline(1, "working_days"), lambda d: False)


def test_overdue_only_while_open_and_after_the_due_day():
    due = dt.date(2026, 3, 27)
    assert not rules.is_overdue("open", due, due)
    assert rules.is_overdue("open", due, due + dt.timedelta(days=1))
    assert rules.is_overdue("in_progress", due, due + dt.timedelta(days=1))
    assert not rules.is_overdue("done", due, due + dt.timedelta(days=9))
    assert not rules.is_overdue("rejected", due, due + dt.timedelta(days=9))


def test_allowed_actions():
    assert rules.allowed_actions("access", "open") == ("start", "export", "reject")
    assert rules.allowed_actions("access", "in_progress", exported=True) == ("export", "complete", "reject")
    assert rules.allowed_actions("access", "done") == ("export",)
    assert rules.allowed_actions("erasure", "in_progress") == ("erase", "reject")
    assert rules.allowed_actions("erasure", "done") == ()
    assert rules.allowed_actions("consent_withdrawal", "open") == ("start", "withdraw_consent", "reject")
    assert rules.allowed_actions("correction", "rejected") == ()


@pytest.mark.parametrize("text,canon", [
    ("+8613812345678", "13812345678"), ("13812345678", "13812345678"), ("138 1234 5678", "13812345678"),
    ("+86 138-1234-5678", "13812345678"), ("008613812345678", "13812345678"), ("021-12345678", "2112345678"),
    ("+86 21 1234 5678", "2112345678"), ("(021) 1234 5678", "2112345678"),
    ("1234", ""), ("abc", ""), ("2026-03-06", ""), ("12.50", ""), ("", ""),
])
def test_canon_phone(text, canon):
    assert rules.canon_phone(text) == canon


def test_scrub_by_key_and_by_value():
    value = {"name": "张三", "kind": "mobile", "nested": {"value": "+8613812345678", "count": 3},
             "note": "客户张三来电", "ids": [1, 2], "empty": "", "none": None}
    out, changed = rules.scrub(value, keys={"name", "value"}, texts={"张三"})
    assert changed
    assert out == {"name": "[erased]", "kind": "mobile", "nested": {"value": "[erased]", "count": 3},
                   "note": "[erased]", "ids": [1, 2], "empty": "", "none": None}
    assert rules.scrub(out, keys={"name", "value"}, texts={"张三"}) == (out, False)
