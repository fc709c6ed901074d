"""Service API: permission matrix on every endpoint family, bad input as 4xx JSON, masking, the public answer."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from clientwise.core.testing import assert_error, assert_permission_matrix
from clientwise.service import services
from clientwise.service.models import Survey, SurveyAttribute, Ticket

pytestmark = pytest.mark.django_db
_n = itertools.count()
WATCH = ("core.AuditLog", "customers.Interaction", "service.Ticket", "service.TicketMessage", "service.WorkOrder")


@pytest.fixture
def ticket(org, desk, customer):
    return services.create_ticket(actor=org.agent, customer_id=customer.pk, type="complaint", channel="phone",
                                  subject="Late delivery")


def test_create_ticket_matrix(org, desk, other_customer, api_client):
    def call(client):
        return client.post("service/tickets", {"customer_id": other_customer.pk, "type": "inquiry", "channel": "api",
                                               "subject": f"Question {next(_n)}"})

    assert_permission_matrix(api_client=api_client, org=org, call=call, allowed=org.agent, allowed_status=201,
                             not_visible=org.manager_a,  # team A's manager; the customer is team B's
                             denied_roles=("norole", "marketer", "rep_a"), watch=WATCH)
    body = call(api_client(org.agent)).json()
    assert body["number"].startswith("T") and body["queue"] == "General" and body["status"] == "open"


def test_ticket_reads_follow_customer_visibility(org, desk, customer, other_customer, ticket, api_client):
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.get(f"service/tickets/{ticket.pk}"),
                             allowed=org.rep_a, not_visible=org.rep_b, denied_roles=("norole", "marketer"))
    items = api_client(org.rep_b).get("service/tickets", {"status": ""}).json()["items"]
    assert items == []
    items = api_client(org.agent).get("service/tickets", {"status": "active"}).json()["items"]
    assert [i["id"] for i in items] == [ticket.pk]


def test_bad_input_is_json(org, desk, customer, ticket, api_client):
    c = api_client(org.agent)
    body = assert_error(c.post("service/tickets", {"customer_id": customer.pk, "type": "x", "channel": "y",
                                                   "subject": ""}), 422)
    assert {e["field"] for e in body["errors"]} == {"type", "channel", "subject"}
    assert_error(c.post("service/tickets", {"type": "inquiry"}), 422)
    assert_error(c.get("service/tickets", {"status": "nope"}), 400, "invalid")
    assert_error(c.get("service/tickets", {"cursor": "garbage"}), 400, "invalid_cursor")
    assert_error(c.post(f"service/tickets/{ticket.pk}/messages", {"kind": "reply", "body": ""}), 422)
    assert_error(c.post(f"service/tickets/{ticket.pk + 99}/messages", {"kind": "reply", "body": "x"}), 404)
    c.post(f"service/tickets/{ticket.pk}/status", {"status": "closed"})
    assert_error(c.post(f"service/tickets/{ticket.pk}/status", {"status": "open"}), 409, "invalid_transition")


def test_conversation_and_status(org, desk, ticket, api_client):
    c = api_client(org.agent)
    r = c.post(f"service/tickets/{ticket.pk}/messages", {"kind": "note", "body": "internal"})
    assert r.status_code == 201 and r.json()["kind"] == "note"
    c.post(f"service/tickets/{ticket.pk}/messages", {"kind": "reply", "body": "Sorry for the delay"})
    r = c.post(f"service/tickets/{ticket.pk}/status", {"status": "resolved", "resolution": "Re-sent"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    detail = c.get(f"service/tickets/{ticket.pk}").json()
    assert [m["kind"] for m in detail["messages"]] == ["note", "reply"]
    assert detail["first_response_at"] is not None
    r = c.post(f"service/tickets/{ticket.pk}/escalate", {})
    assert_error(r, 409, "invalid_transition")


def test_lookup_masks_phones(org, desk, customer, ticket, api_client):
    rows = api_client(org.agent).get("service/lookup", {"phone": "13812345678"}).json()
    assert rows[0]["id"] == customer.pk and rows[0]["mobile"] == "138****5678" and rows[0]["open_tickets"] == 1
    rows = api_client(org.manager_a).get("service/lookup", {"phone": "13812345678"}).json()
    assert rows[0]["mobile"] == "+8613812345678"
    assert api_client(org.marketer).get("service/lookup", {"phone": "13812345678"}).status_code == 403


def test_survey_api_and_public_answer(org, desk, ticket, api_client):
    SurveyAttribute.objects.create(code="speed", name="Speed", weight=2)
    SurveyAttribute.objects.create(code="manner", name="Manner", weight=1)
    services.change_status(actor=org.agent, ticket_id=ticket.pk, status="resolved", resolution="ok")
    survey = Survey.objects.get(ticket=ticket)
    link = api_client(org.agent).get(f"service/surveys/{survey.pk}/link").json()["url"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    anonymous = api_client(None)
    assert_error(anonymous.post(f"service/surveys/answer/{token}", {"csat": 9}), 422)
    r = anonymous.post(f"service/surveys/answer/{token}", {"csat": 4, "nps": 8, "scores": {"speed": 5, "manner": 2}})
    assert r.status_code == 200, r.content
    assert r.json()["weighted_index"] == "4.000" and r.json()["simple_index"] == "3.500"
    assert_error(anonymous.post(f"service/surveys/answer/{token}", {"csat": 4}), 409, "survey_already_answered")
    assert_error(anonymous.post("service/surveys/answer/bad", {"csat": 4}), 404, "survey_link_invalid")
    assert api_client(org.rep_b).get(f"service/surveys/{survey.pk}").status_code == 404
    assert api_client(org.rep_a).get(f"service/surveys/{survey.pk}").json()["scores"] == {"speed": 5, "manner": 2}
    assert api_client(org.rep_a).get(f"service/surveys/{survey.pk}/link").status_code == 403
    report = api_client(org.analyst).get("service/reports/satisfaction").json()
    assert report["answered"] == 1 and report["complaint_recovery"]["answered"] == 1
    assert api_client(org.rep_a).get("service/reports/satisfaction").status_code == 403
    rows = api_client(org.analyst).get("service/reports/satisfaction/agent").json()
    assert rows[0]["answered"] == 1
    assert_error(api_client(org.analyst).get("service/reports/satisfaction/planet"), 400)


def test_work_order_api(org, desk, customer, api_client):
    start = timezone.now() + dt.timedelta(days=2)
    payload = {"customer_id": customer.pk, "kind": "install", "address": "上海市 8 号",
               "window_start": start.isoformat(), "window_end": (start + dt.timedelta(hours=2)).isoformat()}
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.post("service/work-orders", payload),
                             allowed=org.agent, allowed_status=201, denied_roles=("norole", "rep_a", "analyst"),
                             watch=WATCH)
    wo = api_client(org.agent).get("service/work-orders", {"status": "active"}).json()["items"][0]
    c = api_client(org.agent)
    assert_error(c.post(f"service/work-orders/{wo['id']}/status", {"action": "complete", "report": "x"}), 409)
    assert_error(c.post(f"service/work-orders/{wo['id']}/status", {"action": "fly"}), 400)
    assert_error(c.post(f"service/work-orders/{wo['id']}/technician", {}), 409, "no_technician")
    bad = dict(payload, window_end=start.isoformat())
    assert_error(c.post("service/work-orders", bad), 422)
    assert api_client(org.rep_b).get(f"service/work-orders/{wo['id']}").status_code == 404
    assert Ticket.objects.count() == 0
