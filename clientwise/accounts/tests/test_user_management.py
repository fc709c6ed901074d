"""User and team management: administrators only, every change audited, guard rails on self-harm and cycles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clientwise.accounts import services
from clientwise.accounts.models import Team, User
from clientwise.core.errors import DomainError, PermissionDenied
from clientwise.core.models import AuditLog

pytestmark = pytest.mark.django_db

PAGES = ["accounts:users", "accounts:user_create", "accounts:teams"]


@pytest.mark.parametrize("role", ["manager_a", "rep_a", "agent", "marketer", "analyst", "norole"])
def test_non_admins_get_403_on_every_management_page(org, web_client, role):
    c = web_client(getattr(org, role))
    for name in PAGES:
        assert c.get(reverse(name)).status_code == 403, name
    assert c.get(reverse("accounts:user_edit", args=[org.rep_b.pk])).status_code == 403
    assert c.get(reverse("accounts:team_edit", args=[org.team_a.pk])).status_code == 403


def test_non_admin_posts_write_nothing(org, web_client):
    c = web_client(org.manager_a)
    users, teams, audits = User.objects.count(), Team.objects.count(), AuditLog.objects.count()
    assert c.post(reverse("accounts:user_create"), {"username": "sneaky", "password": "Long-enough-pass-1",
                                                    "role": "admin"}).status_code == 403
    assert c.post(reverse("accounts:user_edit", args=[org.manager_a.pk]),
                  {"role": "admin", "is_active": "on"}).status_code == 403
    assert c.post(reverse("accounts:teams"), {"name": "X", "kind": "region"}).status_code == 403
    assert (User.objects.count(), Team.objects.count(), AuditLog.objects.count()) == (users, teams, audits)
    org.manager_a.refresh_from_db()
    assert org.manager_a.role == "manager"


def test_anonymous_is_sent_to_login(client, db):
    r = client.get(reverse("accounts:users"))
    assert r.status_code == 302 and r.url.startswith(reverse("accounts:login"))


def test_users_list_and_filters(org, web_client):
    c = web_client(org.admin)
    body = c.get(reverse("accounts:users")).content.decode()
    for name in ("manager_a", "rep_a", "rep_b", "norole"):
        assert name in body
    body = c.get(reverse("accounts:users"), {"role": "sales_rep"}).content.decode()
    assert "rep_a" in body and "rep_b" in body and "manager_a" not in body
    partial = c.get(reverse("accounts:users"), {"team": org.team_b.pk}, headers={"HX-Request": "true"})
    text = partial.content.decode()
    assert "<html" not in text and "rep_b" in text and "rep_a" not in text


def test_admin_creates_a_user(org, web_client):
    c = web_client(org.admin)
    r = c.post(reverse("accounts:user_create"), {
        "username": "newrep", "display_name": "新人", "email": "New@Example.com", "password": "Long-enough-pass-1",
        "role": "sales_rep", "team": str(org.team_b.pk)})
    assert r.status_code == 302
    user = User.objects.get(username="newrep")
    assert (user.role, user.team_id, user.view_pii, user.email) == ("sales_rep", org.team_b.pk, False, "new@example.com")
    assert user.check_password("Long-enough-pass-1")
    entry = AuditLog.objects.get(action="user.create", object_id=str(user.pk))
    assert entry.actor_id == org.admin.pk


def test_create_user_validates(org, web_client):
    c = web_client(org.admin)
    before = User.objects.count()
    r = c.post(reverse("accounts:user_create"), {"username": "rep_a", "password": "Long-enough-pass-1",
                                                 "role": "sales_rep"})
    assert "That username is taken." in r.content.decode()
    r = c.post(reverse("accounts:user_create"), {"username": "weak", "password": "123", "role": "sales_rep"})
    assert r.status_code == 200 and "too short" in r.content.decode()
    assert User.objects.count() == before


def test_admin_edits_role_team_pii_and_active(org, web_client):
    c = web_client(org.admin)
    r = c.post(reverse("accounts:user_edit", args=[org.rep_a.pk]), {
        "display_name": "Rep A", "email": "", "role": "manager", "team": str(org.team_b.pk), "view_pii": "on",
        "is_active": ""})
    assert r.status_code == 302
    user = User.objects.get(pk=org.rep_a.pk)
    assert (user.role, user.team_id, user.view_pii, user.is_active, user.display_name) == (
        "manager", org.team_b.pk, True, False, "Rep A")
    entry = AuditLog.objects.get(action="user.update", object_id=str(user.pk))
    assert entry.actor_id == org.admin.pk
    assert entry.before == {"display_name": "rep_a", "role": "sales_rep", "team_id": org.team_a.pk,
                            "view_pii": False, "is_active": True}
    assert entry.after == {"display_name": "Rep A", "role": "manager", "team_id": org.team_b.pk,
                           "view_pii": True, "is_active": False}


def test_admin_sets_a_password_for_a_user(org, web_client):
    c = web_client(org.admin)
    r = c.post(reverse("accounts:user_edit", args=[org.rep_a.pk]), {"action": "password",
                                                                    "new_password": "Another-long-pass-9"})
    assert r.status_code == 302
    org.rep_a.refresh_from_db()
    assert org.rep_a.check_password("Another-long-pass-9")
    assert AuditLog.objects.filter(action="user.password", actor=org.admin, object_id=str(org.rep_a.pk)).count() == 1


def test_admin_cannot_deactivate_or_demote_themselves(org):
    admin2 = services.create_user(username="admin2", password="x-long-pass-1", role="admin")
    with pytest.raises(DomainError) as exc:
        services.update_user(actor=admin2, user=admin2, is_active=False)
    assert exc.value.field == "is_active"
    with pytest.raises(DomainError) as exc:
        services.update_user(actor=admin2, user=admin2, role="sales_rep")
    assert exc.value.field == "role"
    admin2.refresh_from_db()
    assert (admin2.role, admin2.is_active) == ("admin", True)
    assert not AuditLog.objects.filter(action="user.update").exists()


def test_services_refuse_non_admins(org):
    with pytest.raises(PermissionDenied):
        services.update_user(actor=org.manager_a, user=org.rep_a, role="admin")
    with pytest.raises(PermissionDenied):
        services.create_team(actor=org.manager_a, name="X", kind="region")
    with pytest.raises(PermissionDenied):
        services.update_team(actor=org.rep_a, team=org.team_a, name="Mine")
    with pytest.raises(PermissionDenied):
        services.deactivate_user(actor=org.rep_a, user=org.rep_b)
    org.rep_a.refresh_from_db()
    org.team_a.refresh_from_db()
    assert (org.rep_a.role, org.team_a.name) == ("sales_rep", "Team A")
    assert not AuditLog.objects.filter(action__in=["user.update", "team.create", "team.update"]).exists()


def test_team_tree_create_rename_move(org, web_client):
    c = web_client(org.admin)
    r = c.post(reverse("accounts:teams"), {"name": "Hangzhou", "kind": "branch", "parent": str(org.region.pk)})
    assert r.status_code == 302
    hangzhou = Team.objects.get(name="Hangzhou")
    assert hangzhou.parent_id == org.region.pk
    r = c.post(reverse("accounts:team_edit", args=[org.team_b.pk]), {"name": "Team Beta",
                                                                     "parent": str(hangzhou.pk)})
    assert r.status_code == 302
    org.team_b.refresh_from_db()
    assert (org.team_b.name, org.team_b.parent_id) == ("Team Beta", hangzhou.pk)
    entry = AuditLog.objects.get(action="team.update")
    assert entry.before == {"name": "Team B", "parent_id": org.branch.pk}
    assert entry.after == {"name": "Team Beta", "parent_id": hangzhou.pk}
    body = c.get(reverse("accounts:teams")).content.decode()
    assert body.index("Hangzhou") < body.index("Team Beta")


def test_team_rules(org):
    with pytest.raises(DomainError, match="A branch must belong to a region"):
        services.create_team(actor=org.admin, name="Lost branch", kind="branch")
    with pytest.raises(DomainError, match="A team must belong"):
        services.create_team(actor=org.admin, name="Loose", kind="team", parent=org.region)
    with pytest.raises(DomainError, match="already a team with that name"):
        services.create_team(actor=org.admin, name="Team A", kind="team", parent=org.branch)
    sub = services.create_team(actor=org.admin, name="Sub A", kind="team", parent=org.team_a)
    with pytest.raises(DomainError, match="under itself"):
        services.update_team(actor=org.admin, team=org.team_a, parent=sub)
    org.team_a.refresh_from_db()
    assert org.team_a.parent_id == org.branch.pk
    assert AuditLog.objects.filter(action="team.create").count() == 1


def test_team_edit_page_rejects_a_cycle_without_writing(org, web_client):
    sub = services.create_team(actor=org.admin, name="Sub A", kind="team", parent=org.team_a)
    c = web_client(org.admin)
    r = c.post(reverse("accounts:team_edit", args=[org.team_a.pk]), {"name": "Team A", "parent": str(sub.pk)})
    assert r.status_code == 200  # the subtree is not even offered: the form refuses the choice
    org.team_a.refresh_from_db()
    assert org.team_a.parent_id == org.branch.pk
    assert not AuditLog.objects.filter(action="team.update").exists()
