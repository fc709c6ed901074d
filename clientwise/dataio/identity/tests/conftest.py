"""Identity fixtures: customers of team A (rep_a) and team B (rep_b), a product, and pairs in the queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from clientwise.commerce.tests.factories import ProductFactory, StoreFactory


@pytest.fixture
def product(db):
    return ProductFactory(sku="PH-1", name="Phone X", list_price=Decimal("100.00"), unit_cost=Decimal("60.00"))


@pytest.fixture
def store(db):
    return StoreFactory(code="SH001")


@pytest.fixture
def people(org, product, store):
    """Two records of one person in team A (a, b), one customer of team B (c)."""
    from clientwise.commerce.services import create_order, create_return
    from clientwise.customers import services as cs

    a = cs.create_customer(actor=org.rep_a, data={"name": "张伟", "city": "上海"}, mobile="13812345678",
                           email="zhangwei@example.com")
    b = cs.create_customer(actor=org.rep_a, data={"name": "张玮", "city": "上海", "birth_date": "1990-05-01",
                                                  "occupation": "教师", "member_number": "M001"},
                           mobile="13812345678", email="zw@qq.com", tags=["VIP"])
    cs.add_contact_point(actor=org.rep_a, customer_id=b.pk, kind="mobile", value="13900001111")
    c = cs.create_customer(actor=org.rep_b, data={"name": "李娜"}, mobile="13700002222")
    t0 = timezone.now() - dt.timedelta(days=10)
    cs.set_consent(actor=org.rep_a, customer_id=a.pk, channel="sms", purpose="marketing", status="granted",
                   decided_at=t0)
    cs.set_consent(actor=org.rep_a, customer_id=b.pk, channel="sms", purpose="marketing", status="withdrawn",
                   decided_at=t0 + dt.timedelta(days=2))
    cs.set_consent(actor=org.rep_a, customer_id=b.pk, channel="email", purpose="marketing", status="granted",
                   decided_at=t0)
    cs.log_interaction(actor=org.rep_a, customer_id=b.pk, kind="call", subject="asked about a case")
    line = [{"product_id": product.pk, "quantity": 1}]
    create_order(actor=org.rep_a, customer_id=a.pk, lines=line, ordered_at=t0)
    create_order(actor=org.rep_a, customer_id=b.pk, lines=line, ordered_at=t0 - dt.timedelta(days=5))
    o3 = create_order(actor=org.rep_a, customer_id=b.pk, lines=[{"product_id": product.pk, "quantity": 2}],
                      ordered_at=t0 + dt.timedelta(days=1))
    create_return(actor=org.rep_a, order_id=o3.pk, lines=[{"order_line_id": o3.lines.first().pk, "quantity": 1}])
    from clientwise.customers.models import Customer

    return {k: Customer.objects.get(pk=v.pk) for k, v in {"a": a, "b": b, "c": c}.items()}


@pytest.fixture
def pair(people):
    """The pending pair (a, b) as a batch run would store it."""
    from clientwise.dataio.identity.models import DuplicateCandidate

    a, b = people["a"], people["b"]
    return DuplicateCandidate.objects.create(
        customer_a_id=min(a.pk, b.pk), customer_b_id=max(a.pk, b.pk), probability=0.97, match_weight=12.0,
        evidence={"name": {"label": "same pinyin (another character)", "weight": 11.7, "bf": 3300.0},
                  "mobile": {"label": "same mobile", "weight": 14.0, "bf": 16384.0}})


@pytest.fixture
def cross_pair(people):
    """A pair with a team-B customer: manager_a may not see it."""
    from clientwise.dataio.identity.models import DuplicateCandidate

    a, c = people["a"], people["c"]
    return DuplicateCandidate.objects.create(customer_a_id=min(a.pk, c.pk), customer_b_id=max(a.pk, c.pk),
                                             probability=0.91, evidence={})


@pytest.fixture
def manager_b(org):
    """A manager of team B: may merge, but does not see team A's customers."""
    from clientwise.accounts.services import create_user
    from clientwise.core.testing import TEST_PASSWORD

    return create_user(username="manager_b", password=TEST_PASSWORD, role="manager", team=org.team_b,
                       display_name="manager_b")
