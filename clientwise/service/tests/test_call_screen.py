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
    # One caller: the call screen itself, in the same response (no redirect round trip), with its own address
    # for the address bar — the same page as that address gives.
    one = c.get(reverse("service:lookup"), {"phone": "139 1234 5678"})
    assert one.status_code == 200 and one.templates[0].name == "service/call.html"
    address = reverse("service:call", args=[other_customer.pk]) + "?phone=139+1234+5678"
    html = one.content.decode()
    assert f'id="call-screen" data-address="{address}"' in html and other_customer.name in html
    assert "139****5678" in html and "13912345678" not in html
    tokens = re.compile(r"[A-Za-z0-9+/=_-]{20,}")  # the CSRF token and CSP nonce differ per response
    assert tokens.sub("", c.get(address).content.decode()) == tokens.sub("", html)
    several = c.get(reverse("service:lookup"), {"phone": "12345678"})
    assert several.status_code == 200
    page = several.content.decode()
    assert 'id="lookup-results"' in page and 'id="lookup-more"' not in page
    for cust in (customer, other_customer):
        assert reverse("service:call", args=[cust.pk]) + "?phone=12345678" in page
    assert "138****5678" in page and "13812345678" not in page  # the agent has no view_pii
    # rep_a sees one of the two: straight to its call screen.
    own = web_client(org.rep_a).get(reverse("service:lookup"), {"phone": "12345678"}).content.decode()
    assert f'data-address="{reverse("service:call", args=[customer.pk])}?phone=12345678"' in own


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


def test_call_screen_rows_show_badges_visits_and_local_times(org, desk, customer, ticket, order, web_client):
    """The rows the view formats (views._call_rows) show what the per-row tags showed: links, local times, status,
    priority and SLA badges, an overdue visit, a cancelled order's status, the amount."""
    import datetime as dt

    from django.utils import timezone

    from clientwise.commerce.services import cancel_order
    from clientwise.service.models import Ticket

    Ticket.objects.filter(pk=ticket.pk).update(sla_state="breached")
    start = timezone.now() - dt.timedelta(days=2)
    visit = services.create_work_order(actor=org.agent, customer_id=customer.pk, kind="repair", address="上海市 1 号",
                                       window_start=start, window_end=start + dt.timedelta(hours=2),
                                       auto_assign=False)
    cancel_order(actor=org.admin, order_id=order.pk, reason="test")
    html = web_client(org.manager_a).get(reverse("service:call", args=[customer.pk])).content.decode()
    ticket.refresh_from_db()
    opened = timezone.localtime(ticket.opened_at).strftime("%Y-%m-%d %H:%M")
    assert re.search(rf'<a href="{reverse("service:ticket", args=[ticket.pk])}">{ticket.number}</a> Washer leaks\s*'
                     rf'<span class="small text-secondary d-block">{opened}', html)
    assert f'badge sv-status-{ticket.status}">{ticket.get_status_display()}<' in html
    assert f'badge sv-prio-{ticket.priority}">{ticket.get_priority_display()}<' in html
    assert '<span class="badge text-bg-danger"><i class="bi bi-alarm"></i> SLA breached</span>' in html
    assert (f'<a href="{reverse("service:work_order", args=[visit.pk])}">{visit.number}</a> Repair · '
            f'{timezone.localtime(start).strftime("%Y-%m-%d %H:%M")}') in html
    assert '<span class="badge text-bg-danger">Overdue</span>' in html
    assert re.search(rf'<a href="{reverse("commerce:order_detail", kwargs={"pk": order.pk})}">{order.number}</a> '
                     r'<span class="badge text-bg-secondary">Cancelled</span>.*?徐汇店.*?¥129\.00', html, re.S)


def test_lookup_to_call_screen_reads_each_thing_once(org, desk, customer, ticket, order, web_client):
    """One request from the phone number to the rendered call screen: the caller found by one query (the contact
    points' index as a subquery of the visible customers) and not read again, then one query per panel — the score
    with its batch joined, no label scores."""
    set_score(customer.pk, tier="A", churn=0.72, action="win_back")
    c = web_client(org.agent)
    c.get(reverse("service:lookup"), {"phone": "13812345678"})
    with CaptureQueriesContext(connection) as ctx:
        page = c.get(reverse("service:lookup"), {"phone": "13812345678"})
    assert page.status_code == 200 and ticket.number in page.content.decode()
    sqls = [q["sql"] for q in ctx.captured_queries]

    def reads(table: str) -> list[str]:  # the queries whose main table (the first FROM) is `table`
        return [q for q in sqls if (m := re.search(r' FROM "(\w+)"', q)) and m.group(1) == table]

    assert len(reads("customers_customer")) == 1 and '"customers_contactpoint"' in reads("customers_customer")[0]
    assert not reads("customers_contactpoint")  # only as the customer query's subquery
    for table in ("service_ticket", "service_workorder", "commerce_order", "analytics_customerscore"):
        assert len(reads(table)) == 1, (table, reads(table))
    assert not reads("analytics_scoringbatch") and not reads("analytics_labelscore")


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
