"""The home page: renders for every role, and its figures count only the user's visible customers."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from clientwise.core import queries

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager_a", "rep_a", "rep_a2", "rep_b", "agent", "marketer", "analyst", "norole"]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("role", ROLES)
def test_home_renders_for_every_role(org, sales, web_client, role):
    r = web_client(getattr(org, role)).get(reverse("core:home"))
    assert r.status_code == 200
    body = r.content.decode()
    assert "Good " in body
    if role == "norole":
        assert "Your account has no role yet" in body
        assert "figures" not in r.context or r.context.get("figures") is None
        assert 'id="cw-trend"' not in body
    else:
        assert 'id="cw-trend"' in body and "vendor/echarts/dist/echarts.min.js" in body


# (orders today, revenue today, orders last week, revenue last week, buyers today)
EXPECTED = {
    "rep_a": (2, Decimal("4048.90"), 1, Decimal("3999.00"), 1),
    "rep_a2": (1, Decimal("3999.00"), 0, Decimal("0"), 1),
    "rep_b": (1, Decimal("49.90"), 0, Decimal("0"), 1),
    "manager_a": (3, Decimal("8047.90"), 1, Decimal("3999.00"), 2),
    "admin": (4, Decimal("8097.80"), 1, Decimal("3999.00"), 3),
    "analyst": (4, Decimal("8097.80"), 1, Decimal("3999.00"), 3),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_figures_are_scoped_to_visible_customers(org, sales, web_client, role):
    r = web_client(getattr(org, role)).get(reverse("core:home"))
    fig = r.context["figures"]
    orders, revenue, prev_orders, prev_revenue, buyers = EXPECTED[role]
    assert fig["orders"]["value"] == orders
    assert fig["revenue"]["value"] == revenue
    assert fig["orders"]["previous"] == prev_orders
    assert fig["revenue"]["previous"] == prev_revenue
    assert fig["active_customers"]["value"] == buyers
    assert fig["average_order_value"]["value"] == (revenue / orders).quantize(Decimal("0.01"))
    trend = r.context["trend"]
    assert len(trend["days"]) == 30
    assert sum(trend["orders"]) == orders + prev_orders
    assert sum(Decimal(x) for x in trend["revenue"]) == revenue + prev_revenue
    # The chart data is embedded as JSON for ECharts.
    body = r.content.decode()
    embedded = json.loads(body.split('id="cw-trend-data" type="application/json">')[1].split("</script>")[0])
    assert embedded["orders"] == trend["orders"]


def test_rep_page_shows_their_revenue_and_change(org, sales, web_client):
    body = web_client(org.rep_a).get(reverse("core:home")).content.decode()
    assert "¥4,048.90" in body
    assert "1.2%" in body  # 4,048.90 vs 3,999.00 last week
    assert "100.0%" in body  # orders: 2 vs 1


def test_change_against_last_week():
    assert queries._change(Decimal("150"), Decimal("100")) == {
        "previous": Decimal("100"), "delta": Decimal("50"), "pct": 50.0, "direction": 1}
    assert queries._change(3, 0) == {"previous": 0, "delta": 3, "pct": None, "direction": 1}
    assert queries._change(0, 0)["direction"] == 0


def test_customers_in_scope_is_cached_per_scope(org, sales, django_assert_num_queries):
    assert queries.customers_in_scope(org.admin) == 3
    assert queries.customers_in_scope(org.rep_a) == 1
    assert queries.customers_in_scope(org.manager_a) == 2
    assert queries.customers_in_scope(org.norole) is None
    with django_assert_num_queries(0):
        assert queries.customers_in_scope(org.admin) == 3
        assert queries.customers_in_scope(org.analyst) == 3  # same scope, same cached count


def test_recent_activity_shows_only_visible_customers(org, sales):
    names = {row.customer.name for row in queries.recent_activity(org.rep_b)}
    assert names == {"李娜"}
    names = {row.customer.name for row in queries.recent_activity(org.manager_a)}
    assert names == {"张伟", "王芳"}
    rows = queries.recent_activity(org.admin, limit=50)
    assert {row.customer.name for row in rows} == {"张伟", "王芳", "李娜"}
    assert [r.occurred_at for r in rows] == sorted((r.occurred_at for r in rows), reverse=True)
    assert queries.recent_activity(org.norole) == []


def test_recent_activity_leaves_out_old_backdated_rows(org, sales):
    import datetime as dt

    from django.utils import timezone

    from clientwise.customers.services import log_interaction

    log_interaction(actor=org.rep_b, customer_id=sales.cust_b.pk, kind="note", subject="long ago",
                    occurred_at=timezone.now() - dt.timedelta(days=90))
    subjects = [row.subject for row in queries.recent_activity(org.admin, limit=50)]
    assert "long ago" not in subjects and subjects
    assert "long ago" not in [row.subject for row in queries.recent_activity(org.rep_b, limit=50)]


def test_home_recent_activity_on_the_page(org, sales, web_client):
    body = web_client(org.rep_b).get(reverse("core:home")).content.decode()
    assert "李娜" in body and "张伟" not in body


def test_today_is_compared_with_last_week_up_to_the_same_time_of_day(org):
    """At 08:24 today's figures are set against last week's same weekday from 00:00 to 08:24, not its whole day
    (the page was red every morning); a past day is compared whole with whole."""
    import datetime as dt

    from django.utils import timezone

    from clientwise.commerce.services import create_order
    from clientwise.commerce.tests.factories import ProductFactory, StoreFactory
    from clientwise.customers.services import create_customer

    store, product = StoreFactory(), ProductFactory(list_price=Decimal("100.00"))
    customer = create_customer(actor=org.admin, data={"name": "张伟"})
    today = timezone.localdate() - dt.timedelta(days=1)  # a whole past day serves as "today" at 08:24
    at = lambda day, h, m: timezone.make_aware(dt.datetime.combine(day, dt.time(h, m)))  # noqa: E731
    last_week = today - dt.timedelta(days=7)
    for when in (at(today, 8, 0), at(last_week, 7, 0), at(last_week, 20, 0)):
        create_order(actor=org.admin, customer_id=customer.pk, store_id=store.pk, ordered_at=when,
                     lines=[{"product_id": product.pk, "quantity": 1}])
    morning = queries.home_figures(org.admin, now=at(today, 8, 24))
    assert (morning["orders"]["value"], morning["orders"]["previous"], morning["orders"]["pct"]) == (1, 1, 0.0)
    assert morning["until"] == dt.time(8, 24)
    whole = queries.home_figures(org.admin, day=today, now=at(today + dt.timedelta(days=1), 9, 0))
    assert (whole["orders"]["value"], whole["orders"]["previous"], whole["until"]) == (1, 2, None)


def test_the_trend_marks_today_as_partial(org, sales, web_client):
    trend = web_client(org.admin).get(reverse("core:home")).context["trend"]
    assert trend["partial_last"] is True and trend["until"]
    body = web_client(org.admin).get(reverse("core:home")).content.decode()
    assert 'id="cw-kpi-note"' in body and "until" in body


def test_every_timeline_kind_has_an_icon_in_the_feed():
    """The home feed's rows show their kind's picture: a kind without one showed a bare dot (key accounts, work
    orders, opportunities, seen in the smoke suite's screenshots)."""
    from clientwise.core.views import ACTIVITY_ICONS
    from clientwise.customers.models import Interaction

    assert set(Interaction.Kind.values) - set(ACTIVITY_ICONS) == set()
