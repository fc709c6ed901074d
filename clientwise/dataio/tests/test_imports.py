"""Imports lose nothing: every input row is stored or quarantined with a reason; re-imports change nothing;
a killed job resumes to the same end state."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clientwise.commerce.models import Order, OrderLine, Product, Store
from clientwise.core.errors import DomainError, ValidationFailed
from clientwise.core.models import AuditLog
from clientwise.customers.models import Consent, ContactPoint, Customer, CustomerStats, Interaction
from clientwise.dataio import services
from clientwise.dataio.models import ImportJob, QuarantinedRow
from clientwise.dataio.tests.helpers import csv_text, run, upload

HEAD = ["姓名", "手机", "邮箱", "会员号", "生日", "性别", "短信同意"]


def quarantine(job) -> list[tuple[int, str, str]]:
    return list(QuarantinedRow.objects.filter(job=job).order_by("row_number").values_list("row_number", "field", "code"))


def counts(job) -> tuple[int, int, int, int]:
    job.refresh_from_db()
    return job.created, job.updated, job.unchanged, job.rejected


def customers_file(rows) -> str:
    return csv_text([HEAD, *rows])


BAD_CUSTOMERS = [
    ["张伟", "13812345678", "ZW@Example.com", "M001", "1990-01-02", "男", "是"],   # 2 ok
    ["李娜", "12345", "", "M002", "", "女", ""],                                   # 3 bad phone
    ["王芳", "13900001111", "not-an-email", "M003", "", "", ""],                    # 4 bad email
    ["赵磊", "13900002222", "", "M004", "1990/13/45", "", ""],                      # 5 bad date
    ["", "13900003333", "", "M005", "", "", ""],                                   # 6 missing name
    ["陈静", "13900004444", "", "M006", "", "x", "maybe"],                          # 7 bad gender + consent
    ["刘洋", "13900005555", "", "", "", "", ""],                                   # 8 no key (member number)
    ["孙丽", "13900006666", "", "M007", "1992年3月4日", "F", "否"],                    # 9 ok
]


def test_every_bad_customer_row_is_quarantined_with_its_reason(org):
    job = run(org.admin, "customers", "members.csv", customers_file(BAD_CUSTOMERS))
    assert job.status == "done"
    assert job.mapping["member_number"] == "会员号"
    assert counts(job) == (2, 0, 0, 6)
    assert quarantine(job) == [(3, "mobile", "invalid_phone"), (4, "email", "invalid_email"),
                               (5, "birth_date", "invalid_date"), (6, "name", "required"), (7, "gender", "invalid"),
                               (8, "member_number", "required")]
    q7 = QuarantinedRow.objects.get(job=job, row_number=7)
    assert [e["field"] for e in q7.errors] == ["gender", "consent_sms"]
    assert q7.raw["姓名"] == "陈静"
    # Rows in = stored + quarantined.
    assert sum(counts(job)) == len(BAD_CUSTOMERS)
    zw = Customer.objects.get(member_number="M001")
    assert (zw.name, zw.mobile, zw.email, str(zw.birth_date), zw.gender, zw.source) == (
        "张伟", "+8613812345678", "zw@example.com", "1990-01-02", "m", "pos")
    assert (zw.owner_id, zw.team_id, zw.name_pinyin) == (org.admin.pk, None, "zhangwei")
    assert set(ContactPoint.objects.filter(customer=zw).values_list("kind", "value", "is_primary")) == {
        ("mobile", "+8613812345678", True), ("email", "zw@example.com", True)}
    assert Consent.objects.get(customer=zw, channel="sms").status == "granted"
    assert Consent.objects.get(customer__member_number="M007", channel="sms").status == "withdrawn"
    assert Interaction.objects.filter(customer=zw, kind="profile", subject="Customer created").count() == 1
    # One audit row per batch (plus upload), not per record.
    batch = AuditLog.objects.get(action="import.batch", object_id=str(job.pk))
    assert (batch.detail["created"], batch.detail["rejected"], len(batch.detail["created_ids"])) == (2, 6, 2)


def test_reimporting_the_same_file_changes_nothing(org):
    data = customers_file(BAD_CUSTOMERS)
    run(org.admin, "customers", "members.csv", data)
    before = (Customer.objects.count(), ContactPoint.objects.count(), Consent.objects.count(),
              Interaction.objects.count(), list(Customer.objects.order_by("id").values_list("updated_at", flat=True)))
    again = run(org.admin, "customers", "members.csv", data)
    assert counts(again) == (0, 0, 2, 6)
    after = (Customer.objects.count(), ContactPoint.objects.count(), Consent.objects.count(),
             Interaction.objects.count(), list(Customer.objects.order_by("id").values_list("updated_at", flat=True)))
    assert after == before


def test_changed_rows_update_and_empty_cells_keep_values(org):
    run(org.admin, "customers", "a.csv", customers_file([BAD_CUSTOMERS[0]]))
    changed = ["张伟", "13812345678", "", "M001", "", "", "否"]  # same phone, no email cell, consent withdrawn
    job = run(org.admin, "customers", "b.csv", customers_file([changed, ["张伟新", "", "", "M001", "", "", ""]]))
    # Second row: same key, different values in one file → duplicate.
    assert counts(job) == (0, 1, 0, 1)
    assert quarantine(job) == [(3, "member_number", "duplicate")]
    zw = Customer.objects.get(member_number="M001")
    assert (zw.name, zw.email) == ("张伟", "zw@example.com")
    assert Consent.objects.get(customer=zw, channel="sms").status == "withdrawn"
    assert Interaction.objects.filter(customer=zw, kind="profile", subject__startswith="Profile updated").count() == 1


def test_same_row_twice_in_one_file_is_unchanged(org):
    row = ["张伟", "13812345678", "", "M001", "", "", ""]
    job = run(org.admin, "customers", "a.csv", customers_file([row, row]))
    assert counts(job) == (1, 0, 1, 0)
    assert Customer.objects.filter(member_number="M001").count() == 1


def test_same_row_twice_across_batches_is_unchanged(org):
    row = ["张伟", "13812345678", "", "M001", "", "", ""]
    job = run(org.admin, "customers", "a.csv", customers_file([row, ["李娜", "", "", "M002", "", "", ""], row]),
              options={"batch_size": 1})
    assert counts(job) == (2, 0, 1, 0)
    assert AuditLog.objects.filter(action="import.batch", object_id=str(job.pk)).count() == 3


def test_missing_required_column_stops_before_any_row(org):
    data = csv_text([["手机", "会员号"], ["13812345678", "M001"]])
    job = services.create_job(actor=org.admin, kind="customers", upload=upload("a.csv", data), source="pos")
    with pytest.raises(ValidationFailed) as exc:
        services.run_import(job_id=job.pk)
    assert [(e.code, e.field) for e in exc.value.errors] == [("required", "mapping.name")]
    assert Customer.objects.count() == 0


def test_extra_columns_are_ignored_and_kept_in_quarantine(org):
    data = csv_text([["姓名", "会员号", "喜欢的颜色", "备用"], ["张伟", "M001", "红", "x"], ["", "M002", "蓝", "y", "多余"]])
    job = run(org.admin, "customers", "a.csv", data)
    assert counts(job) == (1, 0, 0, 1)
    q = QuarantinedRow.objects.get(job=job)
    assert q.raw == {"姓名": "", "会员号": "M002", "喜欢的颜色": "蓝", "备用": "y", "__extra_5": "多余"}


def test_mapping_to_a_missing_column_is_refused(org):
    data = csv_text([["姓名", "会员号"], ["张伟", "M001"]])
    with pytest.raises(ValidationFailed) as exc:
        services.create_job(actor=org.admin, kind="customers", upload=upload("a.csv", data), source="pos",
                            mapping={"name": "姓名", "member_number": "会员号", "mobile": "手机"})
    assert [(e.code, e.field) for e in exc.value.errors] == [("bad_mapping", "mapping.mobile")]
    assert ImportJob.objects.count() == 0


def test_gbk_file_imports_with_chinese_text(org):
    data = customers_file([BAD_CUSTOMERS[0], BAD_CUSTOMERS[8 - 1]] * 1)
    job = run(org.admin, "customers", "gbk.csv", data, encoding="gbk")
    assert job.encoding == "gb18030"
    assert counts(job) == (2, 0, 0, 0)
    assert set(Customer.objects.values_list("name", flat=True)) == {"张伟", "孙丽"}


def test_member_number_of_another_customer_is_a_duplicate(org):
    from clientwise.customers.services import create_customer

    create_customer(actor=org.admin, data={"name": "老会员", "member_number": "M001"})
    data = csv_text([["外部编号", "姓名", "会员号"], ["E1", "张伟", "M001"], ["E2", "李娜", "M002"], ["E3", "王芳", "M002"]])
    job = run(org.admin, "customers", "a.csv", data)
    assert job.options == {} and job.mapping["external_id"] == "外部编号"
    assert counts(job) == (1, 0, 0, 2)
    assert quarantine(job) == [(2, "member_number", "duplicate"), (4, "member_number", "duplicate")]


def test_manager_cannot_update_customers_outside_their_scope(org):
    from clientwise.customers.services import create_customer

    create_customer(actor=org.rep_b, data={"name": "别组客户", "member_number": "B1"})
    data = csv_text([["姓名", "会员号"], ["别组客户改", "B1"], ["新客户", "A1"]])
    job = run(org.manager_a, "customers", "a.csv", data)
    assert counts(job) == (1, 0, 0, 1)
    assert quarantine(job) == [(2, "member_number", "permission_denied")]
    assert Customer.objects.get(member_number="B1").name == "别组客户"
    new = Customer.objects.get(member_number="A1")
    assert (new.owner_id, new.team_id) == (org.manager_a.pk, org.team_a.pk)


def test_sales_rep_may_not_import(org):
    data = csv_text([["姓名", "会员号"], ["张伟", "M001"]])
    with pytest.raises(DomainError) as exc:
        services.create_job(actor=org.rep_a, kind="customers", upload=upload("a.csv", data), source="pos")
    assert exc.value.code == "permission_denied"
    assert ImportJob.objects.count() == 0


def test_mobile_as_natural_key(org):
    from clientwise.customers.services import create_customer

    existing = create_customer(actor=org.admin, data={"name": "张伟"}, mobile="13812345678")
    data = csv_text([["姓名", "手机", "城市"], ["张伟", "138 1234 5678", "上海"], ["李娜", "13900001111", ""]])
    job = run(org.admin, "customers", "a.csv", data, options={"key": "mobile"})
    assert counts(job) == (1, 1, 0, 0)
    existing.refresh_from_db()
    assert existing.city == "上海"
    assert Customer.objects.count() == 2


# --- orders -------------------------------------------------------------------------------------------------

ORDER_HEAD = ["订单号", "会员号", "门店编码", "下单时间", "商品编码", "数量", "单价", "折扣", "金额"]


@pytest.fixture
def members(org):
    run(org.admin, "customers", "m.csv", customers_file([BAD_CUSTOMERS[0], BAD_CUSTOMERS[7]]))
    return Customer.objects.get(member_number="M001"), Customer.objects.get(member_number="M007")


ORDERS = [
    ["SO-1", "M001", "S001", "2025-03-01 10:30", "P-1", "2", "", "", "200"],       # 2 ┐ order SO-1: 220
    ["SO-1", "M001", "S001", "2025-03-01 10:30", "P-2", "1", "25", "5", ""],       # 3 ┘
    ["SO-2", "M404", "S001", "2025-03-02", "P-1", "1", "", "", ""],                 # 4 unknown customer
    ["SO-3", "M007", "S999", "2025-03-02", "P-1", "1", "", "", ""],                 # 5 unknown store
    ["SO-4", "M007", "", "2025-03-02", "P-404", "1", "", "", ""],                   # 6 unknown product ┐
    ["SO-4", "M007", "", "2025-03-02", "P-1", "1", "", "", ""],                     # 7 incomplete      ┘
    ["SO-5", "M007", "", "2025/13/02", "P-1", "1", "", "", ""],                     # 8 bad date
    ["SO-6", "M007", "", "2025-03-03", "P-1", "1", "abc", "", ""],                  # 9 bad amount
    ["SO-7", "M007", "", "2025-03-03", "P-1", "1", "10", "20", ""],                 # 10 discount too large
    ["SO-8", "M007", "", "2025-03-03", "P-1", "1", "10", "", "11"],                 # 11 amount mismatch
    ["SO-9", "M007", "", "2025-03-03", "P-OLD", "1", "", "", ""],                   # 12 inactive product
    ["SO-10", "M007", "", "2025-03-04 09:00", "P-2", "3", "", "", "60"],           # 13 ok: 60
    ["SO-11", "M007", "", "2025-03-04", "P-1", "-1", "", "", ""],                   # 14 bad quantity
]


def test_orders_with_bad_rows(org, catalog, members):
    """Line policy "whole order": an order with an invalid line is quarantined whole (order_incomplete)."""
    zw, sl = members
    whole = {"line_policy": "whole_order"}
    job = run(org.admin, "orders", "orders.csv", csv_text([ORDER_HEAD, *ORDERS]), options=whole)
    assert counts(job) == (3, 0, 0, 10)
    assert sum(counts(job)) == len(ORDERS)
    assert quarantine(job) == [
        (4, "customer_member_number", "unknown_reference"), (5, "store", "unknown_reference"),
        (6, "sku", "unknown_reference"), (7, "number", "order_incomplete"), (8, "ordered_at", "invalid_date"),
        (9, "unit_price", "invalid_amount"), (10, "discount", "discount_too_large"), (11, "amount", "amount_mismatch"),
        (12, "sku", "inactive_product"), (14, "quantity", "invalid")]
    so1 = Order.objects.get(number="SO-1")
    assert (so1.customer_id, so1.store_id, so1.amount, so1.subtotal, so1.discount, so1.cost, so1.line_count) == (
        zw.pk, catalog["store"].pk, Decimal("220.00"), Decimal("225.00"), Decimal("5.00"), Decimal("125.00"), 2)
    assert (so1.source, so1.external_id) == ("pos", "SO-1")
    assert list(OrderLine.objects.filter(order=so1).values_list("product__sku", "quantity", "amount")) == [
        ("P-1", 2, Decimal("200.00")), ("P-2", 1, Decimal("20.00"))]
    zw.refresh_from_db()
    sl.refresh_from_db()
    assert (zw.order_count, zw.revenue) == (1, Decimal("220.00"))
    assert (sl.order_count, sl.revenue) == (1, Decimal("60.00"))
    assert Interaction.objects.filter(kind="purchase", ref_type="order", ref_id=so1.pk, customer=zw).count() == 1
    # Re-import: nothing changes, rows of stored orders are unchanged.
    again = run(org.admin, "orders", "orders.csv", csv_text([ORDER_HEAD, *ORDERS]), options=whole)
    assert counts(again) == (0, 0, 3, 10)
    zw.refresh_from_db()
    assert (zw.order_count, zw.revenue, Order.objects.count(), OrderLine.objects.count()) == (
        1, Decimal("220.00"), 2, 3)


def test_an_imported_order_is_never_rewritten(org, catalog, members):
    run(org.admin, "orders", "a.csv", csv_text([ORDER_HEAD, ORDERS[0], ORDERS[1]]))
    job = run(org.admin, "orders", "b.csv", csv_text([ORDER_HEAD, ORDERS[0]]))
    assert counts(job) == (0, 0, 0, 1)
    assert quarantine(job) == [(2, "number", "order_conflict")]
    assert Order.objects.get(number="SO-1").line_count == 2


def _kill_and_resume(org, kind, data, crash_after):
    job = services.create_job(actor=org.admin, kind=kind, upload=upload("f.csv", data), source="pos",
                              options={"batch_size": 2})
    with pytest.raises(services.SimulatedCrash):
        services.run_import(job_id=job.pk, crash_after_batches=crash_after)
    job.refresh_from_db()
    assert job.status == "failed" and "simulated crash" in job.error
    return job


def _state():
    return {
        "customers": sorted(Customer.objects.values_list("member_number", "name", "mobile", "stats__order_count",
                                                             "stats__revenue")),
        "orders": sorted(Order.objects.values_list("number", "amount", "line_count")),
        "lines": OrderLine.objects.count(),
        "timeline": sorted(Interaction.objects.values_list("customer__member_number", "kind")),
        "contacts": ContactPoint.objects.count(),
    }


def test_killed_customer_job_resumes_to_the_same_state(org):
    data = customers_file(BAD_CUSTOMERS)
    job = _kill_and_resume(org, "customers", data, crash_after=2)
    # Two batches of two rows committed, the third rolled back whole.
    assert (job.last_row, job.processed, Customer.objects.count()) == (5, 4, 1)
    services.run_import(job_id=job.pk)
    assert counts(job) == (2, 0, 0, 6)
    assert sorted(QuarantinedRow.objects.filter(job=job).values_list("row_number", flat=True)) == [3, 4, 5, 6, 7, 8]
    resumed = _state()
    Customer.objects.all().delete()
    straight = run(org.admin, "customers", "f.csv", data, options={"batch_size": 2})
    assert counts(straight) == (2, 0, 0, 6)
    assert _state() == resumed


def test_killed_order_job_resumes_to_the_same_state(org, catalog, members):
    data = csv_text([ORDER_HEAD, *ORDERS])
    job = _kill_and_resume(org, "orders", data, crash_after=1)
    assert job.last_row == 3  # SO-1's two lines form the first batch
    services.run_import(job_id=job.pk)
    assert counts(job) == (4, 0, 0, 9)  # keep the valid lines: SO-4's good line is stored, SO-4 is partial
    resumed = _state()
    Interaction.objects.filter(kind="purchase").delete()
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    CustomerStats.objects.update(order_count=0, revenue=0, first_order_at=None, last_order_at=None)
    straight = run(org.admin, "orders", "f.csv", data, options={"batch_size": 2})
    assert counts(straight) == (4, 0, 0, 9)
    assert _state() == resumed


def test_resume_via_enqueue_continues_after_last_row(org):
    job = _kill_and_resume(org, "customers", customers_file(BAD_CUSTOMERS), crash_after=1)
    services.resume_import(actor=org.admin, job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.last_row) == ("done", 9)
    assert counts(job) == (2, 0, 0, 6)


# --- replay -------------------------------------------------------------------------------------------------


def test_download_fix_and_replay_error_rows(org):
    job = run(org.admin, "customers", "members.csv", customers_file(BAD_CUSTOMERS))
    text = "".join(services.error_rows_csv(actor=org.admin, job_id=job.pk))
    assert text.startswith("\ufeff" + ",".join(HEAD) + ",_row,_error_field,_error_code,_error_message")
    lines = text.lstrip("\ufeff").splitlines()
    assert len(lines) == 7
    assert lines[1].startswith("李娜,12345,,M002,,女,,3,mobile,invalid_phone,")
    fixed = text.lstrip("\ufeff").replace("李娜,12345", "李娜,13700001234").replace("not-an-email", "wf@example.com")
    result = services.replay_errors(actor=org.admin, job_id=job.pk, upload=upload("fixed.csv", fixed))
    assert (result.fixed, result.still_failing, result.skipped) == (2, 4, 0)
    assert counts(job) == (4, 0, 0, 4)
    job.refresh_from_db()
    assert job.replayed == 2
    assert list(QuarantinedRow.objects.filter(job=job, status="replayed").values_list("row_number", flat=True)) == [3, 4]
    assert Customer.objects.get(member_number="M002").mobile == "+8613700001234"
    # Replaying the same file again: those rows are no longer open, so they are skipped.
    again = services.replay_errors(actor=org.admin, job_id=job.pk, upload=upload("fixed.csv", fixed))
    assert (again.fixed, again.still_failing, again.skipped) == (0, 4, 2)
    assert Customer.objects.count() == 4


def test_replay_needs_an_error_file(org):
    job = run(org.admin, "customers", "members.csv", customers_file(BAD_CUSTOMERS))
    with pytest.raises(DomainError) as exc:
        services.replay_errors(actor=org.admin, job_id=job.pk, upload=upload("x.csv", customers_file(BAD_CUSTOMERS)))
    assert exc.value.code == "not_an_error_file"


def test_error_file_masks_pii_without_view_pii(org):
    org.manager_a.view_pii = False
    org.manager_a.save()
    job = run(org.manager_a, "customers", "members.csv", customers_file(BAD_CUSTOMERS[:3]))
    text = "".join(services.error_rows_csv(actor=org.manager_a, job_id=job.pk))
    assert "13900001111" not in text and "139****1111" in text


# --- other kinds --------------------------------------------------------------------------------------------


def test_products_and_stores_upsert_on_code(org, catalog):
    data = csv_text([["商品编码", "商品名称", "品类", "品牌", "零售价", "成本"],
                     ["P-1", "Phone X2", "PHONE", "Acme", "120", "70"],
                     ["P-3", "Charger", "PHONE", "", "¥35.5", ""],
                     ["P-4", "Cable", "NOPE", "", "", ""],
                     ["P-5", "No category", "", "", "", ""]])
    job = run(org.admin, "products", "p.csv", data)
    assert counts(job) == (1, 1, 0, 2)
    assert quarantine(job) == [(4, "category", "unknown_reference"), (5, "category", "required")]
    p1 = Product.objects.get(sku="P-1")
    assert (p1.name, p1.brand, p1.list_price, p1.unit_cost) == ("Phone X2", "Acme", Decimal("120.00"), Decimal("70.00"))
    assert Product.objects.get(sku="P-3").list_price == Decimal("35.50")
    assert counts(run(org.admin, "products", "p.csv", data)) == (0, 0, 2, 2)

    stores = csv_text([["门店编码", "门店名称", "分公司编码", "省", "市", "区", "城乡"],
                       ["S002", "徐家汇店", "SH", "上海", "上海", "徐汇区", "城市"],
                       ["S003", "乡镇店", "SH", "江苏", "苏州", "吴中区", "山区"]])
    job = run(org.admin, "stores", "s.csv", stores)
    assert counts(job) == (1, 0, 0, 1)
    assert quarantine(job) == [(3, "urban_rural", "invalid")]
    s2 = Store.objects.get(code="S002")
    assert (s2.district, s2.urban_rural, s2.branch_id) == ("徐汇区", "urban", catalog["branch"].pk)


def test_manager_may_not_import_products(org):
    data = csv_text([["商品编码", "商品名称"], ["P-1", "x"]])
    with pytest.raises(DomainError) as exc:
        services.create_job(actor=org.manager_a, kind="products", upload=upload("a.csv", data), source="pos")
    assert exc.value.code == "permission_denied"


def test_interactions_from_feedback_forms_are_idempotent_by_content(org, members):
    zw, _sl = members
    data = csv_text([["会员号", "类型", "时间", "主题", "内容"],
                     ["M001", "电话", "2025-03-01 10:00", "回访", "满意"],
                     ["M001", "飞鸽", "2025-03-01", "回访", ""],
                     ["M001", "拜访", "2025-03-02", "", ""]])
    job = run(org.admin, "interactions", "i.csv", data)
    assert counts(job) == (1, 0, 0, 2)
    assert quarantine(job) == [(3, "kind", "invalid"), (4, "subject", "required")]
    row = Interaction.objects.get(customer=zw, kind="call")
    assert (row.subject, row.body, row.source) == ("回访", "满意", "pos")
    assert counts(run(org.admin, "interactions", "i.csv", data)) == (0, 0, 1, 2)
    assert Interaction.objects.filter(customer=zw, kind="call").count() == 1


def test_xlsx_and_jsonl_files(org):
    import json

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Name", "Mobile", "Member number"])
    wb.active.append(["Zhang Wei", 13812345678, "M001"])
    import io

    buf = io.BytesIO()
    wb.save(buf)
    job = run(org.admin, "customers", "c.xlsx", buf.getvalue())
    assert (job.format, counts(job)) == ("xlsx", (1, 0, 0, 0))
    assert Customer.objects.get(member_number="M001").mobile == "+8613812345678"
    lines = "\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"name": "李娜", "member_number": "M002"}, {"name": "王芳"}]) + "\n{broken\n"
    job = run(org.admin, "customers", "c.jsonl", lines)
    assert counts(job) == (1, 0, 0, 2)
    assert quarantine(job) == [(2, "member_number", "required"), (3, "", "unreadable_row")]


def test_saved_mapping_template(org):
    data = csv_text([["客户", "卡", "电话"], ["张伟", "M001", "13812345678"]])
    job = services.create_job(actor=org.admin, kind="customers", upload=upload("a.csv", data), source="crm-x")
    services.set_mapping(actor=org.admin, job_id=job.pk, mapping={"name": "客户", "member_number": "卡",
                                                                  "mobile": "电话"}, save_as="crm-x members")
    second = services.create_job(actor=org.admin, kind="customers", upload=upload("b.csv", data), source="crm-x",
                                 template="crm-x members")
    assert second.mapping == {"name": "客户", "member_number": "卡", "mobile": "电话"}
    with pytest.raises(ValidationFailed):
        services.create_job(actor=org.admin, kind="customers", upload=upload("b.csv", data), source="crm-x",
                            template="nope")


def test_set_mapping_refuses_unknown_columns_and_missing_required(org):
    data = csv_text([["姓名", "会员号"], ["张伟", "M001"]])
    job = services.create_job(actor=org.admin, kind="customers", upload=upload("a.csv", data), source="pos")
    with pytest.raises(ValidationFailed) as exc:
        services.set_mapping(actor=org.admin, job_id=job.pk, mapping={"member_number": "会员号", "mobile": "手机"})
    assert [(e.code, e.field) for e in exc.value.errors] == [
        ("bad_mapping", "mapping.mobile"), ("required", "mapping.name")]
    job.refresh_from_db()
    assert job.mapping == {"name": "姓名", "member_number": "会员号"}


def test_grid_rows_go_through_the_import_path(org):
    rows = [{"name": "张伟", "mobile": "13812345678"}, {}, {"name": "李娜", "mobile": "bad"}]
    checked = services.validate_grid(actor=org.admin, kind="customers", rows=rows)
    assert [(r["row"], r["outcome"], [e["field"] for e in r["errors"]]) for r in checked] == [
        (1, "created", []), (3, "rejected", ["mobile"])]
    assert Customer.objects.count() == 0
    job = services.import_grid_rows(actor=org.admin, kind="customers", rows=rows)
    assert (job.source, job.options, counts(job)) == ("grid", {"key": "mobile"}, (1, 0, 0, 1))
    assert quarantine(job) == [(3, "mobile", "invalid_phone")]


def test_birth_dates_in_the_future_or_before_1900_are_quarantined(org):
    from unittest import mock

    rows = [["甲", "13800000011", "", "B1", "2025-06-01", "", ""], ["乙", "13800000012", "", "B2", "2025-06-02", "", ""],
            ["丙", "13800000013", "", "B3", "1899-12-31", "", ""]]
    today = __import__("datetime").date(2025, 6, 1)
    with mock.patch("django.utils.timezone.localdate", return_value=today):
        job = run(org.admin, "customers", "b.csv", customers_file(rows))
    assert counts(job) == (1, 0, 0, 2)
    assert quarantine(job) == [(3, "birth_date", "invalid_date"), (4, "birth_date", "invalid_date")]


def test_error_file_marks_formula_cells_and_replay_takes_the_mark_off(org):
    """An import error file is a download like any export: formula-like cells carry the apostrophe mark. A fixed
    file replayed reads the cells back without it, so the stored value is what the source file said."""
    rows = [HEAD, ["=1+1", "12345", "", "M009", "", "女", ""], ["@王芳", "not-a-phone", "", "M010", "", "", ""]]
    job = run(org.admin, "customers", "members.csv", customers_file(rows[1:]))
    text = "".join(services.error_rows_csv(actor=org.admin, job_id=job.pk))
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[1].startswith("'=1+1,12345,") and lines[2].startswith("'@王芳,not-a-phone,")
    fixed = text.lstrip("\ufeff").replace("12345", "13700001234").replace("not-a-phone", "13700005678")
    result = services.replay_errors(actor=org.admin, job_id=job.pk, upload=upload("fixed.csv", fixed))
    assert (result.fixed, result.still_failing) == (2, 0)
    assert Customer.objects.get(member_number="M009").name == "=1+1"
    assert Customer.objects.get(member_number="M010").name == "@王芳"
