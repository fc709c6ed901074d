"""Fixtures every app's tests share: an organization with one user per role, and API clients.

The organization: region East → branch Shanghai → teams A and B. rep_a (team A) and rep_b (team B) are sales
reps; manager_a manages team A; admin sees everything. Only admin and manager_a have the view_pii right.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from clientwise.core.testing import TEST_PASSWORD as PASSWORD


@dataclass
class Org:
    region: object
    branch: object
    team_a: object
    team_b: object
    admin: object
    manager_a: object
    rep_a: object
    rep_a2: object
    rep_b: object
    agent: object
    marketer: object
    analyst: object
    norole: object


@pytest.fixture
def org(db) -> Org:
    from clientwise.accounts.models import Team
    from clientwise.accounts.services import create_user

    region = Team.objects.create(name="East", kind=Team.Kind.REGION)
    branch = Team.objects.create(name="Shanghai", kind=Team.Kind.BRANCH, parent=region)
    team_a = Team.objects.create(name="Team A", parent=branch)
    team_b = Team.objects.create(name="Team B", parent=branch)

    def user(name, role, team=None, **kw):
        return create_user(username=name, password=PASSWORD, role=role, team=team, display_name=name, **kw)

    return Org(
        region=region, branch=branch, team_a=team_a, team_b=team_b,
        admin=user("admin", "admin", is_superuser=True),
        manager_a=user("manager_a", "manager", team_a),
        rep_a=user("rep_a", "sales_rep", team_a),
        rep_a2=user("rep_a2", "sales_rep", team_a),
        rep_b=user("rep_b", "sales_rep", team_b),
        agent=user("agent", "service_agent", team_a),
        marketer=user("marketer", "marketer"),
        analyst=user("analyst", "analyst"),
        norole=user("norole", ""),
    )


class ApiClient:
    """A test client that sends a real API token for `user` (or none when user is None)."""

    def __init__(self, user=None):
        from clientwise.accounts.services import issue_token

        self.client = Client()
        self.headers = {}
        if user is not None:
            secret = issue_token(user=user, name="tests").secret
            self.headers["Authorization"] = f"Bearer {secret}"

    def _call(self, method, path, data=None, headers=None, **kw):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        h = {**self.headers, **(headers or {})}
        if method in ("get", "delete"):
            return getattr(self.client, method)(url, data or {}, headers=h, **kw)
        return getattr(self.client, method)(url, data if data is not None else {}, content_type="application/json",
                                            headers=h, **kw)

    def get(self, path, data=None, **kw):
        return self._call("get", path, data, **kw)

    def post(self, path, data=None, **kw):
        return self._call("post", path, data, **kw)

    def patch(self, path, data=None, **kw):
        return self._call("patch", path, data, **kw)

    def put(self, path, data=None, **kw):
        return self._call("put", path, data, **kw)

    def delete(self, path, data=None, **kw):
        return self._call("delete", path, data, **kw)


@pytest.fixture
def api_client(db):
    """api_client(user) → an ApiClient with a fresh token for user; api_client(None) → anonymous."""
    return ApiClient


@pytest.fixture
def web_client(db):
    """web_client(user) → a django Client logged in as user (session auth, CSRF not enforced)."""

    def make(user):
        c = Client()
        c.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return c

    return make
