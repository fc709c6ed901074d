"""Work-order visit windows: made, stored and shown in local time (settings.TIME_ZONE); overdue visits flagged; the
list of visits to do in next-due order (issue 15 item 7)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from clientwise.service import rules, services
from clientwise.service.models import WorkOrder

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _wo(org, customer, start, *, status="assigned", hours=2) -> WorkOrder:
    wo = services.create_work_order(actor=org.agent, customer_id=customer.pk, kind="repair", address="上海市 1 号",
                                    window_start=start, window_end=start + dt.timedelta(hours=hours),
                                    auto_assign=False)
    WorkOrder.objects.filter(pk=wo.pk).update(status=status)
    wo.refresh_from_db()
    return wo


def test_visit_window_is_local_wall_clock(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    start, end = rules.visit_window(dt.date(2026, 12, 8), 9, 2)
    assert start.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") == "2026-12-08 09:00"
    assert start.astimezone(dt.UTC).hour == 1 and end - start == dt.timedelta(hours=2)
    # An hour outside the visiting day is pulled into it, so no generator can make a night visit.
    assert timezone.localtime(rules.visit_window(dt.date(2026, 12, 8), 23, 2)[1]).hour == 20
    assert timezone.localtime(rules.visit_window(dt.date(2026, 12, 8), 1, 2)[0]).hour == 8
    # The form's proposal is tomorrow morning, local time, at any hour of the night it is asked for.
    late = dt.datetime(2026, 12, 7, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC
    start, _end = rules.next_visit_window(late)
    assert timezone.localtime(start).strftime("%Y-%m-%d %H:%M") == "2026-12-08 09:00"
    assert rules.within_visit_hours(*rules.visit_window(dt.date(2026, 12, 8), 18, 2))
    night = dt.datetime(2026, 12, 8, 0, 0, tzinfo=SHANGHAI)
    assert not rules.within_visit_hours(night, night + dt.timedelta(hours=2))


def test_naive_window_is_local_not_utc(org, desk, customer, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    wo = services.create_work_order(actor=org.agent, customer_id=customer.pk, kind="repair", address="x",
                                    window_start=dt.datetime(2026, 12, 8, 9, 0),
                                    window_end=dt.datetime(2026, 12, 8, 11, 0), auto_assign=False)
    wo.refresh_from_db()
    assert wo.window_start == dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC)
    assert not wo.outside_visit_hours


def test_form_window_is_stored_and_shown_in_local_time(org, desk, customer, web_client, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    c = web_client(org.agent)
    day = timezone.localdate() + dt.timedelta(days=2)
    form = c.get(reverse("service:work_order_new") + f"?customer={customer.pk}").content.decode()
    assert 'T09:00"' in form and 'T12:00"' in form  # the proposal: 09:00-12:00 local
    response = c.post(reverse("service:work_order_new"), {
        "customer": customer.pk, "kind": "install", "address": "上海市 1 号", "city": "上海",
        "window_start": f"{day}T09:00", "window_end": f"{day}T11:00"})
    assert response.status_code == 302
    wo = WorkOrder.objects.get()
    assert timezone.localtime(wo.window_start, SHANGHAI).hour == 9
    assert wo.window_start.astimezone(dt.UTC).hour == 1  # stored in UTC
    page = c.get(reverse("service:work_orders")).content.decode()
    assert f"{day:%Y-%m-%d} 09:00–11:00" in page
    api = c.get(reverse("service:work_order", args=[wo.pk])).content.decode()
    assert f"{day:%Y-%m-%d} 09:00 – {day:%Y-%m-%d} 11:00" in api


def test_overdue_flagged_and_list_in_next_due_order(org, desk, customer, web_client):
    today = timezone.localdate()
    yesterday_start, _e = rules.visit_window(today - dt.timedelta(days=1), 10)
    tomorrow_start, _e = rules.visit_window(today + dt.timedelta(days=1), 10)
    later_start, _e = rules.visit_window(today + dt.timedelta(days=5), 10)
    later = _wo(org, customer, later_start)
    missed = _wo(org, customer, yesterday_start, status="in_progress")
    next_up = _wo(org, customer, tomorrow_start, status="scheduled")
    done = _wo(org, customer, yesterday_start - dt.timedelta(days=1), status="signed_off")
    assert missed.overdue and not next_up.overdue and not later.overdue and not done.overdue
    page = web_client(org.agent).get(reverse("service:work_orders")).content.decode()
    # Not done yet: the missed one first, then by window; the signed-off one is not on the "not done" list.
    positions = [page.index(w.number) for w in (missed, next_up, later)]
    assert positions == sorted(positions) and done.number not in page
    assert page.count("Overdue") == 1
    row = page[page.index(missed.number):page.index(next_up.number)]
    assert "Overdue" in row
    # Every status: most recent window first.
    every = web_client(org.agent).get(reverse("service:work_orders") + "?status=").content.decode()
    assert every.index(later.number) < every.index(next_up.number) < every.index(done.number)


def test_demo_visit_windows_are_in_visiting_hours(org):
    import importlib

    from clientwise.core.extensions import DemoContext
    from clientwise.service import demo_data

    generator = importlib.import_module("clientwise.demo.generator")  # as test_demo_data does (import contract)
    now = dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC)
    result = generator.generate(customers=1500, seed=5, now=now, chunk_size=1500)
    demo_data.generate(DemoContext(seed=5, now=result.now, source="demo", staff=list(result.staff)))
    windows = list(WorkOrder.objects.values_list("window_start", "window_end"))
    assert windows
    assert all(rules.within_visit_hours(s, e) for s, e in windows)


def test_work_order_measures_in_the_pivot_engine(org, desk, customer):
    """The work_orders fact counts what the list shows: visits to do and overdue ones (window passed, not done)."""
    from clientwise.reports import runner

    today = timezone.localdate()
    _wo(org, customer, rules.visit_window(today - dt.timedelta(days=1), 10)[0], status="assigned")  # overdue
    _wo(org, customer, rules.visit_window(today + dt.timedelta(days=1), 10)[0], status="scheduled")
    _wo(org, customer, rules.visit_window(today - dt.timedelta(days=2), 10)[0], status="signed_off")
    result = runner.run_pivot(actor=org.agent, use_cache=False, spec={
        "fact": "work_orders", "measures": ["work_orders", "open_work_orders", "overdue_work_orders"],
        "rows": ["work_order_status"], "date_from": str(today - dt.timedelta(days=7)),
        "date_to": str(today + dt.timedelta(days=7))})
    total = result.cells[-1][0]
    assert (total["work_orders"], total["open_work_orders"], total["overdue_work_orders"]) == (3, 2, 1)
    today_only = runner.run_pivot(actor=org.agent, use_cache=False, spec={
        "fact": "work_orders", "measures": ["work_orders"], "last_days": 1})
    assert today_only.cells[0][0] is None or today_only.cells[0][0]["work_orders"] == 0


def test_overdue_visit_flagged_on_the_call_screen_and_customer_page(org, desk, customer, web_client):
    missed = _wo(org, customer, rules.visit_window(timezone.localdate() - dt.timedelta(days=1), 10)[0])
    c = web_client(org.agent)
    for url in (reverse("service:call", args=[customer.pk]), reverse("customers:detail", args=[customer.pk])):
        page = c.get(url).content.decode()
        row = page[page.index(missed.number):]
        assert "Overdue" in row[:600], url
