"""Orders imports of real shops' lines: every line shape stored exactly, the keep-valid line policy with partial
orders and replay into them, void-line policies, and the currency of an order (row, mapping, settings)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal as D
from unittest import mock

import pytest

from clientwise.commerce.models import Order, OrderLine, Product, Unit
from clientwise.core.errors import ValidationFailed
from clientwise.customers.models import Interaction
from clientwise.dataio import services
from clientwise.dataio.models import QuarantinedRow
from clientwise.dataio.tests.helpers import csv_text, run, upload

HEAD = ["单号", "会员号", "下单时间", "货号", "数量", "单价", "折扣", "优惠券", "积分抵扣", "手工折扣", "金额", "币种"]
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


@pytest.fixture
def grocer(org, catalog):
    """A member, fuel by the litre, yoghurt in a multi-buy, and the catalog's P-1 (100.00) and P-2 (20.00)."""
    from clientwise.customers.services import create_customer

    litre = Unit.objects.create(code="L", name="litre", fractional=True)
    Product.objects.create(sku="FUEL", name="Fuel 95", category=catalog["category"], unit=litre,
                           list_price=D("7.89"), unit_cost=D("6.50"))
    Product.objects.create(sku="YOG", name="Yoghurt", category=catalog["category"], list_price=D("1.67"),
                           unit_cost=D("0.90"))
    return create_customer(actor=org.admin, data={"name": "王芳", "member_number": "M1"})


def line(number, sku, qty, price="", promo="", coupon="", loyalty="", manual="", amount="", currency=""):
    return [number, "M1", "2025-03-01 10:00", sku, qty, price, promo, coupon, loyalty, manual, amount, currency]


def imported(org, rows, **options):
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        return run(org.admin, "orders", "pos.csv", csv_text([HEAD, *rows]), options=options or None)


def counts(job) -> tuple[int, int, int, int, int]:
    job.refresh_from_db()
    return job.created, job.updated, job.unchanged, job.rejected, job.skipped


def stored_lines(number: str) -> list[tuple]:
    return list(OrderLine.objects.filter(order__number=number).order_by("id").values_list(
        "product__sku", "quantity", "unit_price", "promotion_discount", "coupon_discount", "loyalty_discount",
        "manual_discount", "discount", "amount", "cost"))


def purchase_payload(order: Order) -> dict:
    return Interaction.objects.get(kind="purchase", ref_type="order", ref_id=order.pk).payload


def test_every_line_shape_is_stored_exactly_on_the_amount_basis(org, grocer):
    job = imported(org, [
        line("T-1", "FUEL", "35.27", "7.89", amount="278.28"),    # fuel by the litre, paid amount
        line("T-1", "YOG", "3", "1.67", amount="5.00"),           # 3 for 5.00
        line("T-1", "P-1", "1", "100", "1.00", "2.00", "0.50", "0.10", amount="96.40"),  # every discount kind
        line("T-1", "P-2", "0"),                                  # a void line (skipped, counted)
        line("T-1", "P-2", "2", "19.999", amount="40.00"),        # a four-decimal price
    ], price_basis="amount")
    assert counts(job) == (4, 0, 0, 0, 1)
    assert stored_lines("T-1") == [
        ("FUEL", D("35.270"), D("7.8900"), 0, 0, 0, 0, 0, D("278.28"), D("229.26")),
        ("YOG", D("3.000"), D("1.6667"), 0, 0, 0, 0, 0, D("5.00"), D("2.70")),
        ("P-1", D("1.000"), D("100.0000"), D("1.00"), D("2.00"), D("0.50"), D("0.10"), D("3.60"), D("96.40"),
         D("60.00")),
        ("P-2", D("2.000"), D("20.0000"), 0, 0, 0, 0, 0, D("40.00"), D("10.00")),
    ]
    order = Order.objects.get(number="T-1")
    assert (order.subtotal, order.discount, order.amount, order.cost, order.line_count, order.missing_lines) == (
        D("423.28"), D("3.60"), D("419.68"), D("301.96"), 4, 0)
    grocer.refresh_from_db()
    assert (grocer.order_count, grocer.revenue) == (1, D("419.68"))
    payload = purchase_payload(order)
    assert (payload["amount"], payload["line_count"]) == ("419.68", 4)
    assert [x["quantity"] for x in payload["lines"]] == [35.27, 3, 1, 2]


def test_unit_price_basis_computes_the_amount_and_checks_a_given_one(org, grocer):
    job = imported(org, [
        line("U-1", "YOG", "3", "1.6667"),                        # 5.0001 → 5.00
        line("U-1", "FUEL", "12.345"),                            # list price 7.89 × 12.345 = 97.40205 → 97.40
        line("U-2", "YOG", "3", "1.67", amount="4.00"),           # 5.01 is not 4.00: amount_mismatch
        line("U-3", "YOG", "1.5"),                                # yoghurt is sold whole: fractional_quantity
    ])
    assert counts(job) == (2, 0, 0, 2, 0)
    assert [(r.row_number, r.field, r.code) for r in QuarantinedRow.objects.filter(job=job).order_by("row_number")] \
        == [(4, "amount", "amount_mismatch"), (5, "quantity", "fractional_quantity")]
    assert [(x[0], x[1], x[8]) for x in stored_lines("U-1")] == [("YOG", D("3"), D("5.00")),
                                                                  ("FUEL", D("12.345"), D("97.40"))]
    assert Order.objects.get(number="U-1").amount == D("102.40")


def test_keep_valid_lines_then_replay_the_fixed_line_into_the_partial_order(org, grocer):
    rows = [line("K-1", "P-1", "1"), line("K-1", "P-404", "2"), line("K-1", "P-2", "3", promo="5")]
    job = imported(org, rows)  # keep_valid is the default line policy
    assert counts(job) == (2, 0, 0, 1, 0)
    order = Order.objects.get(number="K-1")
    assert (order.line_count, order.missing_lines, order.amount, order.partial) == (2, 1, D("155.00"), True)
    grocer.refresh_from_db()
    assert (grocer.order_count, grocer.revenue) == (1, D("155.00"))
    assert purchase_payload(order)["line_count"] == 2
    assert list(QuarantinedRow.objects.filter(job=job).values_list("row_number", "code")) == [
        (3, "unknown_reference")]

    # The error file, fixed (P-404 was P-2) and replayed: the line goes into K-1.
    text = "".join(services.error_rows_csv(actor=org.admin, job_id=job.pk)).lstrip("\ufeff")
    fixed = text.replace("P-404", "P-2")
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        result = services.replay_errors(actor=org.admin, job_id=job.pk, upload=upload("fixed.csv", fixed))
    assert (result.fixed, result.still_failing) == (1, 0)
    assert counts(job) == (3, 0, 0, 0, 0)
    order.refresh_from_db()
    assert (order.line_count, order.missing_lines, order.subtotal, order.discount, order.amount, order.cost) == (
        3, 0, D("200.00"), D("5.00"), D("195.00"), D("85.00"))
    assert order.amount == sum(OrderLine.objects.filter(order=order).values_list("amount", flat=True))
    grocer.refresh_from_db()
    assert (grocer.order_count, grocer.revenue) == (1, D("195.00"))
    payload = purchase_payload(order)
    assert (payload["amount"], payload["line_count"], len(payload["lines"])) == ("195.00", 3, 3)
    assert "195.00" in Interaction.objects.get(kind="purchase", ref_id=order.pk).subject
    assert Interaction.objects.filter(kind="purchase").count() == 1

    # The original file again: the stored lines are unchanged, the bad line is quarantined again, nothing added.
    again = imported(org, rows)
    assert counts(again) == (0, 0, 2, 1, 0)
    order.refresh_from_db()
    assert (order.line_count, order.amount) == (3, D("195.00"))
    # The fixed file as a new import: every line is already there.
    assert counts(imported(org, [rows[0], line("K-1", "P-2", "2"), rows[2]])) == (0, 0, 3, 0, 0)
    # A line the complete order never had is a conflict; it changes nothing.
    extra = imported(org, [*rows[:1], line("K-1", "P-2", "9")], line_policy="keep_valid")
    assert counts(extra) == (0, 0, 0, 2, 0)
    assert set(QuarantinedRow.objects.filter(job=extra).values_list("code", flat=True)) == {"order_conflict"}
    grocer.refresh_from_db()
    assert (grocer.revenue, OrderLine.objects.count()) == (D("195.00"), 3)


def test_a_partial_order_completes_when_its_file_is_imported_again_fixed(org, grocer):
    imported(org, [line("R-1", "P-1", "1"), line("R-1", "P-2", "x")])
    assert Order.objects.get(number="R-1").missing_lines == 1
    job = imported(org, [line("R-1", "P-1", "1"), line("R-1", "P-2", "1")])
    assert counts(job) == (1, 0, 1, 0, 0)
    order = Order.objects.get(number="R-1")
    assert (order.line_count, order.missing_lines, order.amount) == (2, 0, D("120.00"))
    grocer.refresh_from_db()
    assert (grocer.order_count, grocer.revenue) == (1, D("120.00"))


def test_lines_of_a_cancelled_partial_order_are_not_added(org, grocer):
    from clientwise.commerce.services import cancel_order

    imported(org, [line("C-1", "P-1", "1"), line("C-1", "P-2", "x")])
    order = Order.objects.get(number="C-1")
    cancel_order(actor=org.admin, order_id=order.pk, reason="customer left")
    job = imported(org, [line("C-1", "P-1", "1"), line("C-1", "P-2", "1")])
    assert counts(job) == (0, 0, 0, 2, 0)
    assert set(QuarantinedRow.objects.filter(job=job).values_list("code", flat=True)) == {"order_cancelled"}
    assert Order.objects.get(pk=order.pk).line_count == 1


def test_whole_order_policy_takes_nothing_from_an_order_with_a_bad_line(org, grocer):
    job = imported(org, [line("W-1", "P-1", "1"), line("W-1", "P-404", "1"), line("W-2", "P-2", "1")],
                   line_policy="whole_order")
    assert counts(job) == (1, 0, 0, 2, 0)
    assert list(Order.objects.values_list("number", "missing_lines")) == [("W-2", 0)]
    assert list(QuarantinedRow.objects.filter(job=job).order_by("row_number").values_list("code", flat=True)) == [
        "order_incomplete", "unknown_reference"]


@pytest.mark.parametrize(("policy", "expected_counts", "lines", "missing"), [
    ("skip", (1, 0, 0, 0, 1), [("P-1", D("1"))], 0),
    ("keep", (2, 0, 0, 0, 0), [("P-1", D("1")), ("P-2", D("0"))], 0),
    ("quarantine", (1, 0, 0, 1, 0), [("P-1", D("1"))], 1),
])
def test_void_line_policies(org, grocer, policy, expected_counts, lines, missing):
    job = imported(org, [line("V-1", "P-1", "1"), line("V-1", "P-2", "0")], void_lines=policy)
    assert counts(job) == expected_counts
    order = Order.objects.get(number="V-1")
    assert [(x[0], x[1]) for x in stored_lines("V-1")] == lines
    assert (order.amount, order.line_count, order.missing_lines) == (D("100.00"), len(lines), missing)
    if policy == "quarantine":
        assert QuarantinedRow.objects.get(job=job).code == "void_line"


def test_an_order_of_void_lines_only_is_not_created(org, grocer):
    job = imported(org, [line("Z-1", "P-1", "0"), line("Z-1", "P-2", "0")])
    assert counts(job) == (0, 0, 0, 0, 2)
    assert not Order.objects.exists()


def test_currency_per_row_per_mapping_or_from_settings(org, grocer, settings):
    settings.CURRENCY = "USD"
    imported(org, [line("C-USD", "P-1", "1"), line("C-EUR", "P-1", "1", currency="eur")])
    imported(org, [line("C-HKD", "P-1", "1"), line("C-CNY", "P-1", "1", currency="CNY"),
                   line("C-BAD", "P-1", "1", currency="XYZ")], currency="hkd")
    assert dict(Order.objects.values_list("number", "currency")) == {
        "C-USD": "USD", "C-EUR": "EUR", "C-HKD": "HKD", "C-CNY": "CNY"}
    assert QuarantinedRow.objects.get(code="invalid").field == "currency"
    assert purchase_payload(Order.objects.get(number="C-HKD"))["currency"] == "HKD"


def test_order_options_are_checked_and_kept_in_mapping_templates(org, grocer):
    data = csv_text([HEAD, line("O-1", "P-1", "1")])
    mapping = services.suggest_mapping("orders", HEAD)
    for options, field in (({"line_policy": "all"}, "options.line_policy"), ({"void_lines": "drop"},
                           "options.void_lines"), ({"price_basis": "total"}, "options.price_basis"),
                           ({"currency": "XYZ"}, "options.currency")):
        with pytest.raises(ValidationFailed) as exc:
            services.create_job(actor=org.admin, kind="orders", upload=upload("o.csv", data), source="pos",
                                mapping=mapping, options=options)
        assert [e.field for e in exc.value.errors] == [field]
    job = services.create_job(actor=org.admin, kind="orders", upload=upload("o.csv", data), source="pos",
                              mapping=mapping)
    options = {"line_policy": "whole_order", "void_lines": "keep", "price_basis": "amount", "currency": "usd"}
    services.set_mapping(actor=org.admin, job_id=job.pk, mapping=mapping, options=options, save_as="pos export")
    job.refresh_from_db()
    assert job.options == {**options, "currency": "USD"}
    from clientwise.dataio.models import MappingTemplate

    assert MappingTemplate.objects.get(name="pos export").options == {**options, "currency": "USD"}


def test_error_file_of_a_partial_order_lists_only_its_bad_line(org, grocer):
    job = imported(org, [line("E-1", "P-1", "1"), line("E-1", "P-2", "-3")])
    text = "".join(services.error_rows_csv(actor=org.admin, job_id=job.pk)).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert [(r[0], r[3], r[4], r[-3], r[-2]) for r in rows[1:]] == [("E-1", "P-2", "-3", "quantity", "invalid")]
    grocer.refresh_from_db()
    assert grocer.revenue == D("100.00") == Order.objects.get(number="E-1").amount


def test_mapping_page_sets_the_order_options(org, grocer, web_client):
    from clientwise.dataio.models import ImportJob

    c = web_client(org.admin)
    c.post("/data/imports/new/", {"kind": "orders", "source": "pos",
                                  "file": upload("o.csv", csv_text([HEAD, line("P-9", "P-1", "1")]))})
    job = ImportJob.objects.get()
    page = c.get(f"/data/imports/{job.pk}/mapping/").content.decode()
    assert 'name="line_policy"' in page and 'name="void_lines"' in page and 'name="price_basis"' in page
    form = {f"map_{k}": v for k, v in job.mapping.items()}
    r = c.post(f"/data/imports/{job.pk}/mapping/", {**form, "line_policy": "whole_order", "void_lines": "keep",
                                                    "price_basis": "amount", "currency": "usd"})
    assert r.status_code == 302, r.content.decode()[:2000]
    job.refresh_from_db()
    assert {k: job.options[k] for k in ("line_policy", "void_lines", "price_basis", "currency")} == {
        "line_policy": "whole_order", "void_lines": "keep", "price_basis": "amount", "currency": "USD"}
    r = c.post(f"/data/imports/{job.pk}/mapping/", {**form, "void_lines": "drop"})
    assert r.status_code == 422


def test_discount_kinds_without_a_column_are_zero(org, grocer):
    """The import leaves out the columns of discount kinds the file does not have; the database writes 0."""
    head = ["单号", "会员号", "下单时间", "货号", "数量", "折扣"]
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        job = run(org.admin, "orders", "pos.csv", csv_text([head, ["D-1", "M1", "2025-03-01", "P-1", "2", "3.5"],
                                                             ["D-1", "M1", "2025-03-01", "P-2", "1", ""]]))
    assert counts(job) == (2, 0, 0, 0, 0)
    assert stored_lines("D-1") == [
        ("P-1", D("2"), D("100"), D("3.50"), 0, 0, 0, D("3.50"), D("196.50"), D("120.00")),
        ("P-2", D("1"), D("20"), 0, 0, 0, 0, 0, D("20.00"), D("5.00"))]


def test_order_page_shows_fractions_four_decimal_prices_and_a_partial_order(org, grocer, web_client):
    from django.urls import reverse

    imported(org, [line("F-1", "FUEL", "35.27", "7.89", amount="278.28"), line("F-1", "YOG", "3", "1.67",
                                                                            amount="5.00"),
                   line("F-1", "P-404", "1")], price_basis="amount")
    order = Order.objects.get(number="F-1")
    html = web_client(org.admin).get(reverse("commerce:order_detail", args=[order.pk])).content.decode()
    assert "35.27" in html and "35.270" not in html and "¥1.6667" in html
    assert "partial: 1 line missing" in html
