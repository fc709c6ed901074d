"""`clientwise createadmin`: non-interactive, idempotent, and it refuses weak passwords unless told."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from clientwise.accounts.models import User
from clientwise.core import permissions as perms

pytestmark = pytest.mark.django_db


def test_creates_then_updates(capsys):
    call_command("createadmin", username="boss", password="First-long-pass-1", email="Boss@Example.com",
                 interactive=False)
    user = User.objects.get(username="boss")
    assert (user.is_superuser, user.role, user.view_pii, user.email) == (True, "admin", True, "boss@example.com")
    assert perms.has_perm(user, perms.MANAGE_USERS)
    assert "Created administrator “boss”." in capsys.readouterr().out

    call_command("createadmin", username="boss", password="Second-long-pass-2", interactive=False)
    assert User.objects.filter(username="boss").count() == 1
    user.refresh_from_db()
    assert user.check_password("Second-long-pass-2")
    assert user.email == "boss@example.com"
    assert "Updated administrator “boss”." in capsys.readouterr().out


def test_restores_rights_of_a_demoted_admin(org):
    call_command("createadmin", username="rep_a", password="Some-long-pass-3", interactive=False)
    org.rep_a.refresh_from_db()
    assert (org.rep_a.role, org.rep_a.is_superuser, org.rep_a.is_active) == ("admin", True, True)


def test_noinput_needs_username_and_password(db):
    with pytest.raises(CommandError, match="--password is required"):
        call_command("createadmin", username="x", interactive=False)
    with pytest.raises(CommandError, match="--username is required"):
        call_command("createadmin", password="Some-long-pass-3", interactive=False)
    assert not User.objects.exists()


def test_weak_password_refused_unless_allowed(db):
    with pytest.raises(CommandError, match="too short"):
        call_command("createadmin", username="x", password="abc", interactive=False)
    assert not User.objects.exists()
    call_command("createadmin", username="x", password="abc", interactive=False, weak_ok=True)
    assert User.objects.get(username="x").check_password("abc")


def test_prompts_when_interactive(db, monkeypatch):
    answers = iter(["Prompted-pass-44", "Prompted-pass-44"])
    monkeypatch.setattr("builtins.input", lambda prompt="": "asked")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("createadmin")
    assert User.objects.get(username="asked").check_password("Prompted-pass-44")
