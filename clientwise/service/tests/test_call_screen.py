"""Phone lookup (whole number or its last 8 digits) and the agent's call screen: who gets there, what it shows, what
stays masked and what is audited."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientwise.core.models import AuditLog
from clientwise.customers.tests.factories import make_customer
from clientwise.service import queries, services
from clientwise.service.tests.conftest import set_score

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(org, desk, customer):
    return services.create_ticket(actor=org.agent, customer_id=customer.pk, type="complaint", channel="phone",
                                  subject="Washer leaks", description="Water on the floor")


@pytest.fixture
def order(org, customer):
    from clientwise.commerce.services import create_order
    from clientwise.commerce.tests.factories import ChannelFactory, ProductFactory, StoreFactory

    product = ProductFactory(sku="CH-1", name="Charger", list_price=Decimal("129.00"), unit_cost=Decimal("40.00"))
    return create_order(actor=org.admin, customer_id=customer.pk, lines=[{"product_id": product.pk, "quantity": 1}],
                        store_id=StoreFactory(name="徐汇店", code="SH001").pk,
                        channel_id=ChannelFactory(code="store", name="门店").pk)


# --- lookup -------------------------------------------------------------------------------------------------------


def test_last_eight_digits_find_every_visible_owner(org, desk, customer, other_customer):
    # 13812345678 and 13912345678 end in the same 8 digits.
    assert [c.pk for c in queries.phone_lookup(org.agent, "12345678")] == [customer.pk, other_customer.pk]
    assert [c.pk for c in queries.phone_lookup(org.agent, "1234-5678")] == [customer.pk, other_customer.pk]
    assert [c.pk for c in queries.phone_lookup(org.rep_a, "12345678")] == [customer.pk]  # only what rep_a sees
    assert [c.pk for c in queries.phone_lookup(org.agent, "13912345678")] == [other_customer.pk]  # whole number
    assert queries.phone_lookup(org.agent, "2345678") == []  # 7 digits: neither a number nor a tail
    assert queries.phone_lookup(org.agent, "87654321") == []
    assert queries.phone_lookup(org.agent, "１２３４５６７８") == []  # full-width digits are not a tail


def test_tail_lookup_is_an_indexed_equality_not_a_like_scan(org, desk, customer):
    with CaptureQueriesContext(connection) as ctx:
        queries.phone_lookup(org.agent, "12345678")
    contact_sql = [q["sql"] for q in ctx.captured_queries if "customers_contactpoint" in q["sql"]]
    assert len(contact_sql) == 1
    assert '"phone_tail" = ' in contact_sql[0] and "LIKE" not in contact_sql[0].upper()
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("EXPLAIN QUERY PLAN " + contact_sql[0])  # the captured SQL has its value inlined
            plan = " ".join(str(r[-1]) for r in cur.fetchall())
        assert "contact_phone_tail" in plan, plan


def test_lookup_goes_to_the_call_screen_or_a_pick_list(org, desk, customer, other_customer, web_client):
    c = web_client(org.agent)
    one = c.get(reverse("service:lookup"), {"phone": "139 1234 5678"})
    assert one.status_code == 302
    assert one["Location"] == reverse("service:call", args=[other_customer.pk]) + "?phone=139+1234+5678"
    several = c.get(reverse("service:lookup"), {"phone": "12345678"})
    assert several.status_code == 200
    page = several.content.decode()
    assert 'id="lookup-results"' in page and 'id="lookup-more"' not in page
    for cust in (customer, other_customer):
        assert reverse("service:call", args=[cust.pk]) + "?phone=12345678" in page
    assert "138****5678" in page and "13812345678" not in page  # the agent has no view_pii
    # rep_a sees one of the two: straight to its call screen.
    assert web_client(org.rep_a).get(reverse("service:lookup"), {"phone": "12345678"})["Location"].startswith(
        reverse("service:call", args=[customer.pk]))


def test_pick_list_is_short(org, desk, web_client):
    prefixes = [f"13{d}" for d in range(10)] + ["150", "151", "152"]
    for i, prefix in enumerate(prefixes[:queries.LOOKUP_LIMIT + 2]):
        make_customer(org.admin, f"客户{i}", mobile=f"{prefix}87654321")
    found = queries.phone_lookup(org.agent, "87654321")
    assert len(found) == queries.LOOKUP_LIMIT + 1  # one more than shown: the page says there are more
    page = web_client(org.agent).get(reverse("service:lookup"), {"phone": "87654321"}).content.decode()
    assert page.count('href="/service/call/') == queries.LOOKUP_LIMIT and 'id="lookup-more"' in page


# --- the call screen ------------------------------------------------------------------------------------------------


def test_call_screen_shows_what_the_agent_needs(org, desk, customer, ticket, order, web_client):
    set_score(customer.pk, tier="A", churn=0.72, action="win_back")
    page = web_client(org.agent).get(reverse("service:call", args=[customer.pk]), {"phone": "12345678"})
    assert page.status_code == 200
    html = page.content.decode()
    assert customer.name in html and "12345678" in html
    assert ticket.number in html and order.number in html
    assert re.search(r'id="call-tier".*sv-tier-A">A<', html, re.S)
    assert re.search(r'id="call-churn".*sv-risk-high">72%<', html, re.S)
    assert 'id="call-nba"' in html and "sv-nba-win_back" in html
    new_ticket = reverse("service:ticket_new") + f"?customer={customer.pk}"
    assert f'id="call-new-ticket" href="{new_ticket}"' in html
    # "New ticket" comes before the lists in the page, in the head card.
    assert html.index('id="call-new-ticket"') < html.index('id="call-tickets"') < html.index('id="call-orders"')
    assert "138****5678" in html and "13812345678" not in html
    assert not AuditLog.objects.filter(action="pii.view").exists()  # nothing unmasked was shown


def test_call_screen_unmasked_with_view_pii_is_audited(org, desk, customer, web_client):
    html = web_client(org.manager_a).get(reverse("service:call", args=[customer.pk])).content.decode()
    assert "13812345678" in html
    row = AuditLog.objects.get(action="pii.view", customer_id=customer.pk)
    assert row.detail["context"] == "call_screen"


def test_call_screen_before_any_scoring(org, desk, customer, web_client):
    html = web_client(org.agent).get(reverse("service:call", args=[customer.pk])).content.decode()
    assert 'id="call-nba"' in html and "sv-nba-" not in html
    assert re.search(r'id="call-tier".*?<div class="value">—</div>', html, re.S)


def test_call_screen_access(org, desk, customer, other_customer, ticket, web_client, client):
    url = reverse("service:call", args=[customer.pk])
    assert client.get(url).status_code == 302  # anonymous → login
    assert web_client(org.marketer).get(url).status_code == 403  # no service.view
    assert web_client(org.rep_b).get(url).status_code == 404  # not theirs: the same as a missing customer
    assert web_client(org.agent).get(reverse("service:call", args=[999999])).status_code == 404
    own = web_client(org.rep_a).get(url)  # sees the customer and the service card, may not open tickets
    assert own.status_code == 200 and b'id="call-new-ticket"' not in own.content and ticket.number.encode() in own.content
    with pytest.raises(Exception) as exc:
        queries.call_screen(org.rep_b, customer.pk)
    assert getattr(exc.value, "status", None) == 404


def test_api_lookup_by_last_eight_digits(org, desk, customer, other_customer, api_client):
    set_score(customer.pk, tier="A", churn=0.3, action="call")
    rows = api_client(org.agent).get("service/lookup", {"phone": "12345678"}).json()
    assert [r["id"] for r in rows] == [customer.pk, other_customer.pk]
    assert rows[0]["value_tier"] == "A" and rows[0]["mobile"] == "138****5678"
    assert [r["id"] for r in api_client(org.rep_b).get("service/lookup", {"phone": "12345678"}).json()] == [
        other_customer.pk]
