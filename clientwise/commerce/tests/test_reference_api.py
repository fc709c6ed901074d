"""Reference-data API: categories, brands, regions, branches, stores, channels, units — the permission matrix,
create / change / delete, and refusal to delete a referenced row."""

from __future__ import annotations

import itertools

import pytest

from clientwise.commerce.models import Branch, Brand, Channel, Product, ProductCategory, Region, Store, Unit
from clientwise.commerce.tests.factories import BranchFactory, CategoryFactory, ProductFactory, StoreFactory
from clientwise.core.models import AuditLog
from clientwise.core.testing import assert_error, assert_permission_matrix, row_counts

_n = itertools.count()
WATCH = ("commerce.ProductCategory", "commerce.Brand", "commerce.Region", "commerce.Branch", "commerce.Store",
         "commerce.Channel", "commerce.Unit", "core.AuditLog")


def _bodies(region):
    """Path and a fresh create body per collection (each call a new code)."""
    return {
        "product-categories": lambda: {"code": f"C{next(_n)}", "name": "奶粉", "replenishable": True, "cycle_days": 30},
        "brands": lambda: {"name": f"Brand {next(_n)}"},
        "regions": lambda: {"code": f"R{next(_n)}", "name": "华东"},
        "branches": lambda: {"code": f"B{next(_n)}", "name": "上海分公司", "region_id": region.pk},
        "channels": lambda: {"code": f"ch{next(_n)}", "name": "官网", "kind": "web"},
        "units": lambda: {"code": f"u{next(_n)}", "name": "千克", "fractional": True},
    }


def test_matrix_reads(org, api_client):
    region = BranchFactory().region
    for path in ["product-categories", "brands", "regions", "branches", f"regions/{region.pk}", "channels", "units"]:
        assert_permission_matrix(api_client=api_client, org=org, call=lambda c, p=path: c.get(p), allowed=org.rep_a,
                                 watch=WATCH)


@pytest.mark.parametrize("path", ["product-categories", "brands", "regions", "branches", "channels", "units"])
def test_matrix_create_only_catalog_managers(org, api_client, path):
    body = _bodies(BranchFactory().region)[path]
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.post(path, body()),
                             allowed=org.admin, allowed_status=201,
                             denied_roles=("norole", "rep_a", "manager_a", "analyst"), watch=WATCH)


def test_create_change_delete_each_kind(org, api_client):
    admin = api_client(org.admin)
    region = BranchFactory().region
    for path, body in _bodies(region).items():
        created = admin.post(path, body())
        assert created.status_code == 201, (path, created.content)
        pk = created.json()["id"]
        changed = admin.patch(f"{path}/{pk}", {"name": "改名"})
        assert changed.status_code == 200 and changed.json()["name"] == "改名", (path, changed.content)
        assert admin.get(f"{path}/{pk}").json()["name"] == "改名"
        assert admin.delete(f"{path}/{pk}").status_code == 204
        assert_error(admin.get(f"{path}/{pk}"), 404, "not_found")
    assert AuditLog.objects.filter(action__endswith=".delete").count() == 6


def test_delete_refused_while_referenced(org, api_client):
    admin = api_client(org.admin)
    parent = CategoryFactory(code="FOOD")
    child = CategoryFactory(code="MILK", parent=parent)
    product = ProductFactory(category=child, brand="Mengniu")
    Brand.objects.create(name="Mengniu")
    unit = Unit.objects.create(code="kg", name="千克", fractional=True)
    Product.objects.filter(pk=product.pk).update(unit=unit)
    store = StoreFactory()
    before = row_counts(WATCH)
    cases = [(f"product-categories/{parent.pk}", "sub-categories"), (f"product-categories/{child.pk}", "products"),
             (f"brands/{Brand.objects.get().pk}", "products"), (f"units/{unit.pk}", "products"),
             (f"regions/{store.branch.region_id}", "branches"), (f"branches/{store.branch_id}", "stores")]
    for path, what in cases:
        body = assert_error(admin.delete(path), 409, "in_use")
        assert what in body["message"], body
    assert row_counts(WATCH) == before
    # A store nothing refers to can go; then its branch, then its region.
    assert admin.delete(f"stores/{store.pk}").status_code == 204
    assert admin.delete(f"branches/{store.branch_id}").status_code == 204
    assert admin.delete(f"regions/{store.branch.region_id}").status_code == 204
    assert not Store.objects.filter(pk=store.pk).exists()


def test_store_patch_closes_and_delete_refused_with_orders(org, shop, make_order, api_client):
    admin = api_client(org.admin)
    make_order()
    r = admin.patch(f"stores/{shop.store.pk}", {"active": False, "city": "苏州"})
    assert (r.status_code, r.json()["active"], r.json()["city"]) == (200, False, "苏州")
    body = assert_error(admin.delete(f"stores/{shop.store.pk}"), 409, "in_use")
    assert "orders" in body["message"]
    assert_error(admin.delete(f"channels/{shop.channel.pk}"), 409, "in_use")
    assert Channel.objects.filter(pk=shop.channel.pk).exists()
    assert_error(api_client(org.manager_a).patch(f"stores/{shop.store.pk}", {"active": True}), 403)


def test_validation_errors_are_codes(org, api_client):
    admin = api_client(org.admin)
    a = admin.post("product-categories", {"code": "A", "name": "A"}).json()
    b = admin.post("product-categories", {"code": "B", "name": "B", "parent_id": a["id"]}).json()
    assert_error(admin.patch(f"product-categories/{a['id']}", {"parent_id": b["id"]}), 422, "category_cycle")
    assert_error(admin.post("product-categories", {"code": "A", "name": "again"}), 409, "duplicate")
    assert_error(admin.post("product-categories", {"code": "bad code", "name": "x"}), 422, "invalid")
    assert_error(admin.patch(f"product-categories/{a['id']}", {"name": ""}), 422, "required")
    assert_error(admin.post("branches", {"code": "X", "name": "x", "region_id": 999999}), 422, "unknown_reference")
    admin.post("brands", {"name": "Apple"})
    assert_error(admin.post("brands", {"name": "APPLE"}), 409, "duplicate")
    assert ProductCategory.objects.get(pk=a["id"]).parent_id is None
    assert not Branch.objects.filter(code="X").exists() and Region.objects.count() == 0


def test_renaming_a_brand_renames_it_on_products(org, api_client):
    admin = api_client(org.admin)
    ProductFactory(brand="huawei")
    ProductFactory(brand="Huawei")
    brand = admin.post("brands", {"name": "Huawei"})
    assert brand.json()["product_count"] == 2
    r = admin.patch(f"brands/{brand.json()['id']}", {"name": "华为"})
    assert r.json() == {"id": brand.json()["id"], "name": "华为", "active": True, "product_count": 2}
    assert set(Product.objects.values_list("brand", flat=True)) == {"华为"}
    assert AuditLog.objects.get(action="brand.rename_products").detail["products"] == 2
