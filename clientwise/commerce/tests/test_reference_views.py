"""Reference-data pages: lists (full and HTMX partial), forms, delete, stores' create/edit — and who may do what."""

from __future__ import annotations

import pytest

from clientwise.commerce.models import Branch, Brand, Channel, ProductCategory, Region, Store, Unit
from clientwise.commerce.tests.factories import CategoryFactory, ProductFactory, StoreFactory
from clientwise.core.models import AuditLog
from clientwise.core.testing import row_counts

WATCH = ("commerce.ProductCategory", "commerce.Brand", "commerce.Region", "commerce.Branch", "commerce.Store",
         "commerce.Channel", "commerce.Unit", "core.AuditLog")
KINDS = ["categories", "brands", "regions", "channels", "units"]


@pytest.mark.parametrize("kind", KINDS)
def test_lists_anonymous_norole_reader(org, web_client, client, kind):
    url = f"/commerce/reference/{kind}/"
    assert client.get(url).status_code == 302  # to the login page
    assert web_client(org.norole).get(url).status_code == 403
    page = web_client(org.rep_a).get(url)
    assert page.status_code == 200
    assert b"Reference data" in page.content or "参考数据".encode() in page.content
    assert b"/new/" not in page.content  # a reader gets no create or edit buttons
    partial = web_client(org.rep_a).get(url, {"q": "x"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and b"<html" not in partial.content


def test_list_shows_tree_and_counts(org, web_client):
    food = CategoryFactory(code="FOOD", name="食品")
    milk = CategoryFactory(code="MILK", name="奶粉", parent=food, replenishable=True, cycle_days=30)
    ProductFactory(category=milk)
    page = web_client(org.admin).get("/commerce/reference/categories/").content.decode()
    assert page.index("食品") < page.index("奶粉")
    assert f"/commerce/reference/categories/{milk.pk}/edit/" in page
    # In use: no delete button for either (a child, a product); a free category can be deleted.
    assert f"/commerce/reference/categories/{milk.pk}/delete/" not in page
    free = CategoryFactory(code="FREE")
    page = web_client(org.admin).get("/commerce/reference/categories/").content.decode()
    assert f"/commerce/reference/categories/{free.pk}/delete/" in page
    assert "FREE" not in web_client(org.admin).get("/commerce/reference/categories/", {"q": "milk"},
                                                    headers={"HX-Request": "true"}).content.decode()


@pytest.mark.parametrize("kind,data,model,lookup", [
    ("categories", {"code": "MILK", "name": "奶粉", "replenishable": "on", "cycle_days": "30"}, ProductCategory,
     {"code": "MILK", "replenishable": True, "cycle_days": 30}),
    ("brands", {"name": "华为", "active": "on"}, Brand, {"name": "华为", "active": True}),
    ("regions", {"code": "EAST", "name": "华东"}, Region, {"code": "EAST"}),
    ("channels", {"code": "web", "name": "官网", "kind": "web"}, Channel, {"code": "web", "kind": "web"}),
    ("units", {"code": "kg", "name": "千克", "fractional": "on", "active": "on"}, Unit,
     {"code": "kg", "fractional": True}),
])
def test_create_page_matrix(org, web_client, client, kind, data, model, lookup):
    url = f"/commerce/reference/{kind}/new/"
    before = row_counts(WATCH)
    assert client.post(url, data).status_code == 302 and "/login" in client.post(url, data).url
    for user in (org.norole, org.rep_a, org.manager_a):
        assert web_client(user).post(url, data).status_code == 403
    assert row_counts(WATCH) == before
    admin = web_client(org.admin)
    assert admin.get(url).status_code == 200
    r = admin.post(url, data)
    assert r.status_code == 302, r.content.decode()[:2000]
    obj = model.objects.get(**lookup)
    assert AuditLog.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).exists()
    # Edit shows the stored values and saves a change.
    edit = f"/commerce/reference/{kind}/{obj.pk}/edit/"
    assert admin.get(edit).status_code == 200
    assert admin.post(edit, {**data, "name": "新名字"}).status_code == 302
    obj.refresh_from_db()
    assert obj.name == "新名字"
    # Delete, then it is gone.
    assert admin.post(f"/commerce/reference/{kind}/{obj.pk}/delete/").status_code == 302
    assert not model.objects.filter(pk=obj.pk).exists()


def test_form_shows_service_errors(org, web_client):
    CategoryFactory(code="MILK")
    admin = web_client(org.admin)
    page = admin.post("/commerce/reference/categories/new/", {"code": "MILK", "name": "again"})
    assert page.status_code == 200 and "is-invalid" in page.content.decode()
    page = admin.post("/commerce/reference/regions/new/", {"code": "bad code", "name": "x"})
    assert page.status_code == 200 and not Region.objects.exists()


def test_branch_page_and_refused_delete(org, web_client):
    admin = web_client(org.admin)
    region = Region.objects.create(code="EAST", name="华东")
    assert admin.get(f"/commerce/reference/branches/new/?region={region.pk}").status_code == 200
    r = admin.post("/commerce/reference/branches/new/", {"code": "SH", "name": "上海分公司", "region_id": region.pk})
    assert r.status_code == 302 and r.url.endswith("/reference/regions/")
    branch = Branch.objects.get(code="SH")
    StoreFactory(branch=branch)
    r = admin.post(f"/commerce/reference/regions/{region.pk}/delete/", follow=True)
    assert "still used by 1 branches" in r.content.decode() or "仍" in r.content.decode()
    assert Region.objects.filter(pk=region.pk).exists()
    page = admin.get("/commerce/reference/regions/").content.decode()
    assert "上海分公司" in page and "/commerce/reference/branches/" in page


def test_store_create_edit_delete_pages(org, web_client, shop, make_order):
    admin = web_client(org.admin)
    branch = shop.store.branch
    assert web_client(org.rep_a).get("/commerce/stores/new/").status_code == 403
    assert admin.get("/commerce/stores/new/").status_code == 200
    r = admin.post("/commerce/stores/new/", {"code": "SH-9", "name": "静安店", "branch_id": branch.pk, "city": "上海",
                                             "urban_rural": "urban", "active": "on"})
    assert r.status_code == 302
    store = Store.objects.get(code="SH-9")
    assert admin.get(f"/commerce/stores/{store.pk}/").content.decode().count(f"/commerce/stores/{store.pk}/edit/") == 1
    r = admin.post(f"/commerce/stores/{store.pk}/edit/", {"code": "SH-9", "name": "静安店", "branch_id": branch.pk})
    store.refresh_from_db()
    assert store.active is False  # the unchecked box closes it
    assert admin.post(f"/commerce/stores/{store.pk}/delete/").status_code == 302
    assert not Store.objects.filter(pk=store.pk).exists()
    make_order()
    admin.post(f"/commerce/stores/{shop.store.pk}/delete/")
    assert Store.objects.filter(pk=shop.store.pk).exists()


def test_list_query_counts_do_not_grow_with_rows(org, web_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clientwise.commerce.models import Branch

    admin = web_client(org.admin)

    def add(n: int, tag: str) -> None:
        for i in range(n):
            parent = CategoryFactory(code=f"{tag}P{i}")
            ProductFactory(category=CategoryFactory(code=f"{tag}C{i}", parent=parent), brand=f"{tag}brand{i}")
            Brand.objects.create(name=f"{tag}brand{i}")
            Unit.objects.create(code=f"{tag}u{i}", name="u")
            region = Region.objects.create(code=f"{tag}R{i}", name="r")
            StoreFactory(branch=Branch.objects.create(code=f"{tag}B{i}", name="b", region=region))

    def counts() -> list[int]:
        out = []
        for kind in KINDS:
            with CaptureQueriesContext(connection) as ctx:
                assert admin.get(f"/commerce/reference/{kind}/", headers={"HX-Request": "true"}).status_code == 200
            out.append(len(ctx))
        return out

    add(2, "a")
    small = counts()
    add(6, "b")
    assert counts() == small
