import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from clientwise.commerce.models import Order, Product, Store
from clientwise.commerce.tests.factories import BranchFactory, CategoryFactory
from clientwise.core.testing import assert_error, assert_permission_matrix, row_counts
from clientwise.customers.models import Customer

WATCH = ("commerce.Order", "commerce.OrderLine", "commerce.Return", "commerce.Product", "commerce.Store",
         "core.AuditLog", "customers.Interaction")
_seq = itertools.count()


def order_body(shop, **kw):
    return {"customer_id": shop.cust_a.pk, "store_id": shop.store.pk, "channel_code": "store",
            "lines": [{"product_id": shop.phone.pk, "quantity": 1, "discount": "99.50"},
                      {"sku": "CS-1", "quantity": 2, "unit_price": 45}], **kw}


# --- Permission matrix for every endpoint -------------------------------------------------------------------------


def test_matrix_read_endpoints(org, shop, make_order, api_client):
    order = make_order()
    for path in ["products", f"products/{shop.phone.pk}", "product-categories", "stores",
                 f"stores/{shop.store.pk}", "channels", "orders"]:
        assert_permission_matrix(api_client=api_client, org=org, call=lambda c, p=path: c.get(p),
                                 allowed=org.analyst, watch=WATCH)
    for path in [f"orders/{order.pk}", f"customers/{shop.cust_a.pk}/orders"]:
        assert_permission_matrix(api_client=api_client, org=org, call=lambda c, p=path: c.get(p),
                                 allowed=org.rep_a, not_visible=org.rep_b, watch=WATCH)


def test_matrix_create_order(org, shop, api_client):
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.post("orders", order_body(shop)),
                             allowed=org.rep_a, allowed_status=201, not_visible=org.rep_b,
                             denied_roles=("norole", "analyst", "marketer"), watch=WATCH)


def test_matrix_cancel_and_return(org, shop, make_order, api_client):
    # Orders are made up front so that each call's side effects are only the endpoint's own.
    orders = iter([make_order() for _ in range(6)])
    watch = ("commerce.Return", "commerce.ReturnLine", "core.AuditLog", "customers.Interaction")
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             denied_roles=("norole", "analyst", "agent"), watch=watch,
                             call=lambda c: c.post(f"orders/{next(orders).pk}/cancel", {"reason": "客户取消"}))
    orders = iter([make_order() for _ in range(6)])

    def ret(c):
        order = next(orders)
        return c.post(f"orders/{order.pk}/returns", {"lines": [{"order_line_id": order.lines.get().pk,
                                                               "quantity": 1}]})

    assert_permission_matrix(api_client=api_client, org=org, call=ret, allowed=org.manager_a, allowed_status=201,
                             not_visible=org.rep_b, denied_roles=("norole", "analyst", "marketer"), watch=watch)


def test_matrix_catalog_writes(org, shop, api_client):
    cat = shop.phone.category_id
    branch = shop.store.branch_id
    assert_permission_matrix(
        api_client=api_client, org=org, allowed=org.admin, allowed_status=201, watch=WATCH,
        denied_roles=("norole", "manager_a", "rep_a", "analyst"),
        call=lambda c: c.post("products", {"sku": f"N-{next(_seq)}", "name": "新品", "category_id": cat}))
    assert_permission_matrix(
        api_client=api_client, org=org, allowed=org.admin, watch=WATCH,
        denied_roles=("norole", "manager_a", "rep_a", "analyst"),
        call=lambda c: c.patch(f"products/{shop.phone.pk}", {"name": f"Phone {next(_seq)}"}))
    assert_permission_matrix(
        api_client=api_client, org=org, allowed=org.admin, allowed_status=201, watch=WATCH,
        denied_roles=("norole", "manager_a", "rep_a", "analyst"),
        call=lambda c: c.post("stores", {"code": f"ST-{next(_seq)}", "name": "新店", "branch_id": branch}))


# --- Orders -------------------------------------------------------------------------------------------------------


def test_post_order_returns_lines_and_money_as_strings(org, shop, api_client):
    at = (timezone.now() - dt.timedelta(hours=3)).replace(microsecond=0)
    r = api_client(org.rep_a).post("orders", order_body(shop, ordered_at=at.isoformat(), number="SO-API-1",
                                                        promoter_id=shop.promoter.pk))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"] == "SO-API-1" and body["currency"] == "CNY" and body["status"] == "completed"
    assert (body["subtotal"], body["discount"], body["amount"]) == ("4089.00", "99.50", "3989.50")
    assert body["cost"] is None and body["margin"] is None  # a sales rep does not see costs
    assert [(ln["sku"], ln["quantity"], ln["unit_price"], ln["discount"], ln["amount"]) for ln in body["lines"]] == [
        ("PH-1", 1, "3999.00", "99.50", "3899.50"), ("CS-1", 2, "45.00", "0.00", "90.00")]
    assert body["channel_code"] == "store" and body["customer_name"] == "张伟"
    assert body["returned_amount"] == "0.00" and body["returns"] == []
    c = Customer.objects.get(pk=shop.cust_a.pk)
    assert (c.order_count, c.revenue) == (1, Decimal("3989.50"))
    admin_view = api_client(org.admin).get(f"orders/{body['id']}").json()
    assert (admin_view["cost"], admin_view["margin"]) == ("2824.70", "1164.80")


def test_post_order_is_idempotent_with_key(org, shop, api_client):
    client = api_client(org.rep_a)
    body = order_body(shop)
    first = client.post("orders", body, headers={"Idempotency-Key": "k-1"})
    second = client.post("orders", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
    assert Customer.objects.get(pk=shop.cust_a.pk).order_count == 1


def test_reimport_by_external_id_returns_200_with_existing(org, shop, api_client):
    client = api_client(org.rep_a)
    first = client.post("orders", order_body(shop, source="pos", external_id="TILL-9"))
    again = client.post("orders", order_body(shop, source="pos", external_id="TILL-9"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize("patch, status, code, field", [
    ({"lines": []}, 422, "required", "lines"),
    ({"lines": [{"product_id": 0, "quantity": 1}]}, 422, "unknown_reference", "lines.0.product_id"),
    ({"lines": [{"sku": "PH-1", "quantity": 0}]}, 422, "invalid", "lines.0.quantity"),
    ({"lines": [{"sku": "PH-1", "quantity": 1.5}]}, 422, "fractional_quantity", "lines.0.quantity"),
    ({"lines": [{"sku": "PH-1", "quantity": 1, "unit_price": "12abc"}]}, 422, "invalid_amount",
     "lines.0.unit_price"),
    ({"lines": [{"sku": "PH-1", "quantity": 1, "discount": "5000"}]}, 422, "discount_too_large", "lines.0.discount"),
    ({"lines": "nope"}, 422, "invalid", "lines"),
    ({"customer_id": "abc"}, 422, "invalid", "customer_id"),
    ({"customer_id": 999999}, 404, "not_found", None),
    ({"ordered_at": "not a date"}, 422, "invalid", "ordered_at"),
    ({"ordered_at": "2999-01-01T00:00:00+08:00"}, 422, "invalid_date", "ordered_at"),
    ({"store_id": 999999}, 422, "unknown_reference", "store_id"),
    ({"currency": "ABC"}, 422, "invalid", "currency"),
    ({"number": "x" * 80}, 422, "invalid", "number"),
])
def test_post_order_bad_input_is_4xx_json(org, shop, api_client, patch, status, code, field):
    client = api_client(org.rep_a)  # issuing the token writes an audit row; count after it
    before = row_counts(WATCH)
    r = client.post("orders", order_body(shop, **patch))
    body = assert_error(r, status, code)
    if field is not None:
        assert body["field"] == field
    assert row_counts(WATCH) == before


def test_post_order_duplicate_number_is_409(org, shop, api_client):
    client = api_client(org.rep_a)
    assert client.post("orders", order_body(shop, number="SO-9")).status_code == 201
    assert_error(client.post("orders", order_body(shop, number="SO-9")), 409, "duplicate")


def test_post_order_not_json_is_4xx(org, shop, api_client):
    client = api_client(org.rep_a)
    r = client.client.post("/api/v1/orders", "{not json", content_type="application/json", headers=client.headers)
    assert 400 <= r.status_code < 500


def test_cancel_and_return_over_api(org, shop, make_order, api_client):
    client = api_client(org.rep_a)
    order = make_order(lines=[{"sku": "CS-1", "quantity": 4, "unit_price": "25"}])
    line = order.lines.get()
    r = client.post(f"orders/{order.pk}/returns", {"lines": [{"order_line_id": line.pk, "quantity": 1}],
                                                   "reason": "破损"})
    assert r.status_code == 201, r.content
    assert r.json()["amount"] == "25.00" and r.json()["lines"] == [
        {"order_line_id": line.pk, "quantity": 1, "amount": "25.00"}]
    bad = client.post(f"orders/{order.pk}/returns", {"lines": [{"order_line_id": line.pk, "quantity": 4}]})
    assert assert_error(bad, 422, "over_return")["field"] == "lines.0.quantity"
    assert_error(client.post(f"orders/{order.pk}/returns", {"lines": [{"order_line_id": "x", "quantity": 1}]}), 422)
    assert_error(client.post(f"orders/{order.pk}/returns", {}), 422)
    detail = client.get(f"orders/{order.pk}").json()
    assert detail["returned_amount"] == "25.00" and detail["lines"][0]["returned_quantity"] == 1
    assert_error(client.post(f"orders/{order.pk}/cancel", {"reason": ""}), 422, "required")
    assert_error(client.post(f"orders/{order.pk}/cancel", {}), 422)
    r = client.post(f"orders/{order.pk}/cancel", {"reason": "取消"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert_error(client.post(f"orders/{order.pk}/cancel", {"reason": "again"}), 409, "order_cancelled")
    assert_error(client.post("orders/999999/cancel", {"reason": "x"}), 404)
    c = Customer.objects.get(pk=shop.cust_a.pk)
    assert (c.order_count, c.revenue) == (0, Decimal("0.00"))


def test_order_list_filters_visibility_and_cursor(org, shop, make_order, api_client):
    now = timezone.now()
    a1 = make_order(ordered_at=now - dt.timedelta(days=3), number="SO-A1")
    a2 = make_order(ordered_at=now - dt.timedelta(days=1), number="SO-A2",
                    lines=[{"sku": "CS-1", "quantity": 1}])
    b1 = make_order(actor=org.rep_b, customer=shop.cust_b, number="SO-B1")
    ids = lambda r: [o["id"] for o in r.json()["items"]]  # noqa: E731
    assert ids(api_client(org.rep_a).get("orders")) == [a2.pk, a1.pk]
    assert ids(api_client(org.rep_b).get("orders")) == [b1.pk]
    admin = api_client(org.admin)
    assert ids(admin.get("orders")) == [b1.pk, a2.pk, a1.pk]
    assert ids(admin.get("orders", {"customer_id": shop.cust_b.pk})) == [b1.pk]
    assert ids(admin.get("orders", {"amount_min": "100"})) == [b1.pk, a1.pk]
    assert ids(admin.get("orders", {"amount_max": "49.90"})) == [a2.pk]
    assert ids(admin.get("orders", {"q": "SO-A"})) == [a2.pk, a1.pk]
    assert ids(admin.get("orders", {"q": "so-b"})) == [b1.pk]
    assert ids(admin.get("orders", {"q": "李娜"})) == [b1.pk]
    assert ids(admin.get("orders", {"q": "13812345678"})) == [a2.pk, a1.pk]
    day = timezone.localdate(now - dt.timedelta(days=3)).isoformat()
    assert ids(admin.get("orders", {"date_from": day, "date_to": day})) == [a1.pk]
    assert ids(admin.get("orders", {"status": "cancelled"})) == []
    assert_error(admin.get("orders", {"status": "weird"}), 422)
    assert_error(admin.get("orders", {"date_from": "yesterday"}), 422)
    assert_error(admin.get("orders", {"limit": 0}), 422)
    page1 = admin.get("orders", {"limit": 2}).json()
    assert [o["id"] for o in page1["items"]] == [b1.pk, a2.pk] and page1["next_cursor"]
    page2 = admin.get("orders", {"limit": 2, "cursor": page1["next_cursor"]}).json()
    assert [o["id"] for o in page2["items"]] == [a1.pk] and page2["next_cursor"] is None
    assert_error(admin.get("orders", {"cursor": "garbage"}), 400, "invalid_cursor")
    import base64
    import json
    forged = base64.urlsafe_b64encode(json.dumps({"v": "not-a-time", "id": 1, "d": "n"}).encode()).decode()
    assert_error(admin.get("orders", {"cursor": forged}), 400, "invalid_cursor")
    forged = base64.urlsafe_b64encode(json.dumps({"v": 5, "id": "x", "d": "n"}).encode()).decode()
    assert_error(admin.get("orders", {"cursor": forged}), 400, "invalid_cursor")


def test_customer_orders_endpoint(org, shop, make_order, api_client):
    o1 = make_order(ordered_at=timezone.now() - dt.timedelta(days=2))
    o2 = make_order()
    r = api_client(org.rep_a).get(f"customers/{shop.cust_a.pk}/orders")
    assert [o["id"] for o in r.json()["items"]] == [o2.pk, o1.pk]
    assert r.json()["items"][0]["amount"] == "3999.00"
    assert_error(api_client(org.rep_b).get(f"customers/{shop.cust_a.pk}/orders"), 404)
    assert_error(api_client(org.rep_a).get("customers/999999/orders"), 404)


# --- Catalog ------------------------------------------------------------------------------------------------------


def test_products_list_filters_and_cost_visibility(org, shop, api_client):
    other = CategoryFactory(code="ACC", name="配件")
    Product.objects.create(sku="AC-1", name="Charger", category=other, brand="Volt", list_price=Decimal("9.90"))
    rep = api_client(org.rep_a).get("products").json()
    assert [p["sku"] for p in rep["items"]] == ["AC-1", "CS-1", "OLD-1", "PH-1"]
    assert {p["unit_cost"] for p in rep["items"]} == {None}
    admin = api_client(org.admin)
    assert admin.get(f"products/{shop.phone.pk}").json()["unit_cost"] == "2800.00"
    assert admin.get(f"products/{shop.phone.pk}").json()["list_price"] == "3999.00"
    assert [p["sku"] for p in admin.get("products", {"brand": "Volt"}).json()["items"]] == ["AC-1"]
    assert [p["sku"] for p in admin.get("products", {"category_id": other.pk}).json()["items"]] == ["AC-1"]
    assert [p["sku"] for p in admin.get("products", {"active": "false"}).json()["items"]] == ["OLD-1"]
    assert [p["sku"] for p in admin.get("products", {"q": "PH-"}).json()["items"]] == ["PH-1"]
    first = admin.get("products", {"limit": 3}).json()
    rest = admin.get("products", {"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [p["sku"] for p in rest["items"]] == ["PH-1"]
    assert_error(admin.get("products/999999"), 404)
    assert_error(admin.get("products", {"category_id": "x"}), 422)


def test_product_create_patch_and_bad_input(org, shop, api_client):
    admin = api_client(org.admin)
    cat = shop.phone.category_id
    r = admin.post("products", {"sku": "TV-1", "name": "电视", "category_id": cat, "list_price": "2,999",
                                "unit_cost": 1800.5, "attributes": {"size": "55"}})
    assert r.status_code == 201, r.content
    assert (r.json()["list_price"], r.json()["unit_cost"], r.json()["attributes"]) == ("2999.00", "1800.50",
                                                                                       {"size": "55"})
    pid = r.json()["id"]
    r = admin.patch(f"products/{pid}", {"active": False, "brand": "Sky"})
    assert (r.json()["active"], r.json()["brand"], r.json()["name"]) == (False, "Sky", "电视")
    before = row_counts(WATCH)
    assert_error(admin.post("products", {"sku": "TV-1", "name": "x", "category_id": cat}), 409, "duplicate")
    assert_error(admin.post("products", {"sku": "", "name": "x", "category_id": cat}), 422, "required")
    assert_error(admin.post("products", {"sku": "Z-1", "name": "x", "category_id": 0}), 422, "unknown_reference")
    assert_error(admin.post("products", {"sku": "Z-1", "name": "x", "category_id": cat, "list_price": "-1"}), 422)
    assert_error(admin.post("products", {"sku": "Z-1", "name": "x"}), 422)
    assert_error(admin.post("products", {"sku": "Z-1", "name": "x", "category_id": cat, "attributes": [1]}), 422)
    assert_error(admin.patch(f"products/{pid}", {"name": ""}), 422, "required")
    assert_error(admin.patch(f"products/{pid}", {"list_price": "abc"}), 422, "invalid_amount")
    assert_error(admin.patch(f"products/{pid}", {"sku": "PH-1"}), 409, "duplicate")
    assert_error(admin.patch("products/999999", {"name": "x"}), 404)
    assert row_counts(WATCH) == before


def test_stores_categories_channels(org, shop, api_client):
    admin = api_client(org.admin)
    branch = BranchFactory(code="BJ", name="北京分公司")
    r = admin.post("stores", {"code": "BJ-01", "name": "朝阳店", "branch_id": branch.pk, "city": "北京",
                              "opened_on": "2025-05-01"})
    assert r.status_code == 201, r.content
    assert (r.json()["branch_name"], r.json()["region_id"], r.json()["opened_on"]) == (
        "北京分公司", branch.region_id, "2025-05-01")
    assert admin.get(f"stores/{r.json()['id']}").json()["code"] == "BJ-01"
    assert [s["code"] for s in admin.get("stores").json()["items"]] == ["BJ-01", "SH001"]
    assert [s["code"] for s in admin.get("stores", {"region_id": branch.region_id}).json()["items"]] == ["BJ-01"]
    before = Store.objects.count()
    assert_error(admin.post("stores", {"code": "BJ-01", "name": "x", "branch_id": branch.pk}), 409, "duplicate")
    assert_error(admin.post("stores", {"code": "X", "name": "x", "branch_id": 0}), 422, "unknown_reference")
    assert_error(admin.post("stores", {"code": "X", "name": "x", "branch_id": branch.pk,
                                       "urban_rural": "space"}), 422)
    assert_error(admin.post("stores", {"code": "X", "name": "x", "branch_id": branch.pk,
                                       "opened_on": "someday"}), 422)
    assert Store.objects.count() == before
    assert_error(admin.get("stores/999999"), 404)
    cats = admin.get("product-categories").json()
    assert {c["id"] for c in cats} == {shop.phone.category_id, shop.case.category_id, shop.old.category_id}
    assert admin.get("channels").json() == [{"id": shop.channel.pk, "code": "store", "name": "门店", "kind": "store"}]
