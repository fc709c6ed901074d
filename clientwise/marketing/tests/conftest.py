"""Marketing fixtures: customers made through the customers services, with consent and contact points."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_customer(org):
    from clientwise.customers.services import create_customer, set_consent

    def make(name="王芳", owner=None, mobile="", email="", consent=(), **data):
        owner = owner or org.rep_a
        c = create_customer(actor=org.admin, data={"name": name, "owner_id": owner.pk, "team_id": owner.team_id,
                                                   **data}, mobile=mobile, email=email)
        for channel in consent:
            set_consent(actor=org.admin, customer_id=c.pk, channel=channel, purpose="marketing", status="granted")
        return c

    return make


@pytest.fixture
def world(org, make_customer):
    """Eight customers of teams A and B with cities, areas, tags, consent, purchases and scores — enough for every
    kind of audience condition to keep some and drop others."""
    import datetime as dt
    from types import SimpleNamespace

    from django.utils import timezone

    from clientwise.analytics.models import CustomerScore, ScoringBatch
    from clientwise.commerce.services import create_order
    from clientwise.commerce.tests.factories import CategoryFactory, ProductFactory
    from clientwise.customers.services import set_tags

    now = timezone.now()
    shoes = CategoryFactory(name="Shoes")
    boots = CategoryFactory(name="Boots", parent=shoes)
    soap = CategoryFactory(name="Soap")
    boot = ProductFactory(category=boots, list_price="300.00")
    bar = ProductFactory(category=soap, list_price="20.00")
    w = SimpleNamespace(now=now, shoes=shoes, boots=boots, soap=soap, boot=boot, bar=bar)
    specs = [  # name, owner, city, area, mobile, consent, tags
        ("甲一", org.rep_a, "上海", "urban", "13800000001", ("sms",), ["VIP"]),
        ("甲二", org.rep_a, "上海", "rural", "13800000002", ("sms", "email"), []),
        ("甲三", org.rep_a2, "杭州", "rural", "13800000003", (), ["VIP", "新客"]),
        ("甲四", org.rep_a2, "杭州", "urban", "", ("email",), []),
        ("乙一", org.rep_b, "上海", "rural", "13800000005", ("sms",), []),
        ("乙二", org.rep_b, "南京", "urban", "13800000006", (), ["VIP"]),
        ("乙三", org.rep_b, "南京", "rural", "13800000007", ("sms",), []),
        ("乙四", org.rep_b, "上海", "urban", "13800000008", ("sms", "email"), ["新客"]),
    ]
    w.customers = []
    for name, owner, city, area, mobile, consent, tags in specs:
        c = make_customer(name=name, owner=owner, city=city, urban_rural=area, mobile=mobile, consent=consent)
        if tags:
            set_tags(actor=org.admin, customer_id=c.pk, names=tags)
        w.customers.append(c)
    c = w.customers
    # Purchases: boots 10 and 200 days ago, soap 5 days ago.
    create_order(actor=org.admin, customer_id=c[0].pk, lines=[{"product_id": boot.pk, "quantity": 1}],
                 ordered_at=now - dt.timedelta(days=10))
    create_order(actor=org.admin, customer_id=c[1].pk, lines=[{"product_id": boot.pk, "quantity": 1}],
                 ordered_at=now - dt.timedelta(days=200))
    create_order(actor=org.admin, customer_id=c[4].pk, lines=[{"product_id": bar.pk, "quantity": 2}],
                 ordered_at=now - dt.timedelta(days=5))
    create_order(actor=org.admin, customer_id=c[5].pk, lines=[{"product_id": boot.pk, "quantity": 1}],
                 ordered_at=now - dt.timedelta(days=3))
    batch = ScoringBatch.objects.create(as_of=timezone.localdate(), is_current=True, status="done")
    for i, cust in enumerate(c):
        CustomerScore.objects.create(batch=batch, customer=cust, as_of=batch.as_of, churn_probability=i / 10,
                                     value_tier="ABCD"[i % 4], rfm_r=1 + i % 5, rfm_f=1 + (i * 2) % 5,
                                     rfm_segment="at_risk" if i % 2 else "champions", clv=100 * i)
    w.batch = batch
    return w
