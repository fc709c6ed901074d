"""Account operations: users, teams, API tokens. The only code that writes account rows."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.accounts.models import APIToken, Team, User
from clientwise.core import permissions as perms
from clientwise.core.audit import audit
from clientwise.core.errors import DomainError, ErrorCode, NotFound

TOKEN_PREFIX = "cw_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: APIToken
    secret: str  # shown to the user once, never stored


def create_user(*, username: str, password: str, role: str = "", team: Team | None = None, view_pii: bool | None = None,
                display_name: str = "", email: str = "", actor=None, is_superuser: bool = False) -> User:
    """Create a user. `view_pii` defaults from the role (admins and managers get it)."""
    if actor is not None:
        perms.require(actor, perms.MANAGE_USERS)
    if User.objects.filter(username=username).exists():
        raise DomainError(ErrorCode.DUPLICATE, _("That username is taken."), "username")
    if view_pii is None:
        view_pii = bool(role) and perms.ROLE_DEFAULT_PII.get(perms.Role(role), False)
    with transaction.atomic():
        user = User(username=username, role=role, team=team, view_pii=view_pii or is_superuser,
                    display_name=display_name, email=email, is_superuser=is_superuser, is_staff=is_superuser)
        user.set_password(password)
        user.save()
        audit(actor=actor, action="user.create", obj=user, after={"username": username, "role": role})
    return user


def issue_token(*, user: User, name: str, expires_at=None) -> IssuedToken:
    """Create an API token for `user` (a user manages only their own tokens)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(ErrorCode.REQUIRED, _("Give the token a name."), "name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = APIToken.objects.create(user=user, name=name[:100], prefix=secret[:10], key_hash=_hash(secret),
                                        expires_at=expires_at)
        audit(actor=user, action="token.create", obj=token, after={"name": token.name, "prefix": token.prefix})
    return IssuedToken(token=token, secret=secret)


def revoke_token(*, user: User, token_id: int) -> APIToken:
    with transaction.atomic():
        token = APIToken.objects.filter(user=user, pk=token_id, revoked_at__isnull=True).first()
        if token is None:
            raise NotFound(_("No such token."))
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(actor=user, action="token.revoke", obj=token)
    return token


def user_for_token(secret: str) -> User | None:
    """The active user a token secret belongs to, or None. Touches last_used_at at most once a minute."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = (APIToken.objects.select_related("user", "user__team")
             .filter(key_hash=_hash(secret), revoked_at__isnull=True).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at and token.expires_at <= now:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def set_language(*, user: User, language: str) -> None:
    from django.conf import settings

    if language and language not in dict(settings.LANGUAGES):
        raise DomainError(ErrorCode.INVALID, _("Unknown language."), "language")
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


def team_subtree_ids(team_id: int | None) -> list[int]:
    """The team and every team below it (teams are few: one query, walked in Python)."""
    if team_id is None:
        return []
    children: dict[int | None, list[int]] = {}
    for tid, parent in Team.objects.values_list("id", "parent_id"):
        children.setdefault(parent, []).append(tid)
    out, stack = [], [team_id]
    while stack:
        tid = stack.pop()
        out.append(tid)
        stack.extend(children.get(tid, []))
    return out
