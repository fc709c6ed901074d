"""Reference-data services (commerce/reference.py): rights, validation, audit, refusal to delete what is used."""

from __future__ import annotations

import pytest

from clientwise.commerce import reference, services
from clientwise.commerce.models import Brand, Channel, Product, ProductCategory, Region, Unit
from clientwise.commerce.tests.factories import CategoryFactory, ProductFactory
from clientwise.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from clientwise.core.models import AuditLog
from clientwise.core.testing import row_counts

WATCH = ("commerce.ProductCategory", "commerce.Brand", "commerce.Region", "commerce.Branch", "commerce.Channel",
         "commerce.Unit", "core.AuditLog")


@pytest.mark.parametrize("role", ["manager_a", "rep_a", "analyst", "marketer", "agent", "norole"])
def test_only_catalog_managers_write(org, role):
    user = getattr(org, role)
    region = Region.objects.create(code="E", name="East")
    before = row_counts(WATCH)
    calls = [
        lambda: reference.save_category(actor=user, data={"code": "X", "name": "x"}),
        lambda: reference.save_brand(actor=user, data={"name": "x"}),
        lambda: reference.save_region(actor=user, data={"code": "X", "name": "x"}),
        lambda: reference.save_region(actor=user, data={"name": "y"}, region_id=region.pk),
        lambda: reference.save_branch(actor=user, data={"code": "X", "name": "x", "region_id": region.pk}),
        lambda: reference.save_channel(actor=user, data={"code": "x", "name": "x", "kind": "web"}),
        lambda: reference.save_unit(actor=user, data={"code": "kg", "name": "kg"}),
        lambda: reference.delete_region(actor=user, region_id=region.pk),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert row_counts(WATCH) == before


def test_edit_audits_before_and_after(org):
    region = reference.save_region(actor=org.admin, data={"code": "EAST", "name": "华东"})
    reference.save_region(actor=org.admin, region_id=region.pk, data={"name": "华东大区", "team_id": org.region.pk})
    row = AuditLog.objects.get(action="region.update")
    assert (row.before, row.after) == ({"name": "华东", "team_id": None}, {"name": "华东大区", "team_id": org.region.pk})
    reference.delete_region(actor=org.admin, region_id=region.pk)
    assert AuditLog.objects.get(action="region.delete").before["code"] == "EAST"
    with pytest.raises(NotFound):
        reference.save_region(actor=org.admin, region_id=region.pk, data={"name": "x"})


def test_category_tree_rules(org):
    a = reference.save_category(actor=org.admin, data={"code": "A", "name": "A"})
    b = reference.save_category(actor=org.admin, data={"code": "B", "name": "B", "parent_id": a.pk})
    c = reference.save_category(actor=org.admin, data={"code": "C", "name": "C", "parent_id": b.pk,
                                                      "replenishable": True, "cycle_days": "14"})
    assert (c.parent.parent.code, c.cycle_days) == ("A", 14)
    with pytest.raises(ValidationFailed) as exc:
        reference.save_category(actor=org.admin, category_id=a.pk, data={"parent_id": c.pk})
    assert (exc.value.code, exc.value.field) == ("category_cycle", "parent_id")
    with pytest.raises(ValidationFailed) as exc:
        reference.save_category(actor=org.admin, category_id=a.pk, data={"parent_id": a.pk})
    assert exc.value.code == "category_cycle"
    with pytest.raises(ValidationFailed) as exc:
        reference.save_category(actor=org.admin, data={"code": "D", "name": "D", "cycle_days": "0"})
    assert exc.value.field == "cycle_days"
    with pytest.raises(DomainError) as exc:
        reference.delete_category(actor=org.admin, category_id=b.pk)
    assert (exc.value.status, exc.value.code) == (409, "in_use")
    reference.save_category(actor=org.admin, category_id=c.pk, data={"parent_id": None})
    reference.delete_category(actor=org.admin, category_id=b.pk)
    assert set(ProductCategory.objects.values_list("code", flat=True)) == {"A", "C"}


def test_saving_a_product_matches_or_creates_its_brand(org):
    cat = CategoryFactory()
    p = services.save_product(actor=org.admin, data={"sku": "P1", "name": "x", "category_id": cat.pk, "brand": "huawei"})
    assert (p.brand, Brand.objects.get().name) == ("huawei", "huawei")
    reference.save_brand(actor=org.admin, brand_id=Brand.objects.get().pk, data={"name": "Huawei"})
    q = services.save_product(actor=org.admin, data={"sku": "P2", "name": "y", "category_id": cat.pk, "brand": "HUAWEI"})
    assert (q.brand, Brand.objects.count()) == ("Huawei", 1)
    assert Product.objects.get(pk=p.pk).brand == "Huawei"


def test_units_channels_and_deactivation(org):
    kg = reference.save_unit(actor=org.admin, data={"code": "kg", "name": "千克", "fractional": True})
    ProductFactory(unit=kg)
    with pytest.raises(DomainError) as exc:
        reference.delete_unit(actor=org.admin, unit_id=kg.pk)
    assert exc.value.code == "in_use"
    reference.save_unit(actor=org.admin, unit_id=kg.pk, data={"active": False})
    assert Unit.objects.get(pk=kg.pk).active is False
    ch = reference.save_channel(actor=org.admin, data={"code": "app", "name": "小程序", "kind": "app"})
    with pytest.raises(ValidationFailed):
        reference.save_channel(actor=org.admin, channel_id=ch.pk, data={"kind": "fax"})
    with pytest.raises(DomainError) as exc:
        reference.save_channel(actor=org.admin, data={"code": "app", "name": "again", "kind": "app"})
    assert exc.value.code == "duplicate"
    reference.delete_channel(actor=org.admin, channel_id=ch.pk)
    assert not Channel.objects.exists()
