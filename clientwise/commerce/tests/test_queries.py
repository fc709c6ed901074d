import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clientwise.commerce import queries, services
from clientwise.core.errors import NotFound


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def test_visible_orders_and_get_order_for(org, shop, make_order):
    a = make_order()
    b = make_order(actor=org.rep_b, customer=shop.cust_b)
    assert set(queries.visible_orders(org.rep_a)) == {a}
    assert set(queries.visible_orders(org.rep_b)) == {b}
    assert set(queries.visible_orders(org.manager_a)) == {a}  # team A's customers only
    assert set(queries.visible_orders(org.admin)) == {a, b}
    assert list(queries.visible_orders(org.norole)) == []
    assert queries.get_order_for(org.rep_a, a.pk) == a
    for user, pk in [(org.rep_b, a.pk), (org.rep_a, 999999), (org.rep_a, "x"), (org.norole, a.pk)]:
        with pytest.raises(NotFound):
            queries.get_order_for(user, pk)


def test_customer_orders_newest_first_with_store_and_channel(org, shop, make_order):
    now = timezone.now()
    old = make_order(ordered_at=now - dt.timedelta(days=9))
    new = make_order(ordered_at=now - dt.timedelta(days=1))
    make_order(actor=org.rep_b, customer=shop.cust_b)
    with CaptureQueriesContext(connection) as ctx:
        rows = queries.customer_orders(shop.cust_a.pk, limit=20)
        assert [o.pk for o in rows] == [new.pk, old.pk]
        assert [(o.store.name, o.channel.code) for o in rows] == [("徐汇店", "store")] * 2
    assert len(ctx.captured_queries) == 1
    assert [o.pk for o in queries.customer_orders(shop.cust_a.pk, limit=1)] == [new.pk]


def test_key_figures_for_a_day_in_scope(org, shop, make_order):
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    # cust_a: first purchase yesterday, buys again today → active today, not new.
    make_order(ordered_at=_at(yesterday, 10), lines=[{"sku": "CS-1", "quantity": 1}])
    make_order(ordered_at=min(_at(today, 0), timezone.now()), lines=[{"sku": "CS-1", "quantity": 2,
                                                                      "unit_price": "50.05"}])
    # cust_b: first purchase today (rep_b's customer).
    cancelled = make_order(actor=org.rep_b, customer=shop.cust_b, ordered_at=min(_at(today, 0), timezone.now()),
                           lines=[{"sku": "CS-1", "quantity": 1, "unit_price": "10"}])
    make_order(actor=org.rep_b, customer=shop.cust_b, ordered_at=min(_at(today, 0), timezone.now()),
               lines=[{"sku": "PH-1", "quantity": 1}])
    services.cancel_order(actor=org.rep_b, order_id=cancelled.pk, reason="x")
    returned = make_order(ordered_at=_at(yesterday, 11), lines=[{"sku": "CS-1", "quantity": 1, "unit_price": "7"}])
    services.create_return(actor=org.rep_a, order_id=returned.pk,
                           lines=[{"order_line_id": returned.lines.get().pk, "quantity": 1}])
    admin = queries.key_figures(org.admin, today)
    assert {k: admin[k] for k in ("orders", "revenue", "average_order_value", "active_customers",
                                  "new_customers", "currency")} == {
        "orders": 2, "revenue": Decimal("4099.10"), "average_order_value": Decimal("2049.55"),
        "active_customers": 2, "new_customers": 1, "currency": "CNY"}
    rep_a = queries.key_figures(org.rep_a, today)
    assert (rep_a["orders"], rep_a["revenue"], rep_a["new_customers"], rep_a["active_customers"]) == (
        1, Decimal("100.10"), 0, 1)
    assert (rep_a["returns"], admin["returns"], queries.key_figures(org.rep_b, today)["returns"]) == (
        Decimal("7.00"), Decimal("7.00"), Decimal("0.00"))
    y = queries.key_figures(org.rep_a, yesterday)
    assert (y["orders"], y["revenue"], y["new_customers"]) == (2, Decimal("56.90"), 1)
    assert queries.key_figures(org.norole, today)["orders"] == 0
    empty = queries.key_figures(org.admin, today - dt.timedelta(days=30))
    assert (empty["orders"], empty["revenue"], empty["average_order_value"]) == (0, Decimal("0.00"),
                                                                                  Decimal("0.00"))


def test_key_figures_queries_are_bounded_by_the_day(org, shop, make_order):
    make_order()
    with CaptureQueriesContext(connection) as ctx:
        queries.key_figures(org.rep_a, timezone.localdate())
    order_queries = [q["sql"] for q in ctx.captured_queries if '"commerce_order"' in q["sql"]]
    assert order_queries and all('"ordered_at" >=' in sql and '"ordered_at" <' in sql for sql in order_queries)


def test_store_figures_and_month_figures(org, shop, make_order):
    make_order(lines=[{"sku": "CS-1", "quantity": 2}])
    make_order(actor=org.rep_b, customer=shop.cust_b)
    assert queries.store_month_figures(org.admin, [shop.store.pk]) == {
        shop.store.pk: {"orders": 2, "revenue": Decimal("4098.80")}}
    assert queries.store_month_figures(org.rep_a, [shop.store.pk]) == {
        shop.store.pk: {"orders": 1, "revenue": Decimal("99.80")}}
    fig = queries.store_figures(org.admin, shop.store)["this_month"]
    assert (fig["orders"], fig["revenue"], fig["customers"], fig["aov"]) == (
        2, Decimal("4098.80"), 2, Decimal("2049.40"))


def test_order_filters(org, shop, make_order):
    make_order(number="SO-X1", lines=[{"sku": "CS-1", "quantity": 1}])
    big = make_order(number="SO-X2")
    f = queries.OrderFilters(amount_min=Decimal("1000"), store=shop.store.pk, channel=shop.channel.pk,
                             status="completed", customer=shop.cust_a.pk, q="SO-X")
    assert list(queries.order_list(org.admin, f)) == [big]
    # A customer search only matches customers the user can see.
    assert list(queries.order_list(org.rep_b, queries.OrderFilters(q="张伟"))) == []
