"""Reference-data import kinds (commerce/imports.py) and the products/stores imports' create_missing option."""

from __future__ import annotations

import pytest

from clientwise.commerce.models import Branch, Brand, Channel, Product, ProductCategory, Region, Store, Unit
from clientwise.core.models import AuditLog
from clientwise.dataio import registry
from clientwise.dataio.handlers import HANDLERS
from clientwise.dataio.models import ImportJob
from clientwise.dataio.tests.helpers import csv_text, run


@pytest.fixture(autouse=True)
def import_var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return job.created, job.updated, job.unchanged, job.rejected


def quarantine(job: ImportJob) -> list[tuple[int, str, str]]:
    return [(q.row_number, q.field, q.code) for q in job.quarantine.order_by("row_number")]


def test_commerce_registers_its_kinds():
    names = [s.name for s in registry.kinds()]
    assert names[:5] == ["customers", "products", "stores", "orders", "interactions"]
    assert {"categories", "brands", "regions", "branches", "channels", "units"} <= set(names)
    assert HANDLERS["categories"] is registry.get("categories").handler
    assert dict(ImportJob._meta.get_field("kind").choices)["units"] is not None


def test_categories_tree_from_a_file_parent_by_code(org):
    data = csv_text([["品类编码", "品类名称", "上级品类", "复购", "复购周期"],
                     ["FOOD", "食品", "", "否", ""],
                     ["MILK", "奶粉", "FOOD", "是", "30"],
                     ["TOY", "玩具", "NOPE", "", ""],
                     ["BAD", "坏周期", "FOOD", "是", "1.5"]])
    job = run(org.admin, "categories", "c.csv", data)
    assert counts(job) == (2, 0, 0, 2)
    assert quarantine(job) == [(4, "parent", "unknown_reference"), (5, "cycle_days", "invalid")]
    milk = ProductCategory.objects.get(code="MILK")
    assert (milk.parent.code, milk.replenishable, milk.cycle_days, milk.source) == ("FOOD", True, 30, "pos")
    assert AuditLog.objects.filter(action="category.create").count() == 2
    # Re-import: unchanged rows write nothing; a changed name is an update.
    again = csv_text([["code", "name", "parent"], ["FOOD", "食品", ""], ["MILK", "婴儿奶粉", "FOOD"]])
    job = run(org.admin, "categories", "c2.csv", again)
    assert counts(job) == (0, 1, 1, 0)
    assert ProductCategory.objects.get(code="MILK").name == "婴儿奶粉"


def test_category_cycle_is_quarantined_with_its_code(org):
    run(org.admin, "categories", "c.csv", csv_text([["code", "name", "parent"], ["A", "A", ""], ["B", "B", "A"]]))
    job = run(org.admin, "categories", "c2.csv", csv_text([["code", "name", "parent"], ["A", "A", "B"]]))
    assert quarantine(job) == [(2, "parent_id", "category_cycle")]
    assert ProductCategory.objects.get(code="A").parent_id is None


def test_regions_branches_channels_units_brands(org):
    job = run(org.admin, "regions", "r.csv", csv_text([["大区编码", "大区名称"], ["EAST", "华东"], ["bad code!", "x"]]))
    assert counts(job) == (1, 0, 0, 1)
    job = run(org.admin, "branches", "b.csv", csv_text([["分公司编码", "分公司名称", "大区编码"],
                                                        ["SH", "上海分公司", "EAST"], ["BJ", "北京分公司", "NORTH"]]))
    assert counts(job) == (1, 0, 0, 1)
    assert quarantine(job) == [(3, "region", "unknown_reference")]
    assert Branch.objects.get(code="SH").region.code == "EAST"
    job = run(org.admin, "channels", "ch.csv", csv_text([["渠道编码", "渠道名称", "渠道类型"], ["web", "官网", "线上"],
                                                         ["fax", "传真", "传真"]]))
    assert counts(job) == (1, 0, 0, 1)
    assert Channel.objects.get(code="web").kind == "web"
    job = run(org.admin, "units", "u.csv", csv_text([["单位编码", "单位名称", "可拆零"], ["kg", "千克", "是"],
                                                     ["pcs", "件", "否"]]))
    assert counts(job) == (2, 0, 0, 0)
    assert Unit.objects.get(code="kg").fractional is True
    job = run(org.admin, "brands", "br.csv", csv_text([["品牌"], ["华为"], ["Apple"], ["apple"]]))
    assert counts(job) == (2, 0, 0, 1)
    assert quarantine(job) == [(4, "name", "duplicate")]


def test_branches_create_missing_region_when_asked(org):
    data = csv_text([["code", "name", "region"], ["BJ", "北京分公司", "NORTH"]])
    job = run(org.admin, "branches", "b.csv", data, options={"create_missing": True})
    assert counts(job) == (1, 0, 0, 0)
    region = Region.objects.get(code="NORTH")
    assert job.result == {"created_references": {"regions": [{"id": region.pk, "code": "NORTH", "name": "NORTH"}]}}


def test_reference_imports_need_catalog_rights(org):
    from clientwise.core.errors import DomainError
    from clientwise.dataio import services
    from clientwise.dataio.tests.helpers import upload

    with pytest.raises(DomainError) as exc:
        services.create_job(actor=org.manager_a, kind="categories", source="pos",
                            upload=upload("c.csv", csv_text([["code", "name"], ["A", "A"]])))
    assert exc.value.code == "permission_denied"
    assert not ImportJob.objects.exists()


PRODUCTS = [["商品编码", "商品名称", "品类编码", "品牌", "单位"],
            ["P-1", "有机牛奶", "DAIRY", "Mengniu", "L"],
            ["P-2", "酸奶", "DAIRY", "mengniu", ""],
            ["P-3", "苹果", "FRUIT", "", "kg"]]


def test_products_without_create_missing_quarantine_unknown_references(org):
    Unit.objects.create(code="kg", name="千克", fractional=True)
    job = run(org.admin, "products", "p.csv", csv_text(PRODUCTS))
    assert counts(job) == (0, 0, 0, 3)
    assert quarantine(job) == [(2, "category", "unknown_reference"), (3, "category", "unknown_reference"),
                               (4, "category", "unknown_reference")]
    assert job.result == {}
    assert not ProductCategory.objects.exists()


def test_products_create_missing_categories_units_and_brands_listed_in_result(org):
    job = run(org.admin, "products", "p.csv", csv_text(PRODUCTS), options={"create_missing": "1"})
    assert counts(job) == (3, 0, 0, 0)
    created = job.result["created_references"]
    assert [r["code"] for r in created["categories"]] == ["DAIRY", "FRUIT"]
    assert [r["code"] for r in created["units"]] == ["L", "kg"]
    assert [r["name"] for r in created["brands"]] == ["Mengniu"]
    # The brand text takes the Brand row's spelling; case differences are one brand.
    assert list(Product.objects.order_by("sku").values_list("brand", "unit__code", "category__code")) == [
        ("Mengniu", "L", "DAIRY"), ("Mengniu", None, "DAIRY"), ("", "kg", "FRUIT")]
    assert Brand.objects.count() == 1
    batch = AuditLog.objects.get(action="import.batch")
    assert batch.detail["created_references"]["categories"][0]["code"] == "DAIRY"
    # Nothing new the second time: the result keeps what the first run made, the new job lists nothing.
    again = run(org.admin, "products", "p.csv", csv_text(PRODUCTS), options={"create_missing": True})
    assert counts(again) == (0, 0, 3, 0)
    assert again.result == {}


def test_stores_create_missing_branch_and_region(org):
    data = csv_text([["门店编码", "门店名称", "分公司编码", "大区编码"],
                     ["S1", "徐汇店", "SH", "EAST"],
                     ["S2", "静安店", "SH", "EAST"],
                     ["S3", "无大区店", "HZ", ""]])
    job = run(org.admin, "stores", "s.csv", data, options={"create_missing": True})
    assert counts(job) == (2, 0, 0, 1)
    assert quarantine(job) == [(4, "region", "required")]
    assert Store.objects.get(code="S2").branch.region.code == "EAST"
    created = job.result["created_references"]
    assert ([r["code"] for r in created["regions"]], [r["code"] for r in created["branches"]]) == (["EAST"], ["SH"])
    assert not Branch.objects.filter(code="HZ").exists()


def test_preview_creates_nothing(org):
    from clientwise.dataio import services
    from clientwise.dataio.tests.helpers import upload

    job = services.create_job(actor=org.admin, kind="products", upload=upload("p.csv", csv_text(PRODUCTS)),
                              source="pos", options={"create_missing": True})
    result = services.preview(actor=org.admin, job_id=job.pk)
    assert [r.outcome for r in result.rows] == ["created"] * 3
    assert not ProductCategory.objects.exists() and not Brand.objects.exists() and not Unit.objects.exists()


def test_job_page_lists_created_references_and_mapping_offers_the_option(org, web_client):
    from clientwise.dataio import services
    from clientwise.dataio.tests.helpers import upload

    admin = web_client(org.admin)
    job = services.create_job(actor=org.admin, kind="products", upload=upload("p.csv", csv_text(PRODUCTS)),
                              source="pos")
    page = admin.get(f"/data/imports/{job.pk}/mapping/").content.decode()
    assert 'name="create_missing"' in page
    mapping = {f"map_{k}": v for k, v in job.mapping.items()}
    assert admin.post(f"/data/imports/{job.pk}/mapping/", {**mapping, "create_missing": "1"}).status_code == 302
    job.refresh_from_db()
    assert job.options["create_missing"] is True
    job = services.run_import(job_id=job.pk)
    page = admin.get(f"/data/imports/{job.pk}/").content.decode()
    assert 'id="created-references"' in page and ">DAIRY<" in page and ">Mengniu<" in page


def test_api_job_carries_the_result(org, api_client):
    job = run(org.admin, "products", "p.csv", csv_text(PRODUCTS), options={"create_missing": True})
    body = api_client(org.admin).get(f"imports/{job.pk}").json()
    assert [r["code"] for r in body["result"]["created_references"]["categories"]] == ["DAIRY", "FRUIT"]


def test_cli_imports_a_registered_kind_with_create_missing(org, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "p.csv"
    path.write_text(csv_text(PRODUCTS), encoding="utf-8")
    out = StringIO()
    call_command("import", "products", str(path), "--source", "erp", "--create-missing", stdout=out)
    assert "Created categories: DAIRY, FRUIT" in out.getvalue()
    cats = tmp_path / "c.csv"
    cats.write_text(csv_text([["code", "name", "parent"], ["SNACK", "零食", "DAIRY"]]), encoding="utf-8")
    call_command("import", "categories", str(cats), stdout=StringIO())
    assert ProductCategory.objects.get(code="SNACK").parent.code == "DAIRY"


def test_entry_grid_takes_reference_kinds(org, web_client):
    import json

    admin = web_client(org.admin)
    assert admin.get("/data/grid/categories/").status_code == 200
    rows = [{"code": "FOOD", "name": "食品"}, {"code": "MILK", "name": "奶粉", "parent": "FOOD", "replenishable": "是",
                                             "cycle_days": "30"}]
    r = admin.post("/data/grid/categories/save/", json.dumps({"rows": rows}), content_type="application/json")
    assert r.status_code == 200, r.content
    assert (r.json()["created"], r.json()["rejected"]) == (2, 0)
    assert ProductCategory.objects.get(code="MILK").parent.code == "FOOD"


def test_units_created_by_an_import_allow_fractions_when_they_are_measures(org):
    """A products file naming kg and L (and a count unit, pcs): the measures take fractional quantities at once, so
    the orders that follow (2.345 kg of rice, 35.27 L of fuel) are not quarantined as whole-piece units."""
    from clientwise.commerce.rules import unit_allows_fractions

    data = csv_text([["商品编码", "商品名称", "品类", "单位"], ["R-1", "散装大米", "RICE", "kg"],
                     ["F-1", "汽油92#", "FUEL", " L "], ["W-1", "矿泉水", "DRINK", "pcs"]])
    run(org.admin, "products", "p.csv", data, options={"create_missing": "1"})
    assert dict(Unit.objects.values_list("code", "fractional")) == {"kg": True, "L": True, "pcs": False}
    assert [unit_allows_fractions(c) for c in ("KG", "公斤", "m²", "ml", "pcs", "件", "")] == [
        True, True, True, True, False, False, False]
