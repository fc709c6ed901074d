"""Commerce fixtures: a small catalog, one store and channel, and customers owned by rep_a and rep_b."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from clientwise.commerce.tests.factories import (
    ChannelFactory,
    ProductFactory,
    PromoterFactory,
    StoreFactory,
)


@dataclass
class Shop:
    store: object
    channel: object
    phone: object  # 3,999.00 list, 2,800.00 cost
    case: object  # 49.90 list, 12.35 cost
    old: object  # inactive
    promoter: object
    cust_a: object  # owned by rep_a
    cust_b: object  # owned by rep_b


@pytest.fixture
def shop(org) -> Shop:
    from clientwise.customers.services import create_customer

    store = StoreFactory(name="徐汇店", code="SH001")
    return Shop(
        store=store,
        channel=ChannelFactory(code="store", name="门店"),
        phone=ProductFactory(sku="PH-1", name="Phone X", list_price=Decimal("3999.00"), unit_cost=Decimal("2800.00")),
        case=ProductFactory(sku="CS-1", name="Case", list_price=Decimal("49.90"), unit_cost=Decimal("12.35")),
        old=ProductFactory(sku="OLD-1", name="Old phone", active=False),
        promoter=PromoterFactory(store=store, name="小李"),
        cust_a=create_customer(actor=org.rep_a, data={"name": "张伟"}, mobile="13812345678"),
        cust_b=create_customer(actor=org.rep_b, data={"name": "李娜"}),
    )


@pytest.fixture
def make_order(org, shop):
    """make_order(actor=rep_a, customer=cust_a, lines=None, **kw) → an order through the service."""
    from clientwise.commerce.services import create_order

    def make(actor=None, customer=None, lines=None, **kw):
        lines = [{"product_id": shop.phone.pk, "quantity": 1}] if lines is None else lines
        return create_order(actor=actor or org.rep_a, customer_id=(customer or shop.cust_a).pk, lines=lines,
                            store_id=kw.pop("store_id", shop.store.pk), channel_id=kw.pop("channel_id", shop.channel.pk),
                            **kw)

    return make
