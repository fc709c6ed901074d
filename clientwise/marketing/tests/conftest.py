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
