"""API: the permission matrix, documented error answers ({code, message, field}), and each operation."""

from __future__ import annotations

import pytest

from clientwise.core.testing import assert_error, assert_permission_matrix
from clientwise.privacy import services
from clientwise.privacy.models import SubjectRequest

WATCH = ("core.AuditLog", "customers.Interaction", "privacy.SubjectRequest", "customers.Consent")


@pytest.fixture
def person(org):
    from clientwise.customers.services import create_customer

    return create_customer(actor=org.admin, data={"name": "王小明", "owner_id": org.rep_a.pk, "team_id": org.team_a.pk},
                           mobile="13812345678")


def test_create_permission_matrix(api_client, org, person):
    assert_permission_matrix(
        api_client=api_client, org=org, allowed=org.admin, allowed_status=201, watch=WATCH,
        denied_roles=("norole", "manager_a", "rep_a", "agent", "marketer", "analyst"),
        call=lambda c: c.post("privacy/requests", {"customer_id": person.pk, "kind": "access"}))


def test_create_and_read(api_client, org, person):
    c = api_client(org.admin)
    r = c.post("privacy/requests", {"customer_id": person.pk, "kind": "erasure", "received_via": "email",
                                    "received_at": "2026-03-06T10:00:00+08:00", "notes": "ID checked"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["kind"], body["status"], body["due_on"], body["customer_id"]) == (
        "erasure", "open", "2026-03-27", person.pk)
    assert body["overdue"] is True and body["file_status"] == ""
    assert c.get(f"privacy/requests/{body['id']}").json()["notes"] == "ID checked"
    page = c.get("privacy/requests", {"overdue": "true"}).json()
    assert [i["id"] for i in page["items"]] == [body["id"]] and page["next_cursor"] is None
    assert c.get("privacy/requests", {"status": "done"}).json()["items"] == []
    assert c.get("privacy/requests", {"customer_id": person.pk + 1000}).json()["items"] == []


@pytest.mark.parametrize("payload,status,field", [
    ({"kind": "access"}, 422, "customer_id"),
    ({"customer_id": 1, "kind": "delete"}, 422, "kind"),
    ({"customer_id": 0, "kind": "access"}, 422, "customer_id"),
    ({"customer_id": 99999999, "kind": "access"}, 404, None),
    ({"customer_id": 1, "kind": "access", "received_at": "2999-01-01T00:00:00Z"}, 422, "received_at"),
    ({"customer_id": 1, "kind": "access", "notes": "x" * 5001}, 422, "notes"),
])
def test_create_refuses_bad_input(api_client, org, person, payload, status, field):
    payload = {**payload, "customer_id": person.pk} if payload.get("customer_id") == 1 else payload
    body = assert_error(api_client(org.admin).post("privacy/requests", payload), status)
    assert body["field"] == field
    assert not SubjectRequest.objects.exists()


def test_list_refuses_bad_parameters(api_client, org):
    c = api_client(org.admin)
    assert_error(c.get("privacy/requests", {"status": "nope"}), 422)
    assert_error(c.get("privacy/requests", {"cursor": "garbage"}), 400, "invalid_cursor")
    assert_error(c.get("privacy/requests", {"size": 0}), 422)


def test_actions(api_client, org, person, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    c = api_client(org.admin)
    acc = services.create_request(actor=org.admin, customer_id=person.pk, kind="access")
    assert c.post(f"privacy/requests/{acc.pk}/start").json()["status"] == "in_progress"
    assert_error(c.post(f"privacy/requests/{acc.pk}/start"), 409, "request_closed")
    assert_error(c.post(f"privacy/requests/{acc.pk}/complete", {}), 409, "not_exported")
    export = c.get(f"privacy/requests/{acc.pk}/export")
    assert export.status_code == 200
    data = export.json()
    profile = data["sections"][0]["tables"][0]
    assert profile["rows"][0]["name"] == "王小明" and profile["columns"]["mobile"] == "Mobile"
    assert c.post(f"privacy/requests/{acc.pk}/complete", {"resolution": "sent"}).json()["status"] == "done"

    wd = services.create_request(actor=org.admin, customer_id=person.pk, kind="consent_withdrawal")
    assert_error(c.get(f"privacy/requests/{wd.pk}/export"), 400, "wrong_request_kind")
    assert c.post(f"privacy/requests/{wd.pk}/withdraw-consent").json()["result"] == {"consents_withdrawn": 24}

    rej = services.create_request(actor=org.admin, customer_id=person.pk, kind="correction")
    assert_error(c.post(f"privacy/requests/{rej.pk}/reject", {"reason": ""}), 422)
    assert c.post(f"privacy/requests/{rej.pk}/reject", {"reason": "not verified"}).json()["status"] == "rejected"

    er = services.create_request(actor=org.admin, customer_id=person.pk, kind="erasure")
    body = assert_error(c.post(f"privacy/requests/{er.pk}/erase", {"confirm": "yes"}), 422, "confirmation_mismatch")
    assert body["field"] == "confirm"
    assert_error(c.post(f"privacy/requests/{er.pk}/retry-files"), 409, "files_pending")
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(f"privacy/requests/{er.pk}/erase", {"confirm": str(person.pk)})
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert c.get(f"privacy/requests/{er.pk}").json()["file_status"] == "done"
    person.refresh_from_db()
    assert person.name == f"#{person.pk}"
    assert_error(c.post(f"privacy/requests/{er.pk}/erase", {"confirm": str(person.pk)}), 409, "request_closed")


def test_requests_of_other_people_are_not_found(api_client, org, person):
    assert_error(api_client(org.admin).get("privacy/requests/987654"), 404, "not_found")
    assert_error(api_client(org.admin).post("privacy/requests/987654/erase", {"confirm": "1"}), 404)


def test_every_privacy_operation_documents_its_errors():
    from clientwise.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    ops = {(p, m): op for p, methods in schema["paths"].items() if "/privacy/" in p for m, op in methods.items()}
    assert len(ops) == 10
    for (path, method), op in ops.items():
        statuses = {str(s) for s in op["responses"]}
        assert {"400", "401", "403", "404", "422"} <= statuses, (path, method, statuses)
        if method == "post":
            assert "409" in statuses, (path, method)
