"""Drill-down: the order lines behind a cell with their own amounts (not their orders' totals), paged with a total,
in the API and on the report page."""

from __future__ import annotations

import json
import re

import pytest

from clientwise.reports import services

pytestmark = pytest.mark.django_db

BY_PRODUCT = {"fact": "sales", "measures": ["revenue", "quantity"], "rows": ["product"], "columns": [],
              "engine": "database", "totals": False}


def assert_newest_first(line_ids: list[int]) -> None:
    """By the order's time, then by the line's id, both descending."""
    from clientwise.commerce.models import OrderLine

    keys = dict(OrderLine.objects.filter(pk__in=line_ids).values_list("pk", "order__ordered_at"))
    order = [(keys[pk], pk) for pk in line_ids]
    assert order == sorted(order, reverse=True)


def _multi_line_product_cell(api_client, user):
    """A product row whose lines sit in orders that also hold other products (so an order's amount differs)."""
    from clientwise.commerce.models import OrderLine

    result = api_client(user).post("reports/run", BY_PRODUCT).json()
    for i, row in enumerate(result["rows"]):
        product_id = row["keys"][0]
        lines = OrderLine.objects.filter(product_id=product_id, order__status="completed")
        if lines.count() > 3 and lines.filter(order__line_count__gt=1).exists():
            return row, result["cells"][i][0]
    pytest.skip("the demo has no product sold in multi-line orders")


def test_a_product_cell_lists_its_lines_with_their_own_amounts(api_client, users):
    from clientwise.commerce.models import OrderLine

    row, cell = _multi_line_product_cell(api_client, users["admin"])
    data = api_client(users["admin"]).post("reports/drill", {"spec": BY_PRODUCT, "row": row["keys"],
                                                             "column": [], "limit": 1000}).json()
    assert data["kind"] == "lines"
    ids = [x["id"] for x in data["items"]]
    assert_newest_first(ids)
    lines = OrderLine.objects.filter(pk__in=ids).select_related("order")
    assert {line.product_id for line in lines} == {row["keys"][0]}  # only the cell's product
    assert any(line.order.amount != line.amount for line in lines)  # the case of the issue: orders hold more
    by_id = {line.pk: line for line in lines}
    assert all(x["amount"] == str(by_id[x["id"]].amount) and x["order_id"] == by_id[x["id"]].order_id
               for x in data["items"])
    assert sum(float(x["amount"]) for x in data["items"]) == pytest.approx(cell["revenue"], abs=0.01)
    assert sum(float(x["quantity"]) for x in data["items"]) == pytest.approx(cell["quantity"], abs=0.001)


def test_pages_cover_every_line_once(api_client, users):
    c = api_client(users["admin"])
    row, cell = _multi_line_product_cell(api_client, users["admin"])
    body = {"spec": BY_PRODUCT, "row": row["keys"], "column": [], "limit": 2}
    first = c.post("reports/drill", body).json()
    total = first["total"]
    assert first["page"] == 1 and first["limit"] == 2 and first["pages"] == -(-total // 2) and total > 3
    seen = []
    for page in range(1, first["pages"] + 1):
        data = c.post("reports/drill", {**body, "page": page}).json()
        assert data["total"] == total and data["page"] == page
        seen += [x["id"] for x in data["items"]]
    assert len(seen) == len(set(seen)) == total
    assert_newest_first(seen)  # across pages too
    assert sum(len(c.post("reports/drill", {**body, "page": p}).json()["items"]) for p in (1,)) == 2
    # A page past the end shows the last page, not an error or an empty list.
    past = c.post("reports/drill", {**body, "page": 10_000}).json()
    assert past["page"] == first["pages"] and past["items"]
    assert c.post("reports/drill", {**body, "page": 0}).status_code == 422
    assert c.post("reports/drill", {**body, "limit": 1001}).status_code == 422


def test_service_counts_and_sums_what_it_pages(users):
    spec = {**BY_PRODUCT, "rows": [], "columns": ["order_quarter"]}
    found = services.drill(actor=users["rep_sh_1"], spec=spec, row=[], column=[], page=1, size=5)
    assert found.kind == "lines" and len(found.items) == min(5, found.total)
    everything = services.drill(actor=users["rep_sh_1"], spec=spec, row=[], column=[], page=1, size=1000)
    assert everything.total == found.total
    if found.total <= 1000:
        assert sum(line.amount for line in everything.items) == found.total_amount


def test_other_facts_drill_to_customers_with_paging(api_client, users):
    spec = {"fact": "customers", "measures": ["customers"], "rows": ["customer_city"], "columns": [],
            "engine": "database"}
    result = api_client(users["admin"]).post("reports/run", spec).json()
    if not result["rows"]:
        pytest.skip("no customers")
    row = next(r for r in result["rows"] if not r["total"])
    data = api_client(users["admin"]).post("reports/drill", {"spec": spec, "row": row["keys"], "limit": 3}).json()
    assert data["kind"] == "customers" and len(data["items"]) <= 3 and data["total"] >= len(data["items"])
    assert data["total_amount"] is None


def test_page_shows_line_amounts_and_a_pager(web_client, users, api_client):
    row, _cell = _multi_line_product_cell(api_client, users["manager_sh"])
    c = web_client(users["manager_sh"])
    body = {"spec": BY_PRODUCT, "row": row["keys"], "column": [], "labels": ["x"]}
    html = c.post("/reports/drill/", json.dumps(body), content_type="application/json").content.decode()
    assert "rp-drill-table" in html and 'id="rp-drill-summary"' in html
    found = services.drill(actor=users["manager_sh"], spec=BY_PRODUCT, row=row["keys"], column=[])
    first = found.items[0]
    assert first.order.number in html
    assert re.search(r'text-end text-nowrap">[^<]*' + re.escape(f"{first.amount:,.2f}"), html), "line amount shown"
    if found.pages > 1:
        assert 'id="rp-drill-pager"' in html and 'data-page="2"' in html
        second = c.post("/reports/drill/", json.dumps({**body, "page": 2}), content_type="application/json")
        assert second.status_code == 200 and f"{found.size + 1}–" in second.content.decode()
    bad = c.post("/reports/drill/", json.dumps({**body, "page": "x"}), content_type="application/json")
    assert bad.status_code == 200  # a bad page number is page 1, not an error
