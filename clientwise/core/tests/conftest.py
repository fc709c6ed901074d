"""Core page fixtures: customers of rep_a and rep_b with orders today and on the same weekday last week."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone


@dataclass
class Sales:
    cust_a: object  # owned by rep_a (team A)
    cust_a2: object  # owned by rep_a2 (team A)
    cust_b: object  # owned by rep_b (team B)
    phone: object
    case: object


@pytest.fixture
def sales(org) -> Sales:
    """Today: cust_a 2 orders (3,999.00 + 49.90), cust_a2 1 order (3,999.00), cust_b 1 order (49.90).
    Same weekday last week: cust_a 1 order (3,999.00)."""
    from clientwise.commerce.services import create_order
    from clientwise.commerce.tests.factories import ChannelFactory, ProductFactory, StoreFactory
    from clientwise.customers.services import create_customer

    store = StoreFactory(name="徐汇店", code="SH001")
    channel = ChannelFactory(code="store", name="门店")
    phone = ProductFactory(sku="PH-1", name="Phone X", list_price=Decimal("3999.00"), unit_cost=Decimal("2800.00"))
    case = ProductFactory(sku="CS-1", name="Case", list_price=Decimal("49.90"), unit_cost=Decimal("12.35"))
    cust_a = create_customer(actor=org.rep_a, data={"name": "张伟"}, mobile="13812345678")
    cust_a2 = create_customer(actor=org.rep_a2, data={"name": "王芳"})
    cust_b = create_customer(actor=org.rep_b, data={"name": "李娜"})
    now = timezone.now()
    # Orders an hour ago (still "today" unless the suite runs in the first local hour), else a minute ago.
    today_at = now - dt.timedelta(hours=1) if timezone.localtime(now).hour >= 1 else now - dt.timedelta(minutes=1)

    def order(actor, customer, product, at):
        return create_order(actor=actor, customer_id=customer.pk, lines=[{"product_id": product.pk, "quantity": 1}],
                            store_id=store.pk, channel_id=channel.pk, ordered_at=at)

    order(org.rep_a, cust_a, phone, today_at)
    order(org.rep_a, cust_a, case, today_at)
    order(org.rep_a2, cust_a2, phone, today_at)
    order(org.rep_b, cust_b, case, today_at)
    order(org.rep_a, cust_a, phone, today_at - dt.timedelta(days=7))
    return Sales(cust_a=cust_a, cust_a2=cust_a2, cust_b=cust_b, phone=phone, case=case)
