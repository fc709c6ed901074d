"""Customer since: set when a customer is entered (today unless given), read and written through the API, shown
on the customer page, and the earliest of the records after a merge (restored by an unmerge)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from clientwise.customers import services
from clientwise.customers.models import Customer


def test_a_customer_entered_here_starts_today_unless_told(org):
    plain = services.create_customer(actor=org.admin, data={"name": "张三"})
    assert plain.customer_since == timezone.localdate()
    older = services.create_customer(actor=org.admin, data={"name": "李四", "customer_since": "2019-05-04"})
    assert Customer.objects.get(pk=older.pk).customer_since == dt.date(2019, 5, 4)


def test_api_reads_and_writes_customer_since(org, api_client):
    client = api_client(org.admin)
    created = client.post("customers", {"name": "王五", "customer_since": "2020-02-29"})
    assert created.status_code == 201 and created.json()["customer_since"] == "2020-02-29"
    assert created.json()["source_created_at"] is None and created.json()["source_updated_at"] is None
    pk = created.json()["id"]
    future = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    refused = client.patch(f"customers/{pk}", {"customer_since": future})
    assert refused.status_code in (400, 422) and refused.json()["field"] == "customer_since"
    assert client.patch(f"customers/{pk}", {"customer_since": "2018-01-01"}).json()["customer_since"] == "2018-01-01"


def test_customer_page_shows_customer_since_not_the_row_creation(org, web_client):
    customer = services.create_customer(actor=org.admin, data={"name": "赵六", "customer_since": "2017-03-01"})
    page = web_client(org.admin).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'id="customer-since">2017-03-01<' in page


def test_merge_keeps_the_earliest_customer_since_and_unmerge_restores_it(org):
    survivor = services.create_customer(actor=org.admin, data={"name": "孙七", "customer_since": "2024-06-01"})
    imported = services.create_customer(actor=org.admin, data={"name": "孙七", "customer_since": "2016-09-09"})
    result = services.merge_customers(survivor=survivor, duplicates=[imported], actor=org.admin)
    assert Customer.objects.get(pk=survivor.pk).customer_since == dt.date(2016, 9, 9)
    services.unmerge_customers(actor=org.admin, snapshot=result.snapshot)
    assert Customer.objects.get(pk=survivor.pk).customer_since == dt.date(2024, 6, 1)
    assert Customer.objects.get(pk=imported.pk).customer_since == dt.date(2016, 9, 9)


def test_the_customer_form_edits_customer_since(org, web_client):
    customer = services.create_customer(actor=org.admin, data={"name": "周八", "customer_since": "2021-04-01"})
    client = web_client(org.admin)
    form = client.get(reverse("customers:edit", args=[customer.pk])).content.decode()
    assert 'name="customer_since"' in form and 'value="2021-04-01"' in form
    response = client.post(reverse("customers:edit", args=[customer.pk]),
                           {"kind": "person", "name": "周八", "status": "active", "customer_since": "2015-07-15"})
    assert response.status_code in (200, 302)
    assert Customer.objects.get(pk=customer.pk).customer_since == dt.date(2015, 7, 15)
