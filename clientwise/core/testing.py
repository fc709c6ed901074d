"""Test helpers shared by every app: the API permission matrix and 'nothing was written' checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.apps import apps

TEST_PASSWORD = "Test-pass-2026"  # every user of the shared `org` fixture


def row_counts(models: Iterable[str] = ("core.AuditLog", "customers.Interaction")) -> dict[str, int]:
    """Row counts of the given models ("app.Model"), to assert a denied request wrote nothing."""
    return {label: apps.get_model(label).objects.count() for label in models}


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is a JSON error `{code, message, field}` with this status (and code, if given)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) >= {"code", "message", "field"}, body
    assert body["message"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_permission_matrix(
    *,
    api_client: Callable,
    org,
    call: Callable,
    allowed,
    allowed_status: int = 200,
    not_visible=None,
    denied_roles: Iterable[str] = ("norole",),
    watch: Iterable[str] = ("core.AuditLog", "customers.Interaction"),
) -> None:
    """anonymous → 401, each user in `denied_roles` → 403, `not_visible` (a user who cannot see the record) → 404,
    `allowed` → `allowed_status`. Every denial writes nothing (row counts of `watch` are unchanged).

    `call(client)` performs the request and returns the response; it may be called several times, so it must
    build fresh data each call (e.g. a new name) when the allowed call creates rows.
    """
    cases = [("anonymous", api_client(None), 401)]
    cases += [(role, api_client(getattr(org, role)), 403) for role in denied_roles]
    if not_visible is not None:
        cases.append(("not_visible", api_client(not_visible), 404))
    for label, client, status in cases:
        before = row_counts(watch)
        response = call(client)
        assert response.status_code == status, (label, response.status_code, response.content[:300])
        assert_error(response, status)
        assert row_counts(watch) == before, f"{label}: a denied request wrote rows"
    response = call(api_client(allowed))
    assert response.status_code == allowed_status, ("allowed", response.status_code, response.content[:300])
