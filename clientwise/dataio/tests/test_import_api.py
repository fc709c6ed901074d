"""The import API: upload, status, errors with cursor paging, run; permission matrix."""

from __future__ import annotations

import json

from django.test import Client

from clientwise.accounts.services import issue_token
from clientwise.core.testing import assert_error, assert_permission_matrix
from clientwise.customers.models import Customer
from clientwise.dataio.models import ImportJob
from clientwise.dataio.tests.helpers import csv_text, upload

DATA = csv_text([["姓名", "手机", "会员号"], ["张伟", "13812345678", "M001"], ["李娜", "123", "M002"],
                 ["王芳", "13900001111", "M003"]])
WATCH = ("core.AuditLog", "dataio.ImportJob", "customers.Customer")


class Multipart:
    """Token client for multipart posts (the shared ApiClient sends JSON)."""

    def __init__(self, user):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {issue_token(user=user, name='t').secret}"} if user else {}

    def post(self, path, data):
        return self.client.post(f"/api/v1/{path}", data, headers=self.headers)


def test_upload_run_status_and_errors(org, api_client):
    client = Multipart(org.admin)
    response = client.post("imports", {"file": upload("m.csv", DATA), "kind": "customers", "source": "pos"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["file_name"], body["encoding"], body["total_rows"]) == ("uploaded", "m.csv", "utf-8", 3)
    assert body["mapping"] == {"name": "姓名", "mobile": "手机", "member_number": "会员号"}
    api = api_client(org.admin)
    ran = api.post(f"imports/{body['id']}/run")
    assert ran.status_code == 202
    job = api.get(f"imports/{body['id']}").json()
    assert (job["status"], job["created"], job["rejected"], job["last_row"]) == ("done", 2, 1, 4)
    errors = api.get(f"imports/{body['id']}/errors", {"size": 1}).json()
    assert [(e["row_number"], e["field"], e["code"]) for e in errors["items"]] == [(3, "mobile", "invalid_phone")]
    assert errors["items"][0]["raw"]["手机"] == "123"
    assert errors["next_cursor"] is None
    again = api.post(f"imports/{body['id']}/run")
    assert_error(again, 409, "job_busy")


def test_bad_uploads_are_4xx(org, api_client):
    client = Multipart(org.admin)
    r = client.post("imports", {"file": upload("m.pdf", DATA), "kind": "customers", "source": "pos"})
    assert_error(r, 400, "unsupported_format")
    r = client.post("imports", {"file": upload("m.csv", DATA), "kind": "planets", "source": "pos"})
    assert_error(r, 422, "invalid")
    r = client.post("imports", {"file": upload("m.csv", DATA), "kind": "customers", "source": "pos",
                                "mapping": "[1]"})
    assert_error(r, 422, "invalid")
    r = client.post("imports", {"file": upload("m.csv", DATA), "kind": "customers", "source": "pos",
                                "mapping": json.dumps({"name": "姓名", "member_number": "nope"})})
    assert_error(r, 422, "bad_mapping")
    r = client.post("imports", {"file": upload("m.csv", bytes(range(128, 256)) * 40), "kind": "customers",
                                "source": "pos"})
    assert_error(r, 400, "undecodable")
    assert ImportJob.objects.count() == 0


def test_permission_matrix_upload(org, api_client):
    def call(client):
        return client.post("imports", {"file": upload("m.csv", DATA), "kind": "customers", "source": "pos"})

    assert_permission_matrix(api_client=Multipart, org=org, call=call, allowed=org.manager_a, allowed_status=201,
                             denied_roles=("norole", "rep_a", "agent", "marketer", "analyst"), watch=WATCH)


def test_permission_matrix_job_and_run(org, api_client):
    from clientwise.dataio import services

    job = services.create_job(actor=org.admin, kind="customers", upload=upload("m.csv", DATA), source="pos")
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.get(f"imports/{job.pk}"),
                             allowed=org.admin, not_visible=org.manager_a, denied_roles=("norole", "rep_a"))
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.get(f"imports/{job.pk}/errors"),
                             allowed=org.admin, not_visible=org.manager_a, denied_roles=("norole", "rep_a"))
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.post(f"imports/{job.pk}/run"),
                             allowed=org.admin, allowed_status=202, not_visible=org.manager_a,
                             denied_roles=("norole", "rep_a"), watch=WATCH)
    assert Customer.objects.count() == 2


def test_errors_mask_pii_for_users_without_view_pii(org, api_client):
    from clientwise.dataio import services

    org.manager_a.view_pii = False
    org.manager_a.save()
    job = services.create_job(actor=org.manager_a, kind="customers", source="pos",
                              upload=upload("m.csv", csv_text([["姓名", "手机", "会员号"], ["", "13812345678", "M1"]])))
    services.run_import(job_id=job.pk)
    item = api_client(org.manager_a).get(f"imports/{job.pk}/errors").json()["items"][0]
    assert item["raw"]["手机"] == "138****5678"
    item = api_client(org.admin).get(f"imports/{job.pk}/errors").json()["items"][0]
    assert item["raw"]["手机"] == "13812345678"
