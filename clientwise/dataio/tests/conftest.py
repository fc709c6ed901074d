"""Fixtures for import tests: files under a temporary var dir, a small catalog, helpers to run a job."""

from __future__ import annotations

from decimal import Decimal

import pytest


@pytest.fixture(autouse=True)
def import_var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def catalog(db, org):
    """Two products, one inactive; a store; a channel."""
    from clientwise.commerce.models import Branch, Channel, Product, ProductCategory, Region, Store

    region = Region.objects.create(code="E", name="East")
    branch = Branch.objects.create(code="SH", name="Shanghai", region=region)
    store = Store.objects.create(code="S001", name="Nanjing Road", branch=branch)
    cat = ProductCategory.objects.create(code="PHONE", name="Phones")
    p1 = Product.objects.create(sku="P-1", name="Phone X", category=cat, list_price=Decimal("100.00"),
                                unit_cost=Decimal("60.00"))
    p2 = Product.objects.create(sku="P-2", name="Case", category=cat, list_price=Decimal("20.00"),
                                unit_cost=Decimal("5.00"))
    old = Product.objects.create(sku="P-OLD", name="Old phone", category=cat, list_price=Decimal("50.00"),
                                 active=False)
    channel = Channel.objects.create(code="store", name="Store", kind="store")
    return {"store": store, "p1": p1, "p2": p2, "old": old, "channel": channel, "branch": branch, "category": cat}
