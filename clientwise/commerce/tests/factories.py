"""factory_boy factories for commerce reference data (orders are made through services.create_order)."""

from __future__ import annotations

from decimal import Decimal

import factory

from clientwise.commerce.models import Branch, Channel, Product, ProductCategory, Promoter, Region, Store


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    code = factory.Sequence(lambda n: f"R{n:02d}")
    name = factory.Sequence(lambda n: f"Region {n}")


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch

    region = factory.SubFactory(RegionFactory)
    code = factory.Sequence(lambda n: f"B{n:02d}")
    name = factory.Sequence(lambda n: f"Branch {n}")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    branch = factory.SubFactory(BranchFactory)
    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Sequence(lambda n: f"Store {n}")
    province = "上海"
    city = "上海"


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = "store"
    name = "Store"
    kind = Channel.Kind.STORE


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductCategory

    code = factory.Sequence(lambda n: f"CAT{n:03d}")
    name = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory)
    brand = "Acme"
    list_price = Decimal("100.00")
    unit_cost = Decimal("60.00")


class PromoterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promoter

    name = factory.Sequence(lambda n: f"Promoter {n}")
    store = factory.SubFactory(StoreFactory)
