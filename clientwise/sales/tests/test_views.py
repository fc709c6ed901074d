"""Sales pages: every page renders for the roles that may open it, 403 for others, 404 for records out of scope;
the board's HTMX move returns the board partial; the public web form works without a session or CSRF token."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clientwise.sales import services
from clientwise.sales.models import Lead, Opportunity


@pytest.fixture
def data(org, make_customer, make_opp):
    customer = make_customer()
    opp = make_opp(customer=customer, name="Cold storage")
    lead = services.create_lead(actor=org.rep_a, data={"name": "周丽", "company": "杭州冷链", "mobile": "13600001111"})
    account = services.create_key_account(actor=org.rep_a, customer_id=customer.pk)
    services.record_wallet_share(actor=org.rep_a, account_id=account.pk, period=timezone.localdate(),
                                 our_volume="100", total_demand="400")
    services.add_account_contact(actor=org.rep_a, account_id=account.pk, data={"name": "总经理", "role": "decision_maker"})
    services.create_activity(actor=org.rep_a, data={"subject": "Call 周丽", "lead_id": lead.pk,
                                                    "due_at": timezone.now()})
    return {"customer": customer, "opp": opp, "lead": lead, "account": account}


PAGES = ["sales:index", "sales:leads", "sales:lead_new", "sales:lead_import", "sales:board", "sales:opportunities",
         "sales:forecast", "sales:accounts"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_for_a_rep_and_are_forbidden_without_role(org, data, web_client, name):
    assert web_client(org.rep_a).get(reverse(name)).status_code == 200
    assert web_client(org.norole).get(reverse(name)).status_code == 403


def test_record_pages_render_and_hide_other_reps_records(org, data, web_client):
    rep_a, rep_b = web_client(org.rep_a), web_client(org.rep_b)
    for url in (reverse("sales:lead", args=[data["lead"].pk]), reverse("sales:opportunity", args=[data["opp"].pk]),
                reverse("sales:account", args=[data["account"].pk])):
        page = rep_a.get(url)
        assert page.status_code == 200, url
        assert rep_b.get(url).status_code == 404, url
    page = rep_a.get(reverse("sales:lead", args=[data["lead"].pk])).content.decode()
    assert "136****1111" in page and "13600001111" not in page  # rep_a has no view_pii
    assert "+8613600001111" in web_client(org.manager_a).get(reverse("sales:lead", args=[data["lead"].pk])).content.decode()


def test_manager_pages(org, data, web_client):
    for name in ("sales:transfer", "sales:settings"):
        assert web_client(org.manager_a).get(reverse(name)).status_code == 200
        assert web_client(org.rep_a).get(reverse(name)).status_code == 403


def test_board_shows_cards_in_their_stage_and_htmx_move_returns_the_board(org, data, web_client):
    client = web_client(org.rep_a)
    page = client.get(reverse("sales:board")).content.decode()
    assert f'id="opp-card-{data["opp"].pk}"' in page and "Cold storage" in page
    won = services.default_pipeline().stages.get(kind="won")
    response = client.post(reverse("sales:opportunity_move", args=[data["opp"].pk]), {"stage_id": won.pk},
                           headers={"HX-Request": "true", "HX-Target": "sales-board"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('<div id="sales-board"') and 'data-moved="1"' in body
    assert Opportunity.objects.get(pk=data["opp"].pk).status == "won"
    lost = services.default_pipeline().stages.get(kind="lost")
    response = client.post(reverse("sales:opportunity_move", args=[data["opp"].pk]), {"stage_id": lost.pk},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422 and 'id="board-error"' in response.content.decode()


def test_plain_form_move_and_lead_conversion_through_pages(org, data, web_client):
    client = web_client(org.rep_a)
    stage = services.default_pipeline().stages.get(position=2)
    response = client.post(reverse("sales:opportunity_move", args=[data["opp"].pk]), {"stage_id": stage.pk,
                                                                                        "next": "/sales/board/"})
    assert response.status_code == 302 and response["Location"] == "/sales/board/"
    response = client.post(reverse("sales:lead_convert", args=[data["lead"].pk]),
                           {"create_opportunity": "1", "opp_name": "冷库项目", "amount": "88000",
                            "expected_close": "2026-12-20"})
    lead = Lead.objects.get(pk=data["lead"].pk)
    assert lead.status == "converted"
    assert response["Location"] == reverse("sales:opportunity", args=[lead.opportunity_id])


def test_customer_page_shows_the_sales_card(org, data, web_client):
    page = web_client(org.rep_a).get(reverse("customers:detail", args=[data["customer"].pk])).content.decode()
    assert 'id="sales-card"' in page and "Cold storage" in page
    page = web_client(org.agent).get(reverse("customers:detail", args=[data["customer"].pk])).content.decode()
    assert 'id="sales-card"' not in page  # service agents have no sales.view


def test_lead_import_page_reads_csv(org, web_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = "name,company,city,external_id\n王强,苏州精工,苏州,f1\n,,,\n".encode("utf-8-sig")
    response = web_client(org.rep_a).post(reverse("sales:lead_import"), {
        "file": SimpleUploadedFile("leads.csv", csv, content_type="text/csv"), "source": "fair"})
    assert response.status_code == 200
    assert Lead.objects.filter(source="fair", external_id="f1", company="苏州精工").exists()
    assert 'id="import-result"' in response.content.decode()


def test_public_web_form_without_login_or_csrf(org):
    from django.core.cache import cache

    cache.clear()
    form = services.create_web_form(actor=org.manager_a, name="官网咨询")
    client = Client(enforce_csrf_checks=True)
    url = reverse("sales:webform", args=[form.token])
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "访客甲", "mobile": "13512345678", "website": ""})
    assert response.status_code == 200 and 'id="webform-done"' in response.content.decode()
    response = client.post(url, '{"name": "访客乙", "email": "b@example.com"}', content_type="application/json")
    assert response.status_code == 201
    assert list(Lead.objects.filter(web_form=form).order_by("id").values_list("name", flat=True)) == ["访客甲", "访客乙"]
    response = client.post(url, {"name": ""})
    assert response.status_code == 422
    assert client.get(reverse("sales:webform", args=["wrong-token"])).status_code == 404


def test_transfer_page_hands_over(org, data, web_client):
    response = web_client(org.manager_a).post(reverse("sales:transfer"), {
        "from_user_id": org.rep_a.pk, "to_user_ids": [org.rep_a2.pk], "reason": "离职"})
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=data["opp"].pk).owner == org.rep_a2
    assert Lead.objects.get(pk=data["lead"].pk).owner == org.rep_a2


def test_settings_actions(org, web_client):
    client = web_client(org.manager_a)
    client.post(reverse("sales:settings_action", args=["rule"]), {"name": "RR", "condition": "any",
                                                                  "member_ids": [org.rep_a.pk, org.rep_a2.pk]})
    client.post(reverse("sales:settings_action", args=["scoring"]), {"field": "has_email", "points": "15"})
    client.post(reverse("sales:settings_action", args=["form"]), {"name": "Site"})
    page = client.get(reverse("sales:settings")).content.decode()
    assert "RR" in page and "/sales/form/" in page
    lead = services.create_lead(actor=org.manager_a, data={"name": "x", "email": "x@example.com"})
    assert lead.owner == org.rep_a and lead.score == 15


def test_board_query_count_does_not_grow_with_cards(org, make_customer, make_opp, web_client,
                                                   django_assert_max_num_queries):
    client = web_client(org.manager_a)
    customer = make_customer()
    make_opp(customer=customer)
    with django_assert_max_num_queries(20) as small:
        client.get(reverse("sales:board"))
    for i in range(15):
        make_opp(customer=customer, name=f"More {i}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("sales:board"))


def test_key_account_list_query_count_does_not_grow_with_accounts(org, make_customer, web_client, api_client,
                                                                   django_assert_max_num_queries):
    from clientwise.commerce.models import Order
    from clientwise.sales import queries

    def account(i):
        org_customer = make_customer(name=f"集团 {i}")
        member = make_customer(name=f"分公司 {i}", kind="organization", organization_id=org_customer.pk)
        a = services.create_key_account(actor=org.rep_a, customer_id=org_customer.pk)
        services.record_wallet_share(actor=org.rep_a, account_id=a.pk, period="2026-01-01", our_volume=str(100 + i),
                                     total_demand="1000")
        services.add_cost_to_serve(actor=org.rep_a, account_id=a.pk, period=timezone.localdate(),
                                   category="logistics", amount=f"{10 + i}.00")
        return a, member

    account(0)
    client = web_client(org.manager_a)
    with django_assert_max_num_queries(40) as small:
        assert client.get(reverse("sales:accounts")).status_code == 200
    created = [account(i) for i in range(1, 6)]
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("sales:accounts"))
    with django_assert_max_num_queries(len(small.captured_queries) + 10):
        assert len(api_client(org.manager_a).get("key-accounts").json()) == 6
    # The batch gives each account what the one-account figures give.
    accounts = [a for a, _m in created]
    batch = queries.key_accounts_figures(org.manager_a, accounts)
    for a in accounts:
        assert batch[a.pk] == queries.key_accounts_figures(org.manager_a, [a])[a.pk]
        assert batch[a.pk]["members"] == 1 and batch[a.pk]["cost_to_serve"] > 0
    # Revenue: the account's own orders and its member customers' orders, over the last 12 months.
    from clientwise.commerce.services import create_order
    from clientwise.commerce.tests.factories import ProductFactory

    product = ProductFactory(list_price="250.00")
    first, member = created[0]
    for customer_id in (first.customer_id, member.pk, member.pk):
        create_order(actor=org.admin, customer_id=customer_id, lines=[{"product_id": product.pk, "quantity": 2}])
    fig = queries.key_accounts_figures(org.manager_a, accounts)[first.pk]
    assert (fig["revenue"], fig["orders"]) == (Decimal("1500.00"), 3)
    assert queries.key_account_figures(org.manager_a, first)["revenue"] == Decimal("1500.00")
    assert Order.objects.count() == 3


def test_forecast_offers_only_what_the_role_can_choose_and_starts_this_month(org, data, web_client):
    """Issue 15: a rep's forecast offered "All owners / All teams" (a rep sees only their own) and its
    "6 months" began two months back."""
    from django.utils import timezone

    page = web_client(org.rep_a).get(reverse("sales:forecast")).content.decode()
    assert 'id="f-owner"' not in page and 'id="f-team"' not in page and "All owners" not in page
    this_month = timezone.localdate().strftime("%Y-%m")
    first_row = re.search(r'id="forecast-months">.*?<tbody>\s*<tr><td>([^<]+)</td>', page, re.S).group(1)
    assert this_month in first_row or first_row.startswith(this_month), first_row
    assert page.count("<tr><td>", page.index('id="forecast-months"')) >= 6
    # Asking for the last three months as well says so and starts there.
    page = web_client(org.rep_a).get(reverse("sales:forecast"), {"back": "3"}).content.decode()
    assert this_month not in re.search(r'id="forecast-months">.*?<tbody>\s*<tr><td>([^<]+)</td>', page, re.S).group(1)
    # A manager chooses among the people of their teams.
    page = web_client(org.manager_a).get(reverse("sales:forecast")).content.decode()
    assert 'id="f-owner"' in page and "All owners" in page
    board = web_client(org.rep_a).get(reverse("sales:board")).content.decode()
    assert 'id="b-owner"' not in board
