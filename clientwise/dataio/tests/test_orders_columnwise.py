"""The column-wise order handler answers every line exactly as the per-row handler did (tests/reference_orders.py):
same outcome, same errors (field, code, message, in the same order) and the same stored orders, lines, totals and
timeline rows, on a file full of the cases that go wrong, split into small batches, through the file path
(rows as read) and the Row path (previews, replays, grids)."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from unittest import mock

import pytest

from clientwise.commerce.imports import orders as order_imports
from clientwise.commerce.models import Order, OrderLine
from clientwise.customers.models import ContactPoint, Customer, CustomerStats, Interaction
from clientwise.dataio import handlers, services
from clientwise.dataio.models import QuarantinedRow
from clientwise.dataio.tests.helpers import csv_text, run
from clientwise.dataio.tests.reference_orders import ReferenceOrderHandler

HEAD = ["订单号", "外部编号", "会员号", "手机", "门店编码", "下单时间", "商品编码", "数量", "单价", "折扣", "优惠券",
        "积分抵扣", "手工折扣", "金额", "币种"]
MAPPING = {"number": "订单号", "external_id": "外部编号", "customer_member_number": "会员号",
           "customer_mobile": "手机", "store": "门店编码", "ordered_at": "下单时间", "sku": "商品编码",
           "quantity": "数量", "unit_price": "单价", "discount": "折扣", "coupon_discount": "优惠券",
           "loyalty_discount": "积分抵扣", "manual_discount": "手工折扣", "amount": "金额", "currency": "币种"}
# The options of the runs compared: every line policy, void policy and price basis, and a mapping's currency.
OPTION_SETS = [
    {},  # keep the valid lines, skip void lines, unit price basis, settings.CURRENCY
    {"line_policy": "whole_order", "void_lines": "keep"},
    {"void_lines": "quarantine", "price_basis": "amount", "currency": "HKD"},
    {"line_policy": "whole_order", "price_basis": "amount", "void_lines": "keep"},
]


@pytest.fixture
def shapes(catalog):
    """Products of the real-world line shapes: fuel sold by the litre (fractions allowed) and a multi-buy item."""
    from decimal import Decimal

    from clientwise.commerce.models import Product, Unit

    litre = Unit.objects.create(code="L", name="litre", fractional=True)
    piece = Unit.objects.create(code="pc", name="piece", fractional=False)
    fuel = Product.objects.create(sku="P-FUEL", name="Fuel 95", category=catalog["category"], unit=litre,
                                  list_price=Decimal("7.89"), unit_cost=Decimal("6.5"))
    multi = Product.objects.create(sku="P-MB", name="Yoghurt", category=catalog["category"], unit=piece,
                                   list_price=Decimal("1.67"), unit_cost=Decimal("0.9"))
    return fuel, multi


@pytest.fixture
def people(org, shapes):
    from clientwise.customers.services import create_customer

    a = create_customer(actor=org.admin, data={"name": "甲", "member_number": "M1"}, mobile="13800000001")
    b = create_customer(actor=org.admin, data={"name": "乙", "member_number": "M2"}, mobile="13800000002")
    c = create_customer(actor=org.admin, data={"name": "丙", "member_number": "M3"}, mobile="13800000003")
    # Two customers share a mobile (ambiguous); one is archived.
    ContactPoint.objects.create(customer=c, kind="mobile", value="+8613800000002", value_normalized="+8613800000002")
    Customer.objects.filter(pk=c.pk).update(archived_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    return a, b, c


# (SKU, quantity, unit price, amount) of good lines: whole and fractional quantities, list prices, four-decimal
# and multi-buy prices (3 for 5.00), fuel by the litre with its paid amount, void lines.
LINE_SHAPES = [("P-1", "1", "", ""), ("P-2", "2", "10", ""), ("P-2", "3", "25.5", ""), ("P-1", "1,000", "", ""),
               ("P-2", "1", "¥1,234.50", ""), ("P-2", "1", "20", "20"), ("P-FUEL", "35.27", "7.89", "278.28"),
               ("P-FUEL", "0.5", "", ""), ("P-FUEL", "12.345", "", "97.40"), ("P-MB", "3", "1.6667", "5.00"),
               ("P-MB", "3", "1.67", "5.00"), ("P-MB", "2", "", ""), ("P-2", "0", "", ""), ("P-MB", "0", "", "0")]


def lines(seed: int, orders: int = 160) -> list[list[str]]:
    rng = random.Random(seed)

    def pick(good: list, bad: list, share: float = 0.05):
        return rng.choice(bad if rng.random() < share else good)

    out = []
    for o in range(orders):
        number = pick([f"SO-{o}"] * 4 + [f"SO-{rng.randrange(o + 1)}"], ["", "bad number!", "X" * 41])
        ext = pick(["", "", f"E-{o}"], ["E" * 101])
        who = pick([("M1", ""), ("M2", ""), ("", "13800000001"), ("M2", "13800000001")],
                   [("", "138 0000 0002"), ("M3", ""), ("M404", ""), ("", ""), ("", "12345")], 0.12)
        when = pick(["2025-03-01 10:30", "2025/3/2 9:05", "2025-03-03", "2025年3月4日", "2025-03-05T08:00:00+00:00"],
                    ["2099-01-01", "1980-01-01", "2025/13/02", ""])
        store = pick(["S001", "", ""], ["S999"])
        currency = pick(["", "", "usd", "hkd"], ["XXX"])
        for _ln in range(rng.choice([1, 1, 2, 3, 4])):
            sku, qty, price, amount = rng.choice(LINE_SHAPES)
            sku = pick([sku], ["P-OLD", "P-404", "", "P" * 41, "P-2"], 0.03)  # P-2 by 0.5 or 35.27: a fraction
            qty = pick([qty], ["x", "", "2000000", "-1", "1.2345"], 0.03)
            price = pick([price], ["abc", "-5", "1.99"], 0.03)
            amount = pick([amount], ["200.00", "11", "-1"], 0.03)
            discounts = [pick(["", "", "", "", "", "5", "0.50"] if not amount else [""], ["500"], 0.01)
                         for _kind in range(4)]
            row_who = who if rng.random() > 0.03 else ("M1", "")
            out.append([number, ext, *row_who, store, when, sku, qty, price, *discounts, amount, currency])
    return out


def snapshot(job) -> dict:
    job.refresh_from_db()
    return {
        "counts": (job.created, job.updated, job.unchanged, job.rejected, job.skipped),
        "quarantine": list(QuarantinedRow.objects.filter(job=job).order_by("row_number").values_list(
            "row_number", "field", "code", "message", "errors", "raw")),
        "orders": sorted(Order.objects.values_list("number", "customer__member_number", "store__code", "ordered_at",
                                                   "currency", "subtotal", "discount", "amount", "cost", "line_count",
                                                   "missing_lines", "source", "external_id")),
        "lines": sorted(OrderLine.objects.values_list("order__number", "customer_id", "product__sku",
                                                      "quantity", "unit_price", "promotion_discount",
                                                      "coupon_discount", "loyalty_discount", "manual_discount",
                                                      "discount", "amount", "cost")),
        "totals": sorted(Customer.objects.values_list("member_number", "stats__order_count", "stats__revenue",
                                                      "stats__first_order_at", "stats__last_order_at")),
        "timeline": sorted(Interaction.objects.filter(kind="purchase").values_list(
            "customer__member_number", "subject", "occurred_at", "payload")),
        "payload_text": payload_texts(),
    }


def payload_texts() -> list[str]:
    """The purchase rows' payloads as stored (SQLite: the JSON text, byte for byte; PostgreSQL keeps jsonb, so
    there the text PostgreSQL prints), the import job's id written as JOB."""
    import re

    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT payload FROM customers_interaction WHERE kind = 'purchase'")
        texts = [r[0] if isinstance(r[0], str) else json.dumps(r[0]) for r in cur.fetchall()]
    return sorted(re.sub(r'"import_job": \d+', '"import_job": JOB', t) for t in texts)


def reset() -> None:
    Interaction.objects.filter(kind="purchase").delete()
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    CustomerStats.objects.update(order_count=0, revenue=0, first_order_at=None, last_order_at=None)


def _strip_job(snap: dict) -> dict:
    snap = dict(snap)
    snap["timeline"] = [(*t[:3], {k: v for k, v in t[3].items() if k != "import_job"}) for t in snap["timeline"]]
    return snap


@pytest.mark.django_db
@pytest.mark.parametrize(("seed", "options"), [(1, OPTION_SETS[0]), (2, OPTION_SETS[1]), (3, OPTION_SETS[2]),
                                               (9, OPTION_SETS[3])])
def test_column_wise_orders_answer_like_the_per_row_handler(org, catalog, people, seed, options):
    data = csv_text([HEAD, *lines(seed)])
    options = {"batch_size": 7, **options}
    with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)):
        fast = run(org.admin, "orders", "o.csv", data, mapping=MAPPING, options=options)
        fast_state = _strip_job(snapshot(fast))
        again = snapshot(run(org.admin, "orders", "o.csv", data, mapping=MAPPING, options=options))
        reset()
        with mock.patch.dict(handlers.HANDLERS, {"orders": ReferenceOrderHandler}):
            slow = run(org.admin, "orders", "o.csv", data, mapping=MAPPING, options=options)
            slow_state = _strip_job(snapshot(slow))
            slow_again = snapshot(run(org.admin, "orders", "o.csv", data, mapping=MAPPING, options=options))
    assert fast_state["counts"][0] > 60 and fast_state["counts"][3] > 60  # both kinds of outcome are exercised
    assert len({q[2] for q in fast_state["quarantine"]}) >= 12
    # every line shape is stored: fractional quantities, four-decimal prices, each discount kind
    stored = fast_state["lines"]
    assert any(ln[3] != ln[3].to_integral_value() for ln in stored)
    assert any(ln[4] != ln[4].quantize(Decimal("0.01")) for ln in stored)
    assert all(any(ln[k] for ln in stored) for k in (5, 6, 7, 8))
    assert (any(ln[3] == 0 for ln in stored) == (options.get("void_lines") == "keep")
            and (fast_state["counts"][4] > 0) == (options.get("void_lines", "skip") == "skip"))
    assert any(o[10] for o in fast_state["orders"]) == (options.get("line_policy") != "whole_order")  # partial
    assert {o[4] for o in fast_state["orders"]} == {"USD", "HKD", options.get("currency", "CNY")}
    assert fast_state == slow_state
    assert (again["counts"], again["quarantine"]) == (slow_again["counts"], slow_again["quarantine"])
    assert again["counts"][0] == 0  # a re-import creates nothing


@pytest.mark.django_db
def test_row_path_answers_like_the_per_row_handler(org, catalog, people):
    """Previews, replays and grids hand Row objects to process(): same answers there."""
    data = csv_text([HEAD, *lines(7, orders=60)])
    answers = []
    with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)):
        for handler in (order_imports.OrderHandler, ReferenceOrderHandler):
            with mock.patch.dict(handlers.HANDLERS, {"orders": handler}):
                job = services.create_job(actor=org.admin, kind="orders", upload=_upload(data), source="pos",
                                          mapping=MAPPING, options={"batch_size": 9})
                result = services.dry_run(actor=org.admin, job_id=job.pk)
                answers.append([(r.number, r.outcome, handlers.error_dicts(r)) for r in result.rows])
    assert answers[0] == answers[1]
    assert {a[1] for a in answers[0]} == {"created", "rejected", "skipped"}


def _upload(data: str):
    from clientwise.dataio.tests.helpers import upload

    return upload("o.csv", data)


@pytest.mark.django_db
def test_jsonl_orders_with_unreadable_lines_answer_like_the_per_row_handler(org, catalog, people):
    """Rows as read from JSONL are dicts, and a line that is not JSON is a row that failed before the checks."""
    import json

    text = "\n".join(json.dumps(dict(zip(HEAD, r, strict=True)), ensure_ascii=False) for r in lines(11, orders=50))
    parts = text.split("\n")
    parts.insert(7, "{not json")
    parts.insert(30, "[1, 2]")
    data = "\n".join(parts) + "\n"
    states = []
    with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)):
        for handler in (order_imports.OrderHandler, ReferenceOrderHandler):
            with mock.patch.dict(handlers.HANDLERS, {"orders": handler}):
                states.append(_strip_job(snapshot(run(org.admin, "orders", "o.jsonl", data, mapping=MAPPING,
                                                      options={"batch_size": 5}))))
            reset()
    assert states[0] == states[1]
    assert {"unreadable_row"} <= {q[2] for q in states[0]["quarantine"]}


def test_purchase_payload_text_is_what_json_dumps_writes():
    """PurchasePayloads builds the purchase row's JSON from fragments: the same text as json.dumps of the payload
    dict, for names that need escaping, missing store and channel, and values of unexpected types."""
    from decimal import Decimal
    from types import SimpleNamespace as NS

    from clientwise.core.bulk import JsonText

    products = [NS(id=1, sku="P-1", name='引号 " 反斜杠 \\ 换行\n制表\t'), NS(id=2, sku="P/2", name="😀 \x01 é"),
                NS(id=3, sku="P-3", name="")]
    store, channel = NS(id=5, name="南京路 \"1\""), NS(id=6, code="pos")
    def ln(quantity, amount):
        return NS(quantity=quantity, amount=amount)

    cases = [
        ({"number": "SO-1", "amount": Decimal("220.00"), "currency": "CNY", "line_count": 2, "store": store,
          "channel": channel}, [(products[0], ln(Decimal("2.000"), Decimal("200.00"))),
                                (products[1], ln(Decimal("1"), Decimal("20.00")))]),
        ({"number": "B000000001", "amount": Decimal("1E+2"), "currency": "USD", "line_count": 1, "store": None,
          "channel": None}, [(products[2], ln(Decimal("1000000.000"), Decimal("-0.50")))]),
        ({"number": "F", "amount": Decimal("278.28"), "currency": "HKD", "line_count": 2, "store": None,
          "channel": None}, [(products[0], ln(Decimal("35.270"), Decimal("278.28"))),  # fractions as JSON numbers
                             (products[1], ln(Decimal("0.005"), Decimal("0.00"))),
                             (products[2], ln(Decimal("0.000"), Decimal("0.00")))]),
        ({"number": "X", "amount": Decimal("5"), "currency": "EUR", "line_count": 1, "store": None,
          "channel": channel}, [(products[0], ln(1, Decimal("5")))]),  # not a Decimal quantity
        ({"number": "Y", "amount": Decimal("5"), "currency": "EUR", "line_count": 1, "store": store,
          "channel": None}, [(products[1], ln(Decimal("1"), 5))]),  # not a Decimal amount
    ]
    for job_id in (7, None):
        encoder = order_imports.PurchasePayloads(job_id)
        for _twice in range(2):  # fragments from the caches the second time
            for order, order_lines in cases:
                payload = order_imports.purchase_payload(order, order_lines, job_id)
                encoded = encoder.encode(order, order_lines)
                if all(type(x[1].quantity) is Decimal and type(x[1].amount) is Decimal for x in order_lines):
                    assert type(encoded) is JsonText
                    assert encoded == json.dumps(payload)
                else:  # the dict, encoded by record_events_bulk
                    assert encoded == payload
    fuel = json.loads(encoder.encode(*cases[2]))["lines"]
    assert [x["quantity"] for x in fuel] == [35.27, 0.005, 0]


def _semicolons(rows: list[list[str]]) -> str:
    """The file as a POS export might write it: `;`-separated, so no cell needs quotes and Arrow reads it."""
    assert not any(";" in c or '"' in c for r in rows for c in r)
    return "".join(";".join(r) + "\n" for r in rows)


def _readers_used(monkeypatch) -> list[str]:
    used = []
    real = services.readers.read_csv_columns

    def spy(*args, **kwargs):
        headers, chunks, info = real(*args, **kwargs)

        def watched():
            yield from chunks
            used.append(info["reader"])
        return headers, watched(), info
    monkeypatch.setattr(services.readers, "read_csv_columns", spy)
    return used


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [4, 5])
def test_orders_read_by_arrow_answer_like_the_per_row_handler(org, catalog, people, monkeypatch, seed):
    from clientwise.dataio import readers

    monkeypatch.setattr(readers, "ARROW_BLOCK", 2048)  # many chunks per batch and batches across chunks
    used = _readers_used(monkeypatch)
    data = _semicolons([HEAD, *lines(seed)])
    with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)):
        fast_state = _strip_job(snapshot(run(org.admin, "orders", "o.csv", data, mapping=MAPPING,
                                             options={"batch_size": 7})))
        reset()
        with mock.patch.dict(handlers.HANDLERS, {"orders": ReferenceOrderHandler}):
            slow_state = _strip_job(snapshot(run(org.admin, "orders", "o.csv", data, mapping=MAPPING,
                                                 options={"batch_size": 7})))
    assert used == ["arrow"]
    assert fast_state["counts"][0] > 60 and fast_state["counts"][3] > 60
    assert fast_state == slow_state


@pytest.mark.django_db
def test_orders_read_by_arrow_resume_after_a_kill_to_the_same_state(org, catalog, people, monkeypatch):
    from clientwise.dataio import readers

    monkeypatch.setattr(readers, "ARROW_BLOCK", 2048)
    used = _readers_used(monkeypatch)
    data = _semicolons([HEAD, *lines(6)])
    with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)):
        straight = _strip_job(snapshot(run(org.admin, "orders", "o.csv", data, mapping=MAPPING,
                                           options={"batch_size": 40})))
        reset()
        job = services.create_job(actor=org.admin, kind="orders", upload=_upload(data), source="pos",
                                  mapping=MAPPING, options={"batch_size": 40})
        with pytest.raises(services.SimulatedCrash):
            services.run_import(job_id=job.pk, crash_after_batches=3)
        job.refresh_from_db()
        assert job.last_row > 100 and job.processed == job.last_row - 1
        services.run_import(job_id=job.pk)
        resumed = _strip_job(snapshot(job))
    assert used == ["arrow", "arrow"]
    assert resumed == straight


@pytest.mark.django_db(transaction=True)
def test_a_product_deleted_between_batches_cannot_leave_a_dangling_line(org, catalog, people, monkeypatch):
    """Products, stores and channels are looked up once per job (cached across batches), outside the batch's
    transaction: what keeps a product deleted between two batches out of the second batch's lines is the
    database's foreign-key check at commit (docs/import.md, "Foreign keys"). The batch fails and rolls back
    whole; nothing points at the deleted product."""
    from django.db import connection, transaction

    from clientwise.dataio.models import ImportJob

    assert not transaction.get_connection().in_atomic_block  # real commits: the deferred checks run
    p2 = catalog["p2"]
    rows = [HEAD,
            ["SO-1", "", "M1", "", "", "2025-03-01 10:00", "P-2", "1", "", "", "", "", "", "", ""],
            ["SO-1", "", "M1", "", "", "2025-03-01 10:00", "P-404", "1", "", "", "", "", "", "", ""],  # SO-1 is rejected
            ["SO-2", "", "M1", "", "", "2025-03-01 11:00", "P-1", "1", "", "", "", "", "", "", ""],
            ["SO-3", "", "M2", "", "", "2025-03-01 12:00", "P-2", "2", "", "", "", "", "", "", ""]]
    real = services._column_batches

    def delete_between_batches(*args, **kwargs):
        for n, batch in enumerate(real(*args, **kwargs)):
            if n == 1:  # the first batch has committed; P-2 is in the job's cache and no line points at it
                with connection.cursor() as cur:
                    cur.execute("DELETE FROM commerce_product WHERE id = %s", [p2.pk])
            yield batch
    monkeypatch.setattr(services, "_column_batches", delete_between_batches)
    with pytest.raises(Exception) as exc:
        run(org.admin, "orders", "o.csv", _semicolons(rows), mapping=MAPPING,
            options={"batch_size": 2, "line_policy": "whole_order"})
    assert "FOREIGN KEY" in str(exc.value).upper()
    job = ImportJob.objects.get()
    assert (job.status, job.last_row) == ("failed", 3)  # the first batch stays, the second rolled back whole
    assert list(Order.objects.values_list("number", flat=True)) == []  # SO-1 rejected; SO-2, SO-3 rolled back
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM commerce_orderline WHERE product_id NOT IN (SELECT id FROM commerce_product)")
        assert cur.fetchone()[0] == 0
