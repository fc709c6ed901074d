"""Accounts' codes in words (core/labels.py): its audit actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import labels


def register() -> None:
    labels.register("audit.action", {
        "user.": _("Users: any change"), "team.": _("Teams: any change"), "token.": _("API tokens: any change"),
        "user.create": _("User created"), "user.update": _("User changed"), "user.password": _("Password changed"),
        "user.profile": _("Own settings changed"), "user.admin_reset": _("Password reset by an administrator"),
        "team.create": _("Team created"), "team.update": _("Team changed"),
        "token.create": _("API token created"), "token.revoke": _("API token revoked"),
    })
    labels.register("model", {
        "accounts.team": _("Team"),
        "accounts.user": _("User"),
        "accounts.apitoken": _("API token"),
    })
