"""API tokens: created on the page or through the API, shown once, stored hashed, revocable, expiring."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clientwise.accounts.models import APIToken
from clientwise.accounts.services import issue_token
from clientwise.core.models import AuditLog
from clientwise.core.testing import assert_error

pytestmark = pytest.mark.django_db


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_create_token_on_the_page_shows_the_secret_once(org, web_client):
    c = web_client(org.rep_a)
    r = c.post(reverse("accounts:tokens"), {"name": "POS feed", "expires_in_days": "90"})
    assert r.status_code == 200
    body = r.content.decode()
    secret = re.search(r'id="cw-new-secret" type="text" value="(cw_[^"]+)"', body).group(1)
    assert r["Cache-Control"] == "no-store"
    token = APIToken.objects.get(user=org.rep_a, name="POS feed")
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (token.key_hash, token.prefix) and token.prefix == secret[:10]
    assert abs((token.expires_at - timezone.now()) - dt.timedelta(days=90)) < dt.timedelta(minutes=1)
    # The secret works as a Bearer token ...
    me = Client().get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json()["username"] == "rep_a"
    # ... and is never shown again.
    assert secret not in c.get(reverse("accounts:tokens")).content.decode()
    assert "POS feed" in c.get(reverse("accounts:tokens")).content.decode()


def test_create_token_without_a_name_writes_nothing(org, web_client):
    c = web_client(org.rep_a)
    before = APIToken.objects.count()
    r = c.post(reverse("accounts:tokens"), {"name": "  ", "expires_in_days": ""})
    assert r.status_code == 200
    assert 'id="cw-new-secret"' not in r.content.decode()
    assert APIToken.objects.count() == before
    assert not AuditLog.objects.filter(action="token.create", actor=org.rep_a).exists()


def test_revoke_on_the_page_stops_the_token(org, web_client):
    issued = issue_token(user=org.rep_a, name="script")
    c = web_client(org.rep_a)
    assert c.get(reverse("accounts:token_revoke", args=[issued.token.pk])).status_code == 405
    r = c.post(reverse("accounts:token_revoke", args=[issued.token.pk]))
    assert r.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert AuditLog.objects.filter(action="token.revoke", object_id=str(issued.token.pk), actor=org.rep_a).count() == 1
    assert_error(Client().get("/api/v1/me", headers=bearer(issued.secret)), 401, "not_authenticated")


def test_cannot_revoke_someone_elses_token(org, web_client):
    issued = issue_token(user=org.rep_b, name="theirs")
    c = web_client(org.rep_a)
    r = c.post(reverse("accounts:token_revoke", args=[issued.token.pk]), follow=True)
    assert "No such token." in r.content.decode()
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None
    assert not AuditLog.objects.filter(action="token.revoke").exists()


def test_expired_token_is_401(org):
    issued = issue_token(user=org.rep_a, name="old", expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_error(Client().get("/api/v1/me", headers=bearer(issued.secret)), 401, "not_authenticated")


def test_deactivated_users_token_is_401(org):
    issued = issue_token(user=org.rep_a, name="x")
    from clientwise.accounts.services import deactivate_user

    deactivate_user(actor=org.admin, user=org.rep_a)
    assert_error(Client().get("/api/v1/me", headers=bearer(issued.secret)), 401, "not_authenticated")


def test_api_create_returns_the_secret_once_and_list_never_does(org, api_client):
    c = api_client(org.rep_a)
    r = c.post("tokens", {"name": "reporting"})
    assert r.status_code == 201
    body = r.json()
    assert body["secret"].startswith("cw_") and body["prefix"] == body["secret"][:10]
    assert body["revoked_at"] is None and body["expires_at"] is None
    token = APIToken.objects.get(pk=body["id"])
    assert token.key_hash == hashlib.sha256(body["secret"].encode()).hexdigest()
    listed = c.get("tokens").json()
    assert [t["name"] for t in listed["items"]] == ["reporting", "tests"]
    assert all("secret" not in t for t in listed["items"])
    assert Client().get("/api/v1/me", headers=bearer(body["secret"])).status_code == 200


def test_api_create_rejects_a_past_expiry_and_empty_name(org, api_client):
    c = api_client(org.rep_a)
    before = APIToken.objects.count()
    assert_error(c.post("tokens", {"name": "x", "expires_at": "2000-01-01T00:00:00Z"}), 422, "invalid")
    assert_error(c.post("tokens", {"name": ""}), 422)
    assert APIToken.objects.count() == before


def test_api_revoke(org, api_client):
    issued = issue_token(user=org.rep_a, name="to revoke")
    c = api_client(org.rep_a)
    r = c.delete(f"tokens/{issued.token.pk}")
    assert r.status_code == 204
    assert_error(Client().get("/api/v1/me", headers=bearer(issued.secret)), 401)
    # A second revoke: the token is no longer active.
    assert_error(c.delete(f"tokens/{issued.token.pk}"), 404, "not_found")


def test_a_token_is_looked_up_once_per_request(org):
    """The language middleware and the API's authentication both ask who a token belongs to: one query answers
    both (the request memo), and the next request asks again (a revoked token stops working at once)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    secret = issue_token(user=org.rep_a, name="t").secret
    with CaptureQueriesContext(connection) as ctx:
        assert Client().get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert sum('FROM "accounts_apitoken"' in q["sql"] for q in ctx.captured_queries) == 1
    APIToken.objects.filter(user=org.rep_a).update(revoked_at=timezone.now())
    assert Client().get("/api/v1/me", headers=bearer(secret)).status_code == 401
