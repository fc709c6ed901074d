"""The imports' fast write paths store what the ORM stored: customers and orders written by an import read back
identical to the same records written with bulk_create, and purchase totals move exactly as with one ORM update
per customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest, Least

from clientwise.commerce.models import Order, OrderLine
from clientwise.customers.models import Consent, ContactPoint, Customer, CustomerStats, Interaction
from clientwise.dataio.tests.helpers import csv_text, run

NOW = dt.datetime(2025, 5, 1, 1, 2, 3, 456789, tzinfo=dt.UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def stored(model, pk) -> dict:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {table} WHERE {connection.ops.quote_name(model._meta.pk.column)} = %s", [pk])
        names = [c[0] for c in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
    row.pop(model._meta.pk.column)
    return row


def _totals_with_orm(deltas):
    """apply_purchase_totals_bulk as it was: one ORM update per customer (the reference)."""
    for customer_id, (orders, revenue, first, last) in deltas.items():
        CustomerStats.objects.filter(pk=customer_id).update(
            order_count=F("order_count") + orders, revenue=F("revenue") + revenue,
            first_order_at=Least(Coalesce(F("first_order_at"), first), first),
            last_order_at=Greatest(Coalesce(F("last_order_at"), last), last))


def _pairs(n: int):
    """n pairs of customers in the same state, one for the reference and one for the fast path."""
    early = dt.datetime(2024, 1, 5, 9, 0, tzinfo=dt.UTC)
    late = dt.datetime(2024, 12, 5, 9, 0, 0, 500, tzinfo=dt.UTC)
    states = [dict(), dict(order_count=3, revenue=Decimal("10.10"), first_order_at=early, last_order_at=late),
              dict(order_count=1, revenue=Decimal("0.05"), first_order_at=late, last_order_at=late)]
    out = []
    for i in range(n):
        state = states[i % len(states)]
        pair = (Customer.objects.create(name=f"a{i}"), Customer.objects.create(name=f"a{i}"))
        CustomerStats.objects.filter(pk__in=[c.pk for c in pair]).update(**state)
        out.append(pair)
    return out


@pytest.mark.django_db
def test_purchase_totals_move_as_with_one_orm_update_per_customer(org, django_assert_num_queries):
    from clientwise.customers.services import apply_purchase_totals_bulk

    with mock.patch("django.utils.timezone.now", return_value=NOW):
        pairs = _pairs(6)
    mid = dt.datetime(2024, 6, 1, 12, 30, 15, 123, tzinfo=SHANGHAI)
    deltas = [(1, Decimal("220.00"), mid, mid), (2, Decimal("0.01"), dt.datetime(2023, 1, 1, tzinfo=dt.UTC), mid),
              (5, Decimal("99999.99"), mid, dt.datetime(2025, 1, 1, tzinfo=SHANGHAI)),
              (1, Decimal("1.5"), mid, mid), (1, 3, mid, mid), (4, Decimal("-20.00"), mid, mid)]
    _totals_with_orm({a.pk: d for (a, _b), d in zip(pairs, deltas, strict=True)})
    # Five deltas of one kind in one executemany; the integer revenue goes through the ORM on its own. Every
    # customer has its totals row, so nothing else runs.
    with django_assert_num_queries(2):
        apply_purchase_totals_bulk(deltas={b.pk: d for (_a, b), d in zip(pairs, deltas, strict=True)})
    for a, b in pairs:
        ra, rb = stored(CustomerStats, a.pk), stored(CustomerStats, b.pk)
        assert ra == rb
        b.refresh_from_db()
        assert b.order_count > 0
    assert Customer.objects.get(pk=pairs[0][1].pk).revenue == Decimal("220.00")
    apply_purchase_totals_bulk(deltas={})


@pytest.mark.django_db
def test_purchase_totals_make_a_missing_totals_row_and_lose_no_update(org):
    from clientwise.customers.services import apply_purchase_totals_bulk

    with mock.patch("django.utils.timezone.now", return_value=NOW):
        pairs = _pairs(3)
    mid = dt.datetime(2024, 6, 1, 12, 30, tzinfo=SHANGHAI)
    (_a0, kept), (_a1, lost), (_a2, other) = pairs
    CustomerStats.objects.filter(pk__in=[lost.pk, other.pk]).delete()
    apply_purchase_totals_bulk(deltas={kept.pk: (2, Decimal("10.00"), mid, mid),
                                       lost.pk: (1, Decimal("5.50"), mid, mid),
                                       other.pk: (3, Decimal("7.25"), mid, mid)})
    got = {s.pk: (s.order_count, s.revenue, s.first_order_at, s.last_order_at)
           for s in CustomerStats.objects.filter(pk__in=[kept.pk, lost.pk, other.pk])}
    assert got[lost.pk] == (1, Decimal("5.50"), mid, mid)
    assert got[other.pk] == (3, Decimal("7.25"), mid, mid)
    assert got[kept.pk][:2] == (2, Decimal("10.00"))


CUSTOMERS = [["客户编号", "姓名", "手机", "邮箱", "会员号", "性别", "出生日期", "省", "市", "短信同意"],
             ["C1", "张伟", "13812345678", "ZW@Example.com", "M001", "男", "1990-01-02", "上海", "上海", "是"],
             ["C2", "李娜", "13900001111", "", "M002", "女", "", "", "", ""]]


@pytest.mark.django_db
def test_imported_customer_reads_back_like_an_orm_customer(org):
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        job = run(org.admin, "customers", "c.csv", csv_text(CUSTOMERS))
    assert (job.created, job.rejected) == (2, 0)
    imported = Customer.objects.get(member_number="M001")
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        ref = Customer.objects.bulk_create([Customer(
            name="张伟", name_pinyin="zhangwei", name_initials="zw", member_number="X001", source="pos",
            external_id="X1", owner_id=org.admin.pk, team_id=imported.team_id, custom={},
            gender="m", birth_date=dt.date(1990, 1, 2), province="上海", city="上海", mobile="+8613812345678",
            email="zw@example.com")])[0]
        ContactPoint.objects.bulk_create([
            ContactPoint(customer_id=ref.pk, kind=k, value=val, value_normalized=val, is_primary=True)
            for k, val in (("mobile", "+8613812345678"), ("email", "zw@example.com"))])
        Consent.objects.bulk_create([Consent(customer_id=ref.pk, channel="sms", purpose="marketing", status="granted",
                                             decided_at=NOW, source="import:pos")])
    a, b = stored(Customer, imported.pk), stored(Customer, ref.pk)
    assert (a.pop("member_number"), a.pop("external_id"), b.pop("member_number"), b.pop("external_id")) == (
        "M001", "C1", "X001", "X1")
    assert a == b
    for kind in ("mobile", "email"):
        ca = ContactPoint.objects.get(customer=imported, kind=kind)
        cb = ContactPoint.objects.get(customer=ref, kind=kind)
        a, b = stored(ContactPoint, ca.pk), stored(ContactPoint, cb.pk)
        assert a.pop("customer_id") == imported.pk and b.pop("customer_id") == ref.pk
        assert a == b
    a = stored(Consent, Consent.objects.get(customer=imported).pk)
    b = stored(Consent, Consent.objects.get(customer=ref).pk)
    assert a.pop("customer_id") == imported.pk and b.pop("customer_id") == ref.pk
    assert a == b
    created = Interaction.objects.get(customer=imported, kind="profile")
    assert created.subject == "Customer created" and created.created_at == NOW
    assert created.payload == {"import_job": job.pk, "row": 2, "fields": [
        "birth_date", "city", "consent_sms", "email", "external_id", "gender", "member_number", "mobile", "name",
        "province"], "_subject": {"msgid": "Customer created", "params": {}}}  # read in each reader's language


ORDERS = [["订单号", "客户编号", "门店编码", "下单时间", "商品编码", "数量", "单价"],
          ["SO-1", "C1", "S001", "2025-03-01 10:30", "P-1", "2", ""],
          ["SO-1", "C1", "S001", "2025-03-01 10:30", "P-2", "1", "25.5"]]


@pytest.mark.django_db
def test_imported_order_reads_back_like_an_orm_order(org, catalog):
    run(org.admin, "customers", "c.csv", csv_text(CUSTOMERS))
    cust = Customer.objects.get(member_number="M001")
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        job = run(org.admin, "orders", "o.csv", csv_text(ORDERS))
    assert (job.created, job.rejected) == (2, 0)
    imported = Order.objects.get(number="SO-1")
    at = dt.datetime(2025, 3, 1, 10, 30, tzinfo=SHANGHAI)
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        ref = Order.objects.bulk_create([Order(
            number="SO-X", customer_id=cust.pk, store=catalog["store"], ordered_at=at, currency="CNY",
            subtotal=Decimal("225.50"), discount=Decimal("0.00"), amount=Decimal("225.50"), cost=Decimal("125.00"),
            fx_rate=Decimal(1), base_amount=Decimal("225.50"), line_count=2, source="pos", external_id="SO-X")])[0]
        OrderLine.objects.bulk_create([
            OrderLine(order_id=ref.pk, customer_id=cust.pk, product=catalog["p1"], quantity=2,
                      unit_price=Decimal("100.00"), discount=Decimal("0.00"), amount=Decimal("200.00"),
                      cost=Decimal("120.00")),
            OrderLine(order_id=ref.pk, customer_id=cust.pk, product=catalog["p2"], quantity=1,
                      unit_price=Decimal("25.50"), discount=Decimal("0.00"), amount=Decimal("25.50"),
                      cost=Decimal("5.00"))])
    a, b = stored(Order, imported.pk), stored(Order, ref.pk)
    assert (a.pop("number"), a.pop("external_id"), b.pop("number"), b.pop("external_id")) == (
        "SO-1", "SO-1", "SO-X", "SO-X")
    assert a == b
    lines_a = list(OrderLine.objects.filter(order=imported).order_by("id").values_list("id", flat=True))
    lines_b = list(OrderLine.objects.filter(order=ref).order_by("id").values_list("id", flat=True))
    for la, lb in zip(lines_a, lines_b, strict=True):
        ra, rb = stored(OrderLine, la), stored(OrderLine, lb)
        assert (ra.pop("order_id"), rb.pop("order_id")) == (imported.pk, ref.pk)
        assert ra == rb
    purchase = Interaction.objects.get(kind="purchase", ref_id=imported.pk)
    assert purchase.subject == "Order SO-1 · ¥225.50"
    assert purchase.payload == {
        "number": "SO-1", "amount": "225.50", "currency": "CNY", "line_count": 2, "store": "Nanjing Road",
        "channel": "", "import_job": job.pk,
        "lines": [{"sku": "P-1", "name": "Phone X", "quantity": 2, "amount": "200.00"},
                  {"sku": "P-2", "name": "Case", "quantity": 1, "amount": "25.50"}]}
    cust.refresh_from_db()
    assert (cust.order_count, cust.revenue, cust.first_order_at, cust.last_order_at) == (1, Decimal("225.50"), at, at)


@pytest.mark.django_db
def test_a_default_batch_lists_every_created_id_in_its_audit_row(org):
    from clientwise.core.models import AuditLog

    rows = [["客户编号", "姓名", "会员号"], *([f"C{i}", "张伟", f"M{i:05d}"] for i in range(1200))]
    job = run(org.admin, "customers", "c.csv", csv_text(rows))
    assert job.created == 1200
    batch = AuditLog.objects.get(action="import.batch", object_id=str(job.pk))
    assert sorted(batch.detail["created_ids"]) == sorted(Customer.objects.values_list("id", flat=True))


@pytest.mark.django_db
def test_orders_find_customers_by_mobile_and_refuse_an_ambiguous_one(org, catalog):
    from clientwise.customers.services import create_customer

    one = create_customer(actor=org.admin, data={"name": "张伟"}, mobile="13812345678")
    create_customer(actor=org.admin, data={"name": "李娜"}, mobile="13900001111")
    create_customer(actor=org.admin, data={"name": "李娜二"}, mobile="13900001111")
    data = csv_text([["订单号", "手机", "下单时间", "商品编码", "数量"],
                     ["SO-1", "138 1234 5678", "2025-03-01 10:30", "P-1", "1"],
                     ["SO-2", "13900001111", "2025-03-01 10:30", "P-1", "1"],
                     ["SO-3", "13700000000", "2025-03-01 10:30", "P-1", "1"]])
    job = run(org.admin, "orders", "o.csv", data, mapping={
        "number": "订单号", "customer_mobile": "手机", "ordered_at": "下单时间", "sku": "商品编码", "quantity": "数量"})
    assert (job.created, job.rejected) == (1, 2)
    assert Order.objects.get(number="SO-1").customer_id == one.pk
    from clientwise.dataio.models import QuarantinedRow

    assert list(QuarantinedRow.objects.filter(job=job).order_by("row_number").values_list("row_number", "code")) == [
        (3, "ambiguous_reference"), (4, "unknown_reference")]
