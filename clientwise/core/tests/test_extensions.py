"""The extension registries: navigation entries by permission, customer 360 cards, demo hooks discovery."""

from __future__ import annotations

import pytest

from clientwise.core import extensions
from clientwise.core import permissions as perms


@pytest.fixture
def clean_registries(monkeypatch):
    monkeypatch.setattr(extensions, "NAV", [])
    monkeypatch.setattr(extensions, "CUSTOMER_PANELS", [])


def test_nav_entry_is_shown_only_with_its_permission(clean_registries, rf, org):
    from clientwise.core.context import navigation

    extensions.register_nav("audit2", "Audit again", "core:audit", "shield", perm=perms.VIEW_AUDIT, order=10)
    extensions.register_nav("audit2", "Twice", "core:audit", "shield")  # second registration ignored
    admin, rep = org.admin, org.rep_a
    for user, shown in ((admin, True), (rep, False)):
        request = rf.get("/")
        request.user = user
        keys = [k for k, *_rest in navigation(request)["nav_items"]]
        assert ("audit2" in keys) is shown
        assert keys.count("audit2") <= 1


def test_customer_panels_in_order_and_hidden_when_context_is_none(clean_registries):
    extensions.register_customer_panel("b.html", lambda user, c: {"n": c}, order=20)
    extensions.register_customer_panel("a.html", lambda user, c: {"n": c}, order=10)
    extensions.register_customer_panel("hidden.html", lambda user, c: None, order=5)
    panels = extensions.customer_panels(None, 7)
    assert [p["template"] for p in panels] == ["a.html", "b.html"]
    assert panels[0]["panel"] == {"n": 7}


def test_grant_gives_admins_and_named_roles_the_permission(monkeypatch):
    perm = perms.grant("test.thing", [perms.Role.ANALYST])
    try:
        assert perm in perms.ROLE_PERMISSIONS[perms.Role.ADMIN]
        assert perm in perms.ROLE_PERMISSIONS[perms.Role.ANALYST]
        assert perm not in perms.ROLE_PERMISSIONS[perms.Role.SALES_REP]
    finally:
        for role_perms in perms.ROLE_PERMISSIONS.values():
            role_perms.discard(perm)


def test_demo_modules_are_found_by_name():
    names = [m.__name__ for m in extensions.demo_modules()]
    assert all(n.startswith("clientwise.") and n.endswith(".demo_data") for n in names)
