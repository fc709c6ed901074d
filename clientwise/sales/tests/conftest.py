"""Sales fixtures: customers made through the customers services, a lead maker."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_customer(org):
    from clientwise.customers.services import create_customer

    def make(owner=None, name="华东机电有限公司", kind="organization", **data):
        owner = owner or org.rep_a
        return create_customer(actor=org.admin, data={"name": name, "kind": kind, "owner_id": owner.pk,
                                                      "team_id": owner.team_id, **data})

    return make


@pytest.fixture
def make_opp(org, make_customer):
    from clientwise.sales.services import create_opportunity

    def make(actor=None, customer=None, amount="1000.00", expected_close="2026-12-15", **data):
        actor = actor or org.rep_a
        customer = customer or make_customer(owner=actor if actor.role == "sales_rep" else org.rep_a)
        return create_opportunity(actor=actor, data={"customer_id": customer.pk, "name": data.pop("name", "Deal"),
                                                     "amount": amount, "expected_close": expected_close, **data})

    return make
