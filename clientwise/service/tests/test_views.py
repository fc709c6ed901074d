"""Pages: each renders for the roles that may open it, hides what others may not see, and the POST actions
go through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clientwise.service import services
from clientwise.service.models import KnowledgeArticle, Survey, SurveyAttribute, Ticket, WorkOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(org, desk, customer):
    return services.create_ticket(actor=org.agent, customer_id=customer.pk, type="complaint", channel="phone",
                                  subject="Washer leaks", description="Water on the floor")


def test_pages_render(org, desk, customer, ticket, web_client):
    c = web_client(org.manager_a)
    KnowledgeArticle.objects.create(title="Warranty terms", body="Two years on parts", keywords="保修 warranty")
    for name, args in (("service:index", []), ("service:tickets", []), ("service:ticket", [ticket.pk]),
                       ("service:work_orders", []), ("service:report", []), ("service:settings", []),
                       ("service:kb", [])):
        response = c.get(reverse(name, args=args))
        assert response.status_code == 200, name
    assert "left" in c.get(reverse("service:ticket", args=[ticket.pk])).content.decode().split('id="sla-timer"')[1][:80]
    assert "Warranty terms" in c.get(reverse("service:kb"), {"kb": "warranty"}).content.decode()
    partial = c.get(reverse("service:kb"), {"kb": "warranty"}, headers={"HX-Request": "true"})
    assert b"<html" not in partial.content and b"Warranty terms" in partial.content
    table = c.get(reverse("service:tickets"), {"status": "active"}, headers={"HX-Request": "true"})
    assert ticket.number.encode() in table.content and b"<html" not in table.content
    assert c.get(reverse("service:ticket_new"), {"customer": customer.pk}).status_code == 200
    assert c.get(reverse("service:work_order_new"), {"customer": customer.pk, "ticket": ticket.pk}).status_code == 200
    assert c.get(reverse("service:config_new", args=["rule"])).status_code == 200


def test_access(org, desk, customer, other_customer, ticket, web_client, client):
    assert client.get(reverse("service:index")).status_code == 302  # anonymous → login
    assert web_client(org.norole).get(reverse("service:index")).status_code == 403
    assert web_client(org.marketer).get(reverse("service:tickets")).status_code == 403
    assert web_client(org.rep_b).get(reverse("service:ticket", args=[ticket.pk])).status_code == 404
    assert web_client(org.rep_a).get(reverse("service:ticket", args=[ticket.pk])).status_code == 200
    assert web_client(org.agent).get(reverse("service:settings")).status_code == 403
    assert web_client(org.agent).get(reverse("service:report")).status_code == 200
    response = web_client(org.rep_a).post(reverse("service:ticket_action", args=[ticket.pk, "message"]),
                                          {"kind": "reply", "body": "x"})
    assert response.status_code == 403


def test_lookup_goes_straight_to_the_call_screen(org, desk, customer, web_client):
    c = web_client(org.agent)
    response = c.get(reverse("service:lookup"), {"phone": "138 1234 5678"})
    assert response.status_code == 200  # the call screen itself, carrying its own address for the address bar
    address = reverse("service:call", args=[customer.pk]) + "?phone=138+1234+5678"
    assert f'id="call-screen" data-address="{address}"' in response.content.decode()
    none = c.get(reverse("service:lookup"), {"phone": "13700000000"})
    assert none.status_code == 200 and b"lookup-none" in none.content


def test_customer_360_shows_the_service_card(org, desk, customer, ticket, web_client, django_assert_max_num_queries):
    c = web_client(org.agent)
    page = c.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'id="service-panel"' in page and ticket.number in page
    assert 'id="service-panel"' not in web_client(org.marketer).get(
        reverse("customers:detail", args=[customer.pk])).content.decode()


def test_ticket_flow_through_pages(org, desk, customer, web_client, settings, tmp_path):
    from django.utils.functional import empty

    from clientwise.service.models import attachment_storage

    settings.VAR_DIR = tmp_path
    attachment_storage._wrapped = empty
    c = web_client(org.agent)
    response = c.post(reverse("service:ticket_new"), {
        "customer": customer.pk, "type": "repair", "channel": "phone", "priority": "normal",
        "subject": "TV has no picture", "description": "Bought last month"})
    assert response.status_code == 302
    t = Ticket.objects.get(subject="TV has no picture")
    assert response["Location"] == reverse("service:ticket", args=[t.pk])
    bad = c.post(reverse("service:ticket_new"), {"customer": customer.pk, "type": "repair", "channel": "phone",
                                                 "priority": "normal", "subject": ""})
    assert bad.status_code == 200 and Ticket.objects.count() == 1
    url = lambda action: reverse("service:ticket_action", args=[t.pk, action])  # noqa: E731
    assert c.post(url("message"), {"kind": "reply", "body": "A technician will call"}).status_code == 302
    assert c.post(url("message"), {"kind": "reply", "body": ""}).status_code == 422
    upload = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 test")
    assert c.post(url("attach"), {"file": upload}).status_code == 302
    att = t.attachments.get()
    download = c.get(reverse("service:attachment", args=[t.pk, att.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 test"
    assert web_client(org.rep_b).get(reverse("service:attachment", args=[t.pk, att.pk])).status_code == 404
    assert c.post(url("status"), {"status": "resolved", "resolution": ""}).status_code == 422
    assert c.post(url("status"), {"status": "resolved", "resolution": "Reset the set"}).status_code == 302
    t.refresh_from_db()
    assert t.status == "resolved" and t.first_response_at is not None
    attachment_storage._wrapped = empty


def test_public_survey_page(org, desk, customer, ticket, client):
    SurveyAttribute.objects.create(code="service", name="Service", weight=1)
    services.change_status(actor=org.agent, ticket_id=ticket.pk, status="resolved", resolution="Fixed")
    survey = Survey.objects.get(ticket=ticket)
    url = reverse("service:survey_answer", args=[services.survey_token(survey)])
    assert client.get(url).status_code == 200
    assert client.post(url, {"nps": "9"}).status_code == 422  # CSAT missing
    response = client.post(url, {"csat": "5", "nps": "9", "a_service": "4", "comment": "谢谢"})
    assert response.status_code == 200 and b"survey-thanks" in response.content
    survey.refresh_from_db()
    assert (survey.csat, survey.weighted_index) == (5, 4)
    assert client.get(reverse("service:survey_answer", args=["forged"])).status_code == 404


def test_work_order_pages(org, desk, customer, web_client):
    c = web_client(org.agent)
    start = timezone.localtime() + dt.timedelta(days=1)
    response = c.post(reverse("service:work_order_new"), {
        "customer": customer.pk, "kind": "install", "address": "上海市 1 号", "city": "上海",
        "window_start": start.strftime("%Y-%m-%dT09:00"), "window_end": start.strftime("%Y-%m-%dT11:00")})
    assert response.status_code == 302
    wo = WorkOrder.objects.get()
    assert c.get(reverse("service:work_order", args=[wo.pk])).status_code == 200
    c.post(reverse("service:work_order_action", args=[wo.pk, "cancel"]))
    wo.refresh_from_db()
    assert wo.status == "cancelled"


def test_settings_pages_save_through_the_service(org, desk, web_client):
    from clientwise.core.models import AuditLog

    c = web_client(org.manager_a)
    response = c.post(reverse("service:config_new", args=["category"]), {"code": "noise", "name": "Noise"})
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="service.config.create", object_type="service.category").exists()
    # A second active policy for the same priority and tier is refused, not a 500.
    dup = c.post(reverse("service:config_new", args=["sla"]), {
        "name": "dup", "priority": "normal", "customer_tier": "", "first_response_minutes": 1,
        "resolution_minutes": 2, "warn_percent": 80, "active": "on"})
    assert dup.status_code == 200
    SurveyAttribute.objects.create(code="price", name="Price", weight=1)
    c.post(reverse("service:weights"), {"w_price": "2.5"})
    assert str(SurveyAttribute.objects.get(code="price").weight) == "2.500"
