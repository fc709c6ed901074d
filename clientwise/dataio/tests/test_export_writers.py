"""The export fast paths give exactly what the plain ORM gives, and the XLSX writer keeps what people rely on
(text stays text, times to the millisecond in local time, sheet names and headers Excel accepts)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pyarrow as pa
import pytest
from django.utils import timezone

from clientwise.commerce import services as commerce_services
from clientwise.commerce.models import Order
from clientwise.commerce.tests.factories import ChannelFactory, ProductFactory, StoreFactory
from clientwise.customers.models import Customer
from clientwise.customers.tests.factories import make_customer
from clientwise.dataio import exports

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(org):
    store = StoreFactory(name="徐汇店", code="SH001")
    ChannelFactory(code="store", name="门店")
    # Prices whose sums and differences are not exact in binary floating point.
    a = ProductFactory(sku="A-1", list_price=Decimal("0.10"), unit_cost=Decimal("0.07"))
    b = ProductFactory(sku="B-1", list_price=Decimal("1234567.89"), unit_cost=Decimal("999.99"))
    customers = [make_customer(org.admin, f"客户{i}", mobile=f"1381234567{i}") for i in range(3)]
    t0 = timezone.now().replace(microsecond=123456) - dt.timedelta(days=2)
    out = []
    for i in range(7):
        out.append(commerce_services.create_order(
            actor=org.admin, customer_id=customers[i % 3].pk, store_id=store.pk, channel_code="store",
            lines=[{"product_id": a.pk, "quantity": 3}, {"product_id": b.pk, "quantity": i % 2 + 1}],
            ordered_at=t0 + dt.timedelta(hours=i, microseconds=i), number=f"SO-{i}"))
    return out


def test_value_chunks_equal_values_list(orders, monkeypatch):
    from django.db import connection
    from django.db.models import QuerySet

    for qs, fields in ((Order.objects.order_by("-ordered_at", "-id"), exports._ORDER_FIELDS[:-1]),  # noqa: SLF001
                       (Customer.objects.order_by("id"), exports._CUSTOMER_FIELDS)):  # noqa: SLF001
        expected = list(qs.values_list(*fields))
        with monkeypatch.context() as m:
            if connection.vendor == "sqlite":  # the fast path, not values_list's iterator
                m.setattr(QuerySet, "iterator", lambda *a, **k: pytest.fail("fell back to values_list"))
            got = [row for chunk in exports._value_chunks(qs, fields, size=2) for row in chunk]  # noqa: SLF001
        assert got == expected
        assert [tuple(map(type, r)) for r in got] == [tuple(map(type, r)) for r in expected]
        assert [str(v) for r in got for v in r if isinstance(v, Decimal)] == \
            [str(v) for r in expected for v in r if isinstance(v, Decimal)]  # same places: "0.30", not "0.3"


def test_order_margin_is_amount_minus_cost_in_sql(org, orders, monkeypatch):
    from django.db import connection
    from django.db.models import QuerySet

    with monkeypatch.context() as m:
        if connection.vendor == "sqlite":  # the annotated query takes the fast path too
            m.setattr(QuerySet, "iterator", lambda *a, **k: pytest.fail("fell back to values_list"))
        rows = list(exports.order_rows(Order.objects.order_by("id"), pii=True, costs=True))
    for row, order in zip(rows, sorted(orders, key=lambda o: o.pk), strict=True):
        order.refresh_from_db()
        assert row[-2] == order.cost and row[-1] == order.amount - order.cost
        assert isinstance(row[-1], Decimal) and str(row[-1]) == str(order.amount - order.cost)
    floats = list(exports.order_rows(Order.objects.order_by("id"), pii=True, costs=True, exact=False))
    assert [float(v) for v in floats[0][12:15]] == pytest.approx([float(v) for v in rows[0][12:15]])


def test_xlsx_text_times_names_and_headers():
    columns = (exports.Column("name"), exports.Column("at", exports.TIMESTAMP), exports.Column("amount", exports.MONEY),
               exports.Column("name"), exports.Column("=cmd"))
    at = dt.datetime(2026, 12, 4, 4, 58, 27, 812852, tzinfo=dt.UTC)
    rows = [("=HYPERLINK(\"http://x\",\"点击\")", at, Decimal("0.30"), "+8613812345678", "-5"),
            ("张伟", None, None, "", "@SUM(A1)")]
    out = io.BytesIO()
    assert exports.write_xlsx(columns, iter(rows), out, title="Region/城市: [Q1]*?") == 2
    out.seek(0)
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    assert ws.title == "Region_城市_ _Q1___"
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header == ["name", "at", "amount", "name (2)", "=cmd"]
    assert all(c.font.b for c in ws[1]) and ws["E1"].data_type == "s"  # a formula-like header is text too
    first = ws[2]
    assert first[0].value == rows[0][0] and first[0].data_type == "s"  # never a formula
    local = timezone.localtime(at).replace(tzinfo=None)
    assert abs(first[1].value - local) < dt.timedelta(milliseconds=1) and first[1].number_format == "yyyy-mm-dd hh:mm"
    assert first[2].value == pytest.approx(0.3) and first[2].data_type == "n"
    assert first[3].value == "+8613812345678" and first[4].value == "-5"  # text stays text
    second = ws[3]
    assert second[0].value == "张伟" and second[1].value is None and second[2].value is None
    assert second[4].value == "@SUM(A1)" and second[4].data_type == "s"


def test_excel_serial_is_local_wall_clock():
    at = dt.datetime(1900, 3, 1, 0, 0, tzinfo=timezone.get_current_timezone())
    assert exports.excel_serial(at) == 61.0  # Excel's serial for 1900-03-01
    assert exports.excel_serial(None) is None


def test_arrow_columns_fall_back_only_when_types_differ():
    assert exports._arrow_array([Decimal("1.20"), None], exports.MONEY).to_pylist() == [Decimal("1.20"), None]  # noqa: SLF001
    assert exports._arrow_array([1.2, 3], exports.MONEY).to_pylist() == [Decimal("1.20"), Decimal("3.00")]  # noqa: SLF001
    assert exports._arrow_array(["a", 5], pa.string()).to_pylist() == ["a", "5"]  # noqa: SLF001
