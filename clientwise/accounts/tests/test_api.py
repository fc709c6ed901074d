"""The accounts API: /me, /tokens, /users, /teams — the permission matrix and the exact payloads."""

from __future__ import annotations

import pytest
from django.test import override_settings

from clientwise.accounts.models import APIToken
from clientwise.accounts.services import issue_token
from clientwise.core.testing import assert_permission_matrix

pytestmark = pytest.mark.django_db

NON_ADMINS = ("manager_a", "rep_a", "rep_a2", "rep_b", "agent", "marketer", "analyst", "norole")


def test_me_matrix_and_payload(org, api_client):
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.get("me"), allowed=org.rep_a,
                             denied_roles=())
    body = api_client(org.rep_a).get("me").json()
    assert body == {"id": org.rep_a.pk, "username": "rep_a", "display_name": "rep_a", "email": "",
                    "role": "sales_rep", "role_label": "Sales rep",
                    "team": {"id": org.team_a.pk, "name": "Team A"}, "view_pii": False, "language": "",
                    "active_language": "en"}
    admin = api_client(org.admin).get("me").json()
    assert (admin["role"], admin["view_pii"], admin["team"]) == ("admin", True, None)


def test_me_answers_in_the_users_language(org, api_client):
    from clientwise.accounts.services import set_language

    set_language(user=org.rep_a, language="zh-hans")
    body = api_client(org.rep_a).get("me").json()
    assert (body["language"], body["active_language"], body["role_label"]) == ("zh-hans", "zh-hans", "销售代表")


def test_token_list_matrix(org, api_client):
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.get("tokens"), allowed=org.rep_a,
                             denied_roles=())
    # Only one's own tokens are listed.
    issue_token(user=org.rep_b, name="b's")
    names = [t["name"] for t in api_client(org.rep_a).get("tokens").json()["items"]]
    assert "b's" not in names


def test_token_create_matrix(org, api_client):
    n = iter(range(100))
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.post("tokens", {"name": f"t{next(n)}"}),
                             allowed=org.rep_a, allowed_status=201, denied_roles=(), watch=("core.AuditLog",
                                                                                            "accounts.APIToken"))


def test_token_revoke_matrix(org, api_client):
    token = issue_token(user=org.rep_a, name="victim").token
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.delete(f"tokens/{token.pk}"),
                             allowed=org.rep_a, allowed_status=204, denied_roles=(), not_visible=org.rep_b,
                             watch=("core.AuditLog", "accounts.APIToken"))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_users_matrix_and_payload(org, api_client):
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.get("users"), allowed=org.admin,
                             denied_roles=NON_ADMINS)
    body = api_client(org.admin).get("users", {"role": "sales_rep"}).json()
    assert [u["username"] for u in body["items"]] == ["rep_a", "rep_a2", "rep_b"]
    rep_a = body["items"][0]
    assert rep_a["team"] == {"id": org.team_a.pk, "name": "Team A"}
    assert (rep_a["view_pii"], rep_a["is_active"], rep_a["is_superuser"]) == (False, True, False)


def test_users_pagination(org, api_client):
    c = api_client(org.admin)
    first = c.get("users", {"size": 4}).json()
    assert [u["username"] for u in first["items"]] == ["admin", "agent", "analyst", "manager_a"]
    second = c.get("users", {"size": 4, "cursor": first["next_cursor"]}).json()
    assert [u["username"] for u in second["items"]] == ["marketer", "norole", "rep_a", "rep_a2"]
    assert c.get("users", {"cursor": "garbage"}).status_code == 400


def test_teams_matrix_and_tree_order(org, api_client):
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.get("teams"), allowed=org.admin,
                             denied_roles=NON_ADMINS)
    items = api_client(org.admin).get("teams").json()["items"]
    assert [(t["path"], t["kind"]) for t in items] == [
        ("East", "region"), ("East / Shanghai", "branch"), ("East / Shanghai / Team A", "team"),
        ("East / Shanghai / Team B", "team")]


def test_feature_level_header_on_api_responses_only(org, api_client, settings, client):
    middleware = [*settings.MIDDLEWARE, "clientwise.core.middleware.ApiFeatureLevelMiddleware"]
    with override_settings(MIDDLEWARE=middleware, API_FEATURE_LEVEL=7):
        assert api_client(org.rep_a).get("me")["API-Feature-Level"] == "7"
        assert api_client(None).get("me")["API-Feature-Level"] == "7"  # errors too
        assert "API-Feature-Level" not in client.get("/accounts/login/")


def test_token_rows_are_never_deleted_by_revoke(org, api_client):
    token = issue_token(user=org.rep_a, name="keep").token
    api_client(org.rep_a).delete(f"tokens/{token.pk}")
    assert APIToken.objects.filter(pk=token.pk).exists()
