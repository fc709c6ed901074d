import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from clientwise.commerce import reference, services
from clientwise.commerce.models import Order, OrderLine, Product, Return, ReturnLine, Store
from clientwise.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from clientwise.core.models import AuditLog
from clientwise.core.testing import row_counts
from clientwise.customers.models import Customer, Interaction

WATCH = ("commerce.Order", "commerce.OrderLine", "commerce.Return", "commerce.ReturnLine", "core.AuditLog",
         "customers.Interaction")


def totals(customer):
    c = Customer.objects.get(pk=customer.pk)
    return c.order_count, c.revenue, c.first_order_at, c.last_order_at


def test_create_order_arithmetic_is_exact_to_the_cent(org, shop, make_order):
    at = timezone.now() - dt.timedelta(days=2)
    order = make_order(lines=[
        {"product_id": shop.phone.pk, "quantity": 1, "unit_price": "3,999.00", "discount": "199.99"},
        {"sku": "CS-1", "quantity": 3, "discount": Decimal("0.01")},  # list price 49.90
        {"product_id": shop.case.pk, "quantity": "2", "unit_price": 0.1},
    ], ordered_at=at, promoter_id=shop.promoter.pk, sales_rep_id=org.rep_a.pk)
    order.refresh_from_db()
    assert order.subtotal == Decimal("4148.90")  # 3999.00 + 149.70 + 0.20
    assert order.discount == Decimal("200.00")
    assert order.amount == Decimal("3948.90")
    assert order.cost == Decimal("2861.75")  # 2800.00 + 3 × 12.35 + 2 × 12.35
    assert order.margin == Decimal("1087.15")
    assert order.line_count == 3
    assert order.status == "completed" and order.currency == "CNY"
    assert order.ordered_at == at
    assert order.number.startswith("SO-")
    lines = list(OrderLine.objects.filter(order=order).order_by("id"))
    assert [(ln.quantity, ln.unit_price, ln.discount, ln.amount, ln.cost) for ln in lines] == [
        (1, Decimal("3999.00"), Decimal("199.99"), Decimal("3799.01"), Decimal("2800.00")),
        (3, Decimal("49.90"), Decimal("0.01"), Decimal("149.69"), Decimal("37.05")),
        (2, Decimal("0.10"), Decimal("0.00"), Decimal("0.20"), Decimal("24.70")),
    ]
    assert {ln.customer_id for ln in lines} == {shop.cust_a.pk}
    assert totals(shop.cust_a) == (1, Decimal("3948.90"), at, at)


def test_create_order_writes_timeline_and_audit(org, shop, make_order):
    order = make_order(number="SO-TEST-1")
    event = Interaction.objects.get(customer=shop.cust_a, kind="purchase")
    assert event.ref_type == "order" and event.ref_id == order.pk
    assert event.subject == "Order SO-TEST-1 · ¥3,999.00"
    assert event.actor == org.rep_a
    assert event.occurred_at == order.ordered_at
    assert event.payload["lines"] == [{"sku": "PH-1", "name": "Phone X", "quantity": 1, "amount": "3999.00"}]
    log = AuditLog.objects.get(action="order.create")
    assert log.object_id == str(order.pk) and log.customer_id == shop.cust_a.pk and log.actor == org.rep_a
    assert log.after["amount"] == "3999.00"


def test_failed_order_writes_nothing(org, shop, make_order):
    before = row_counts(WATCH)
    with pytest.raises(ValidationFailed) as exc:
        make_order(lines=[{"product_id": shop.phone.pk, "quantity": 1},
                          {"product_id": shop.case.pk, "quantity": 0}])
    assert [(e.code, e.field) for e in exc.value.errors] == [("invalid", "lines.1.quantity")]
    assert row_counts(WATCH) == before
    assert totals(shop.cust_a) == (0, Decimal("0.00"), None, None)


@pytest.mark.parametrize("line, code, field", [
    ({"product_id": 999999, "quantity": 1}, "unknown_reference", "lines.0.product_id"),
    ({"sku": "NOPE", "quantity": 1}, "unknown_reference", "lines.0.sku"),
    ({"quantity": 1}, "required", "lines.0.product_id"),
    ({"sku": "OLD-1", "quantity": 1}, "inactive_product", "lines.0.product_id"),
    ({"sku": "PH-1", "quantity": 1.5}, "fractional_quantity", "lines.0.quantity"),  # PH-1 has no unit: whole
    ({"sku": "PH-1", "quantity": "1.0005"}, "invalid", "lines.0.quantity"),  # more than three decimals
    ({"sku": "PH-1", "quantity": -2}, "invalid", "lines.0.quantity"),
    ({"sku": "PH-1", "quantity": True}, "invalid", "lines.0.quantity"),
    ({"sku": "PH-1", "quantity": 1, "unit_price": "-1"}, "invalid_amount", "lines.0.unit_price"),
    ({"sku": "PH-1", "quantity": 1, "unit_price": "abc"}, "invalid_amount", "lines.0.unit_price"),
    ({"sku": "PH-1", "quantity": 1, "discount": "-0.01"}, "invalid_amount", "lines.0.discount"),
    ({"sku": "PH-1", "quantity": 2, "unit_price": "10", "discount": "20.01"}, "discount_too_large",
     "lines.0.discount"),
    ("not a dict", "invalid", "lines.0"),
])
def test_bad_lines_are_refused(org, shop, make_order, line, code, field):
    before = row_counts(WATCH)
    with pytest.raises(ValidationFailed) as exc:
        make_order(lines=[line])
    assert (exc.value.code, exc.value.field) == (code, field)
    assert row_counts(WATCH) == before


def test_discount_equal_to_gross_is_allowed(org, shop, make_order):
    order = make_order(lines=[{"sku": "CS-1", "quantity": 2, "unit_price": "10", "discount": "20.00"}])
    assert order.amount == Decimal("0.00")


@pytest.mark.parametrize("kw, code, field", [
    ({"lines": []}, "required", "lines"),
    ({"store_id": 999999}, "unknown_reference", "store_id"),
    ({"channel_id": 999999}, "unknown_reference", "channel_id"),
    ({"channel_id": None, "channel_code": "nope"}, "unknown_reference", "channel_code"),
    ({"promoter_id": 999999}, "unknown_reference", "promoter_id"),
    ({"sales_rep_id": 999999}, "unknown_reference", "sales_rep_id"),
    ({"ordered_at": "tomorrow-ish"}, "invalid_date", "ordered_at"),
    ({"currency": "XXX"}, "invalid", "currency"),
    ({"number": "bad number with spaces"}, "invalid", "number"),
])
def test_bad_order_fields_are_refused(org, shop, make_order, kw, code, field):
    before = row_counts(WATCH)
    with pytest.raises(ValidationFailed) as exc:
        make_order(**kw)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert row_counts(WATCH) == before


def test_future_order_refused_small_skew_allowed(org, shop, make_order):
    with pytest.raises(ValidationFailed) as exc:
        make_order(ordered_at=timezone.now() + dt.timedelta(hours=1))
    assert exc.value.field == "ordered_at"
    order = make_order(ordered_at=timezone.now() + dt.timedelta(minutes=2))
    assert order.pk


def test_channel_by_code(org, shop, make_order):
    order = make_order(channel_id=None, channel_code="store")
    assert order.channel_id == shop.channel.pk


def test_duplicate_number_is_409(org, shop, make_order):
    make_order(number="SO-1")
    before = row_counts(WATCH)
    with pytest.raises(DomainError) as exc:
        make_order(number="SO-1")
    assert (exc.value.status, exc.value.code, exc.value.field) == (409, "duplicate", "number")
    assert row_counts(WATCH) == before
    assert totals(shop.cust_a)[:2] == (1, Decimal("3999.00"))


def test_reimport_returns_existing_order(org, shop, make_order):
    first = make_order(source="pos", external_id="T-1")
    assert first.was_created is True
    before = row_counts(WATCH)
    again = make_order(source="pos", external_id="T-1", lines=[{"sku": "CS-1", "quantity": 5}])
    assert again.pk == first.pk and again.was_created is False
    assert row_counts(WATCH) == before
    assert totals(shop.cust_a)[:2] == (1, Decimal("3999.00"))
    # Same external id from another source is another order.
    other = make_order(source="web", external_id="T-1")
    assert other.pk != first.pk


def test_reimport_for_another_customer_is_409(org, shop, make_order):
    make_order(source="pos", external_id="T-1")
    with pytest.raises(DomainError) as exc:
        make_order(actor=org.admin, customer=shop.cust_b, source="pos", external_id="T-1")
    assert (exc.value.status, exc.value.field) == (409, "external_id")


def test_rep_cannot_order_for_other_reps_customer(org, shop, make_order):
    before = row_counts(WATCH)
    with pytest.raises(NotFound):
        make_order(actor=org.rep_b, customer=shop.cust_a)
    with pytest.raises(PermissionDenied):
        make_order(actor=org.analyst, customer=shop.cust_a)
    assert row_counts(WATCH) == before


def test_archived_customer_refused(org, shop, make_order):
    from clientwise.customers.services import archive_customer

    archive_customer(actor=org.admin, customer_id=shop.cust_a.pk)
    with pytest.raises(DomainError) as exc:
        make_order()
    assert (exc.value.status, exc.value.code) == (409, "customer_archived")


def test_cancel_moves_totals_back(org, shop, make_order):
    a = make_order(lines=[{"sku": "CS-1", "quantity": 1}])
    make_order(lines=[{"sku": "PH-1", "quantity": 1}])
    assert totals(shop.cust_a)[:2] == (2, Decimal("4048.90"))
    services.cancel_order(actor=org.rep_a, order_id=a.pk, reason="客户改主意")
    a.refresh_from_db()
    assert a.status == "cancelled"
    assert totals(shop.cust_a)[:2] == (1, Decimal("3999.00"))
    event = Interaction.objects.filter(customer=shop.cust_a, ref_type="order", ref_id=a.pk).latest("id")
    assert event.subject == f"Order {a.number} cancelled · ¥49.90" and event.body == "客户改主意"
    log = AuditLog.objects.get(action="order.cancel")
    assert log.after == {"status": "cancelled"} and log.detail["reason"] == "客户改主意"
    before = row_counts(WATCH)
    with pytest.raises(DomainError) as exc:
        services.cancel_order(actor=org.rep_a, order_id=a.pk, reason="again")
    assert (exc.value.status, exc.value.code) == (409, "order_cancelled")
    assert row_counts(WATCH) == before


def test_cancel_recomputes_first_and_last_purchase(org, shop, make_order):
    now = timezone.now().replace(microsecond=0)
    early = make_order(ordered_at=now - dt.timedelta(days=30))
    late = make_order(ordered_at=now - dt.timedelta(days=2))
    assert totals(shop.cust_a)[2:] == (early.ordered_at, late.ordered_at)
    services.cancel_order(actor=org.rep_a, order_id=late.pk, reason="duplicate entry")
    assert totals(shop.cust_a)[2:] == (early.ordered_at, early.ordered_at)
    services.cancel_order(actor=org.rep_a, order_id=early.pk, reason="duplicate entry")
    assert totals(shop.cust_a) == (0, Decimal("0.00"), None, None)


def test_cancel_needs_reason_and_visibility(org, shop, make_order):
    order = make_order()
    with pytest.raises(ValidationFailed):
        services.cancel_order(actor=org.rep_a, order_id=order.pk, reason="  ")
    with pytest.raises(NotFound):
        services.cancel_order(actor=org.rep_b, order_id=order.pk, reason="x")
    with pytest.raises(NotFound):
        services.cancel_order(actor=org.rep_a, order_id="abc", reason="x")
    assert Order.objects.get(pk=order.pk).status == "completed"


def test_returns_are_proportional_and_add_up_exactly(org, shop, make_order):
    order = make_order(lines=[{"sku": "CS-1", "quantity": 3, "unit_price": "10.00", "discount": "0.01"}])
    line = order.lines.get()
    assert line.amount == Decimal("29.99")
    r1 = services.create_return(actor=org.rep_a, order_id=order.pk, lines=[{"order_line_id": line.pk, "quantity": 1}],
                                reason="坏了")
    assert r1.amount == Decimal("10.00")  # 29.99 / 3 = 9.9966… → 10.00
    assert totals(shop.cust_a)[:2] == (1, Decimal("19.99"))
    r2 = services.create_return(actor=org.rep_a, order_id=order.pk, lines=[{"order_line_id": line.pk, "quantity": 2}])
    assert r2.amount == Decimal("19.99")  # what is left, to the cent
    assert totals(shop.cust_a)[:2] == (1, Decimal("0.00"))
    assert list(ReturnLine.objects.order_by("id").values_list("quantity", "amount")) == [
        (1, Decimal("10.00")), (2, Decimal("19.99"))]
    event = Interaction.objects.filter(customer=shop.cust_a, kind="return").order_by("id").first()
    assert event.subject == f"Return on {order.number} · ¥10.00" and event.ref_type == "return"
    assert event.ref_id == r1.pk
    assert AuditLog.objects.filter(action="return.create").count() == 2


def test_over_return_refused(org, shop, make_order):
    order = make_order(lines=[{"sku": "CS-1", "quantity": 2}, {"sku": "PH-1", "quantity": 1}])
    cs, ph = order.lines.order_by("id")
    services.create_return(actor=org.rep_a, order_id=order.pk, lines=[{"order_line_id": cs.pk, "quantity": 1}])
    before = row_counts(WATCH)
    revenue = totals(shop.cust_a)[1]
    with pytest.raises(ValidationFailed) as exc:
        services.create_return(actor=org.rep_a, order_id=order.pk, lines=[
            {"order_line_id": ph.pk, "quantity": 1}, {"order_line_id": cs.pk, "quantity": 2}])
    assert [(e.code, e.field) for e in exc.value.errors] == [("over_return", "lines.1.quantity")]
    assert row_counts(WATCH) == before
    assert totals(shop.cust_a)[1] == revenue


@pytest.mark.parametrize("lines, code, field", [
    ([], "required", "lines"),
    ([{"order_line_id": 999999, "quantity": 1}], "unknown_reference", "lines.0.order_line_id"),
    ([{"order_line_id": None, "quantity": 1}], "required", "lines.0.order_line_id"),
    ([{"order_line_id": "abc", "quantity": 1}], "invalid", "lines.0.order_line_id"),
    ([{"order_line_id": "LINE", "quantity": 0}], "invalid", "lines.0.quantity"),
])
def test_bad_returns_refused(org, shop, make_order, lines, code, field):
    order = make_order()
    line_id = order.lines.get().pk
    lines = [{**ln, "order_line_id": line_id} if ln.get("order_line_id") == "LINE" else ln for ln in lines]
    before = row_counts(WATCH)
    with pytest.raises(ValidationFailed) as exc:
        services.create_return(actor=org.rep_a, order_id=order.pk, lines=lines)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert row_counts(WATCH) == before


def test_return_of_line_from_another_order_refused(org, shop, make_order):
    a = make_order()
    b = make_order()
    with pytest.raises(ValidationFailed) as exc:
        services.create_return(actor=org.rep_a, order_id=a.pk,
                               lines=[{"order_line_id": b.lines.get().pk, "quantity": 1}])
    assert exc.value.field == "lines.0.order_line_id"


def test_cancel_after_partial_return_moves_back_only_what_was_kept(org, shop, make_order):
    order = make_order(lines=[{"sku": "CS-1", "quantity": 2, "unit_price": "50"}])
    services.create_return(actor=org.rep_a, order_id=order.pk,
                           lines=[{"order_line_id": order.lines.get().pk, "quantity": 1}])
    assert totals(shop.cust_a)[:2] == (1, Decimal("50.00"))
    services.cancel_order(actor=org.rep_a, order_id=order.pk, reason="x")
    assert totals(shop.cust_a)[:2] == (0, Decimal("0.00"))
    with pytest.raises(DomainError) as exc:
        services.create_return(actor=org.rep_a, order_id=order.pk,
                               lines=[{"order_line_id": order.lines.get().pk, "quantity": 1}])
    assert exc.value.status == 409


def test_returns_need_permission_and_visibility(org, shop, make_order):
    order = make_order()
    line = order.lines.get()
    before = row_counts(WATCH)
    with pytest.raises(PermissionDenied):
        services.create_return(actor=org.marketer, order_id=order.pk, lines=[{"order_line_id": line.pk, "quantity": 1}])
    with pytest.raises(NotFound):
        services.create_return(actor=org.rep_b, order_id=order.pk, lines=[{"order_line_id": line.pk, "quantity": 1}])
    assert row_counts(WATCH) == before
    assert not Return.objects.exists()


# --- Catalog admin ------------------------------------------------------------------------------------------------


def test_save_product_create_update_and_audit(org, shop):
    p = services.save_product(actor=org.admin, data={
        "sku": "NEW-1", "name": " 新品 ", "category_id": shop.phone.category_id, "list_price": "1,299.5",
        "unit_cost": "800", "attributes": {"network": "5G"}})
    p.refresh_from_db()
    assert (p.sku, p.name, p.list_price, p.unit_cost, p.attributes, p.active) == (
        "NEW-1", "新品", Decimal("1299.50"), Decimal("800.00"), {"network": "5G"}, True)
    services.save_product(actor=org.admin, product_id=p.pk, data={"active": False, "list_price": "999"})
    p.refresh_from_db()
    assert (p.active, p.list_price, p.name) == (False, Decimal("999.00"), "新品")
    log = AuditLog.objects.filter(action="product.update").get()
    assert log.before == {"list_price": "1299.50", "active": True}
    assert log.after == {"list_price": "999.00", "active": False}


@pytest.mark.parametrize("data, code, field", [
    ({"name": "x", "category_id": 1}, "required", "sku"),
    ({"sku": "A B", "name": "x", "category_id": 1}, "invalid", "sku"),
    ({"sku": "A1", "category_id": 1}, "required", "name"),
    ({"sku": "A1", "name": "x"}, "required", "category_id"),
    ({"sku": "A1", "name": "x", "category_id": 999999}, "unknown_reference", "category_id"),
    ({"sku": "A1", "name": "x", "category_id": "CAT", "list_price": "-5"}, "invalid_amount", "list_price"),
    ({"sku": "A1", "name": "x", "category_id": "CAT", "attributes": ["a"]}, "invalid", "attributes"),
])
def test_save_product_validation(org, shop, data, code, field):
    data = {k: (shop.phone.category_id if v == "CAT" else v) for k, v in data.items()}
    count = Product.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.save_product(actor=org.admin, data=data)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert Product.objects.count() == count


def test_save_product_duplicate_sku_and_permission(org, shop):
    with pytest.raises(DomainError) as exc:
        services.save_product(actor=org.admin, data={"sku": "PH-1", "name": "x", "category_id": shop.phone.category_id})
    assert (exc.value.status, exc.value.code) == (409, "duplicate")
    with pytest.raises(PermissionDenied):
        services.save_product(actor=org.manager_a, data={"sku": "Z", "name": "x", "category_id": shop.phone.category_id})
    assert not Product.objects.filter(sku="Z").exists()


def test_store_region_branch_channel_category(org):
    region = reference.save_region(actor=org.admin, data={"code": "EAST", "name": "华东"})
    branch = reference.save_branch(actor=org.admin, data={"code": "SH", "name": "上海分公司", "region_id": region.pk})
    store = services.save_store(actor=org.admin, data={"code": "SH-01", "name": "徐汇店", "branch_id": branch.pk,
                                                        "city": "上海", "opened_on": "2024-03-01"})
    assert (store.branch.region.name, store.opened_on) == ("华东", dt.date(2024, 3, 1))
    services.save_store(actor=org.admin, store_id=store.pk, data={"active": False})
    assert Store.objects.get(pk=store.pk).active is False
    with pytest.raises(ValidationFailed) as exc:
        services.save_store(actor=org.admin, data={"code": "X", "name": "x", "branch_id": branch.pk,
                                                   "urban_rural": "moon"})
    assert exc.value.field == "urban_rural"
    channel = reference.save_channel(actor=org.admin, data={"code": "web", "name": "官网", "kind": "web"})
    assert channel.kind == "web"
    with pytest.raises(ValidationFailed):
        reference.save_channel(actor=org.admin, data={"code": "x", "name": "x", "kind": "fax"})
    parent = reference.save_category(actor=org.admin, data={"code": "PHONE", "name": "手机"})
    child = reference.save_category(actor=org.admin, data={"code": "5G", "name": "5G 手机", "parent_id": parent.pk})
    with pytest.raises(ValidationFailed) as exc:
        reference.save_category(actor=org.admin, category_id=parent.pk, data={"parent_id": child.pk})
    assert exc.value.field == "parent_id"
    assert set(AuditLog.objects.filter(action__in=["region.create", "branch.create", "store.create", "store.update",
                                                   "channel.create", "category.create"])
               .values_list("action", flat=True)) == {"region.create", "branch.create", "store.create",
                                                      "store.update", "channel.create", "category.create"}


def test_create_order_prices_real_shop_lines(org, shop, make_order, settings):
    """Fractions for a unit that allows them, four-decimal prices, the four discount kinds, a paid amount kept with
    its unit price derived; the currency from the settings; a fraction of fuel returned."""
    from clientwise.commerce.models import Unit

    settings.CURRENCY = "HKD"
    litre = Unit.objects.create(code="L", name="litre", fractional=True)
    fuel = Product.objects.create(sku="FUEL", name="Fuel", category=shop.phone.category, unit=litre,
                                  list_price=Decimal("7.89"), unit_cost=Decimal("6.50"))
    order = make_order(lines=[
        {"product_id": fuel.pk, "quantity": "35.27", "amount": "278.28"},
        {"product_id": shop.case.pk, "quantity": 3, "unit_price": "1.6667"},
        {"product_id": shop.phone.pk, "quantity": 1, "discount": "10", "coupon_discount": "20",
         "loyalty_discount": "5.5", "manual_discount": "0.49"},
    ])
    lines = list(OrderLine.objects.filter(order=order).order_by("id").values_list(
        "quantity", "unit_price", "promotion_discount", "coupon_discount", "loyalty_discount", "manual_discount",
        "discount", "amount"))
    assert lines == [
        (Decimal("35.27"), Decimal("7.89"), 0, 0, 0, 0, 0, Decimal("278.28")),
        (Decimal("3"), Decimal("1.6667"), 0, 0, 0, 0, 0, Decimal("5.00")),
        (Decimal("1"), Decimal("3999"), Decimal("10"), Decimal("20"), Decimal("5.5"), Decimal("0.49"),
         Decimal("35.99"), Decimal("3963.01")),
    ]
    order.refresh_from_db()
    assert (order.currency, order.amount, order.discount) == ("HKD", Decimal("4246.29"), Decimal("35.99"))
    payload = Interaction.objects.get(kind="purchase", ref_id=order.pk).payload
    assert [x["quantity"] for x in payload["lines"]] == [35.27, 3, 1]
    with pytest.raises(ValidationFailed) as exc:  # the phone is sold whole
        make_order(lines=[{"product_id": shop.phone.pk, "quantity": "0.5"}])
    assert exc.value.errors[0].code == "fractional_quantity"
    fuel_line = OrderLine.objects.get(order=order, product=fuel)
    ret = services.create_return(actor=org.rep_a, order_id=order.pk, lines=[
        {"order_line_id": fuel_line.pk, "quantity": "10.5"}])
    assert ret.amount == Decimal("82.84")  # 278.28 × 10.5 / 35.27 = 82.8449…
    case_line = OrderLine.objects.get(order=order, product=shop.case)
    with pytest.raises(ValidationFailed) as exc:
        services.create_return(actor=org.rep_a, order_id=order.pk, lines=[
            {"order_line_id": case_line.pk, "quantity": "1.5"}])
    assert exc.value.errors[0].code == "fractional_quantity"
