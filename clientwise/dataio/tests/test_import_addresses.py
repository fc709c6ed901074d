"""Customers import: street address and postcode land on the customer's postal-address contact point."""

from __future__ import annotations

from clientwise.customers.models import ContactPoint, Customer
from clientwise.dataio.tests.helpers import csv_text, run

HEAD = ["客户编号", "姓名", "地址", "邮编", "省份", "城市"]


def _addresses(customer) -> list[tuple[str, str, str, str, bool]]:
    return list(ContactPoint.objects.filter(customer=customer, kind="address").order_by("id").values_list(
        "value", "postal_code", "province", "city", "is_primary"))


def test_headers_map_to_address_and_postcode(org):
    from clientwise.dataio.mapping import suggest_mapping

    mapping = suggest_mapping("customers", ["Customer ID", "Name", "Street Address", "Postcode"])
    assert mapping["address"] == "Street Address"
    assert mapping["postal_code"] == "Postcode"


def test_new_customers_get_a_primary_postal_address(org):
    job = run(org.admin, "customers", "a.csv", csv_text([
        HEAD,
        ["C1", "张伟", "南京路 100 号 3 楼", "200001", "上海", "上海"],
        ["C2", "李娜", "", "100010", "", "北京"],          # postcode only
        ["C3", "王芳", "", "", "", "杭州"],                # neither: no address contact point
    ]))
    assert (job.created, job.rejected) == (3, 0)
    assert _addresses(Customer.objects.get(external_id="C1")) == [("南京路 100 号 3 楼", "200001", "上海", "上海", True)]
    assert _addresses(Customer.objects.get(external_id="C2")) == [("", "100010", "", "北京", True)]
    assert _addresses(Customer.objects.get(external_id="C3")) == []


def test_a_new_address_is_added_once_and_the_first_stays_primary(org):
    run(org.admin, "customers", "a.csv", csv_text([HEAD, ["C1", "张伟", "南京路 100 号", "200001", "", "上海"]]))
    job = run(org.admin, "customers", "b.csv", csv_text([HEAD, ["C1", "张伟", "淮海路 8 号", "200020", "", "上海"]]))
    assert (job.created, job.updated) == (0, 1)
    again = run(org.admin, "customers", "b.csv", csv_text([HEAD, ["C1", "张伟", "淮海路 8 号", "200020", "", "上海"]]))
    assert (again.updated, again.unchanged) == (0, 1)
    assert _addresses(Customer.objects.get(external_id="C1")) == [
        ("南京路 100 号", "200001", "", "上海", True), ("淮海路 8 号", "200020", "", "上海", False)]


def test_too_long_postcode_is_quarantined(org):
    from clientwise.dataio.models import QuarantinedRow

    job = run(org.admin, "customers", "a.csv", csv_text([HEAD, ["C1", "张伟", "南京路", "2000011234567", "", ""]]))
    assert (job.created, job.rejected) == (0, 1)
    assert list(QuarantinedRow.objects.filter(job=job).values_list("field", "code")) == [("postal_code", "invalid")]
