"""Exchange rates: an order's amount in the base currency, captured when it is stored; an order without a rate for
its day waits (in no total) until a rate converts it; rates on the page, in the API and as an import kind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from clientwise.commerce import rules
from clientwise.commerce.models import ExchangeRate, Order, Return
from clientwise.commerce.reference import delete_exchange_rate, save_exchange_rate
from clientwise.commerce.services import cancel_order, create_return, purchase_totals
from clientwise.core.errors import DomainError, PermissionDenied, ValidationFailed
from clientwise.core.models import AuditLog
from clientwise.customers.models import CustomerStats
from clientwise.dataio.tests.helpers import csv_text, run

pytestmark = pytest.mark.django_db
DAY = dt.date(2025, 3, 1)
AT = dt.datetime(2025, 3, 1, 10, 30)  # local time (Asia/Shanghai)


@pytest.fixture(autouse=True)
def import_var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.CURRENCY = "CNY"
    return tmp_path


def stats(customer) -> tuple[int, Decimal]:
    s = CustomerStats.objects.get(pk=customer.pk)
    return s.order_count, s.revenue


def test_rate_rules():
    days = [dt.date(2025, 1, 1), dt.date(2025, 2, 1)]
    rates = [Decimal("7.1"), Decimal("7.2")]
    assert rules.rate_on(days, rates, dt.date(2024, 12, 31), 31) is None  # before the first rate
    assert rules.rate_on(days, rates, dt.date(2025, 1, 31), 31) == Decimal("7.1")
    assert rules.rate_on(days, rates, dt.date(2025, 2, 1), 31) == Decimal("7.2")
    assert rules.rate_on(days, rates, dt.date(2025, 3, 3), 31) == Decimal("7.2")  # 30 days on
    assert rules.rate_on(days, rates, dt.date(2025, 3, 4), 31) is None  # 31 days on: too old
    assert rules.to_base(Decimal("12.00"), Decimal("7.12345678")) == Decimal("85.48")
    assert rules.to_base(Decimal("0.01"), Decimal("0.5")) == Decimal("0.01")  # half up
    assert rules.to_base(Decimal("12.00"), None) is None
    assert rules.parse_rate("7,1") == Decimal("7.1")
    for bad in ("0", "-1", "x", "1.123456789"):
        with pytest.raises(DomainError) as caught:
            rules.parse_rate(bad)
        assert caught.value.code == "invalid"


def test_a_usd_order_with_a_rate_counts_in_the_base_currency(org, shop, make_order):
    save_exchange_rate(actor=org.admin, data={"currency": "usd", "day": "2025-02-20", "rate": "7.1"})
    order = make_order(lines=[{"product_id": shop.case.pk, "quantity": 1, "unit_price": "12.00"}], currency="USD",
                       ordered_at=AT)
    assert (order.currency, order.amount, order.fx_rate, order.base_amount) == (
        "USD", Decimal("12.00"), Decimal("7.1"), Decimal("85.20"))
    assert stats(shop.cust_a) == (1, Decimal("85.20"))  # not 12
    cny = make_order(lines=[{"product_id": shop.case.pk, "quantity": 1}], ordered_at=AT)
    assert (cny.fx_rate, cny.base_amount) == (Decimal(1), Decimal("49.90"))
    assert stats(shop.cust_a) == (2, Decimal("135.10"))
    line = order.lines.get()
    ret = create_return(actor=org.rep_a, order_id=order.pk, lines=[{"order_line_id": line.pk, "quantity": 1}],
                        returned_at=AT + dt.timedelta(days=1))
    assert (ret.amount, ret.base_amount) == (Decimal("12.00"), Decimal("85.20"))
    assert stats(shop.cust_a) == (2, Decimal("49.90"))
    cancel_order(actor=org.rep_a, order_id=cny.pk, reason="wrong")
    assert stats(shop.cust_a)[:2] == (1, Decimal("0.00"))
    assert purchase_totals(customer_id=shop.cust_a.pk)[:2] == stats(shop.cust_a)


def test_an_order_without_a_rate_waits_in_no_total_until_a_rate_converts_it(org, shop, make_order):
    order = make_order(lines=[{"product_id": shop.case.pk, "quantity": 2, "unit_price": "10.00"}], currency="USD",
                       ordered_at=AT)
    assert (order.fx_rate, order.base_amount, order.waiting_for_rate) == (None, None, True)
    assert stats(shop.cust_a) == (0, Decimal("0.00"))  # never counted as 20 of the base currency
    line = order.lines.get()
    ret = create_return(actor=org.rep_a, order_id=order.pk, lines=[{"order_line_id": line.pk, "quantity": 1}],
                        returned_at=AT + dt.timedelta(days=1))
    assert ret.base_amount is None and stats(shop.cust_a) == (0, Decimal("0.00"))
    # A rate for a later day does not cover it; one valid on its day converts it and its return.
    later = save_exchange_rate(actor=org.admin, data={"currency": "USD", "day": "2025-03-05", "rate": "7"})
    assert later.converted == 0
    rate = save_exchange_rate(actor=org.admin, data={"currency": "USD", "day": "2025-02-28", "rate": "7.25"})
    assert rate.converted == 1
    order.refresh_from_db()
    assert (order.fx_rate, order.base_amount) == (Decimal("7.25"), Decimal("145.00"))
    assert Return.objects.get(pk=ret.pk).base_amount == Decimal("72.50")
    assert stats(shop.cust_a) == (1, Decimal("72.50"))
    s = CustomerStats.objects.get(pk=shop.cust_a.pk)
    assert s.first_order_at == s.last_order_at == order.ordered_at
    assert AuditLog.objects.filter(action="exchange_rate.convert_orders", detail__orders=1).count() == 1
    # Orders keep the rate they were converted at: changing or deleting the rate re-values nothing.
    save_exchange_rate(actor=org.admin, data={"rate": "8"}, rate_id=rate.pk)
    delete_exchange_rate(actor=org.admin, rate_id=rate.pk)
    order.refresh_from_db()
    assert order.base_amount == Decimal("145.00") and stats(shop.cust_a) == (1, Decimal("72.50"))


def test_rate_validation_and_permissions(org):
    with pytest.raises(PermissionDenied):
        save_exchange_rate(actor=org.rep_a, data={"currency": "USD", "day": "2025-03-01", "rate": "7"})
    with pytest.raises(ValidationFailed) as caught:
        save_exchange_rate(actor=org.admin, data={"currency": "CNY", "day": "2025-13-01", "rate": "0"})
    assert {(e.field, e.code) for e in caught.value.errors} == {
        ("currency", "invalid"), ("day", "invalid_date"), ("rate", "invalid")}
    save_exchange_rate(actor=org.admin, data={"currency": "EUR", "day": "2025-03-01", "rate": "7.8"})
    with pytest.raises(DomainError) as dup:
        save_exchange_rate(actor=org.admin, data={"currency": "eur", "day": dt.date(2025, 3, 1), "rate": "7.9"})
    assert (dup.value.code, dup.value.field) == ("duplicate", "day")
    assert ExchangeRate.objects.get().rate == Decimal("7.8")


ORDERS = [["订单号", "客户编号", "下单时间", "商品编码", "数量", "单价", "币种"],
          ["U-1", "C1", "2025-03-01 10:30", "P-1", "1", "12.00", "USD"],
          ["U-2", "C1", "2025-03-02 10:30", "P-1", "1", "10.00", "HKD"],
          ["C-1", "C1", "2025-03-02 11:00", "P-1", "1", "5.00", ""]]


def test_the_orders_import_converts_or_stores_waiting_and_a_rates_file_converts_them(org, settings):
    from clientwise.commerce.tests.factories import ProductFactory

    ProductFactory(sku="P-1", name="Thing", list_price=Decimal("5.00"), unit_cost=Decimal("1.00"))
    run(org.admin, "customers", "c.csv", csv_text([["客户编号", "姓名"], ["C1", "张伟"]]))
    save_exchange_rate(actor=org.admin, data={"currency": "USD", "day": "2025-02-01", "rate": "7.2"})
    job = run(org.admin, "orders", "o.csv", csv_text(ORDERS))
    assert (job.created, job.rejected) == (3, 0)
    got = {o.number: (o.fx_rate, o.base_amount) for o in Order.objects.all()}
    assert got == {"U-1": (Decimal("7.2"), Decimal("86.40")), "U-2": (None, None),
                   "C-1": (Decimal(1), Decimal("5.00"))}
    customer = Order.objects.get(number="U-1").customer
    assert stats(customer) == (2, Decimal("91.40"))
    rates = run(org.admin, "exchange_rates", "r.csv", csv_text([
        ["币种", "生效日期", "汇率"], ["HKD", "2025-03-01", "0.92"], ["USD", "2025-02-01", "7.2"],
        ["HKD", "2025-03-01", "0.93"], ["JPY", "2025-03-01", "x"]]))
    assert (rates.created, rates.updated, rates.unchanged, rates.rejected) == (1, 0, 1, 2)
    assert sorted(q.code for q in rates.quarantine.all()) == ["duplicate", "invalid"]
    assert Order.objects.get(number="U-2").base_amount == Decimal("9.20")
    assert stats(customer) == (3, Decimal("100.60"))
    assert purchase_totals(customer_id=customer.pk)[:2] == stats(customer)


def test_exchange_rate_api(org, api_client):
    admin, rep = api_client(org.admin), api_client(org.rep_a)
    url = "/api/v1/exchange-rates"
    assert rep.post(url, {"currency": "USD", "day": "2025-03-01", "rate": "7.1"}).status_code == 403
    created = admin.post(url, {"currency": "USD", "day": "2025-03-01", "rate": "7.10"})
    assert created.status_code == 201
    body = created.json()
    assert (body["currency"], body["rate"], body["base_currency"], body["converted"]) == ("USD", "7.1", "CNY", 0)
    assert rep.get(url).json()[0]["day"] == "2025-03-01"
    bad = admin.post(url, {"currency": "USD", "day": "2025-03-01", "rate": "7.2"})
    assert (bad.status_code, bad.json()["code"]) == (409, "duplicate")
    patched = admin.patch(f"{url}/{body['id']}", {"rate": "7.3"})
    assert patched.json()["rate"] == "7.3"
    assert admin.delete(f"{url}/{body['id']}").status_code == 204
    assert admin.get(f"{url}/{body['id']}").status_code == 404


def test_order_api_shows_the_base_amount(org, shop, make_order, api_client):
    save_exchange_rate(actor=org.admin, data={"currency": "USD", "day": "2025-02-20", "rate": "7.1"})
    order = make_order(lines=[{"product_id": shop.case.pk, "quantity": 1, "unit_price": "12.00"}], currency="USD",
                       ordered_at=AT)
    body = api_client(org.rep_a).get(f"/api/v1/orders/{order.pk}").json()
    assert (body["amount"], body["fx_rate"], body["base_amount"], body["base_currency"]) == (
        "12.00", "7.1", "85.20", "CNY")


def test_rates_page_lists_rates_and_the_orders_waiting(org, shop, make_order, client):
    make_order(lines=[{"product_id": shop.case.pk, "quantity": 1}], currency="HKD", ordered_at=AT)
    save_exchange_rate(actor=org.admin, data={"currency": "USD", "day": "2025-03-01", "rate": "7.1"})
    client.force_login(org.admin)
    page = client.get(reverse("commerce:reference_list", args=["exchange_rates"])).content.decode()
    assert "7.1" in page and "HKD" in page and "2025-03-01" in page
    created = client.post(reverse("commerce:reference_create", args=["exchange_rates"]),
                          {"currency": "HKD", "day": "2025-02-15", "rate": "0.92"})
    assert created.status_code == 302
    assert Order.objects.get(currency="HKD").base_amount == Decimal("45.91")
