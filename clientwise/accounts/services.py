"""Account operations: users, teams, API tokens. The only code that writes account rows."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.accounts.models import APIToken, Team, User
from clientwise.core import permissions as perms
from clientwise.core.audit import audit, diff
from clientwise.core.errors import DomainError, ErrorCode, NotFound
from clientwise.core.memo import memoized
from clientwise.core.normalize import normalize_email

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
    username = (username or "").strip()
    if not username:
        raise DomainError(ErrorCode.REQUIRED, _("A username is required."), "username")
    try:
        User.username_validator(username)
    except DjangoValidationError:
        raise DomainError(ErrorCode.INVALID, _("Use at most 150 letters, digits and @ . + - _ in a username."),
                          "username") from None
    if len(username) > 150:
        raise DomainError(ErrorCode.INVALID, _("Use at most 150 letters, digits and @ . + - _ in a username."),
                          "username")
    role = _clean_role(role)
    email = _clean_email(email)
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
    """The active user a token secret belongs to, or None. Touches last_used_at at most once a minute. Read once per
    request (core.memo): the language middleware and the API's authentication both ask."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    key_hash = _hash(secret)
    return memoized(("accounts.token", key_hash), lambda: _user_for_token(key_hash))


def _user_for_token(key_hash: str) -> User | None:
    token = (APIToken.objects.select_related("user", "user__team")
             .filter(key_hash=key_hash, revoked_at__isnull=True).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at and token.expires_at <= now:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def set_language(*, user: User, language: str) -> None:
    if language and language not in dict(settings.LANGUAGES):
        raise DomainError(ErrorCode.INVALID, _("Unknown language."), "language")
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


TEAM_TREE = "accounts.team_tree"  # the request memo's key (core.memo); Team's save and delete forget it


def _team_children() -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = {}
    for tid, parent in Team.objects.values_list("id", "parent_id"):
        children.setdefault(parent, []).append(tid)
    return children


def team_subtree_ids(team_id: int | None) -> list[int]:
    """The team and every team below it (teams are few: one query, walked in Python)."""
    if team_id is None:
        return []
    children = memoized(TEAM_TREE, _team_children)  # once per request: every scope of the request asks
    out, stack = [], [team_id]
    while stack:
        tid = stack.pop()
        out.append(tid)
        stack.extend(children.get(tid, []))
    return out


# --- Users ---------------------------------------------------------------------------------------------------

USER_AUDIT_FIELDS = ("username", "display_name", "email", "role", "team_id", "view_pii", "is_active")


def _user_snapshot(user: User) -> dict:
    return {name: getattr(user, name) for name in USER_AUDIT_FIELDS}


def _clean_role(role: str) -> str:
    role = (role or "").strip()
    if role and role not in {r.value for r in perms.Role}:
        raise DomainError(ErrorCode.INVALID, _("Unknown role."), "role")
    return role


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    return normalize_email(email, field="email") if email else ""


def update_profile(*, user: User, display_name: str, email: str, language: str | None = None) -> User:
    """A user changes their own display name, email and (optionally) language preference."""
    display_name = (display_name or "").strip()
    if len(display_name) > 100:
        raise DomainError(ErrorCode.INVALID, _("Display name is longer than 100 characters."), "display_name")
    email = _clean_email(email)
    with transaction.atomic():
        before = _user_snapshot(user) | {"language": user.language}
        user.display_name = display_name
        user.email = email
        user.save(update_fields=["display_name", "email"])
        if language is not None:
            set_language(user=user, language=language)
        changed_before, changed_after = diff(before, _user_snapshot(user) | {"language": user.language})
        if changed_after:
            audit(actor=user, action="user.profile", obj=user, before=changed_before, after=changed_after)
    return user


def change_password(*, user: User, password: str, actor: User | None = None) -> None:
    """Set a new password (already validated by the form). An actor other than the user needs MANAGE_USERS."""
    if actor is not None and actor.pk != user.pk:
        perms.require(actor, perms.MANAGE_USERS)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit(actor=actor or user, action="user.password", obj=user)


def update_user(*, actor: User, user: User, role: str | None = None, team: Team | None | bool = False,
                view_pii: bool | None = None, is_active: bool | None = None, display_name: str | None = None,
                email: str | None = None) -> User:
    """An administrator changes another user's role, team, PII right, active flag, name or email.

    Pass only what changes (`team=False` leaves the team alone, `team=None` clears it). Administrators cannot
    take away their own administration rights or deactivate themselves, so the system always keeps one.
    """
    perms.require(actor, perms.MANAGE_USERS)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = _user_snapshot(user)
        if role is not None:
            role = _clean_role(role)
            if user.pk == actor.pk and role != perms.Role.ADMIN and not user.is_superuser:
                raise DomainError(ErrorCode.INVALID, _("You cannot remove your own administrator role."), "role")
            user.role = role
        if team is not False:
            user.team = team
        if view_pii is not None:
            user.view_pii = bool(view_pii)
        if is_active is not None:
            if not is_active and user.pk == actor.pk:
                raise DomainError(ErrorCode.INVALID, _("You cannot deactivate yourself."), "is_active")
            user.is_active = bool(is_active)
        if display_name is not None:
            display_name = display_name.strip()
            if len(display_name) > 100:
                raise DomainError(ErrorCode.INVALID, _("Display name is longer than 100 characters."), "display_name")
            user.display_name = display_name
        if email is not None:
            user.email = _clean_email(email)
        user.save()
        changed_before, changed_after = diff(before, _user_snapshot(user))
        if changed_after:
            audit(actor=actor, action="user.update", obj=user, before=changed_before, after=changed_after)
    return user


def deactivate_user(*, actor: User, user: User) -> User:
    """Stop a user from signing in (their API tokens stop working too); their records stay."""
    return update_user(actor=actor, user=user, is_active=False)


# --- Teams ---------------------------------------------------------------------------------------------------

ALLOWED_PARENT_KINDS = {
    Team.Kind.REGION: (None,),
    Team.Kind.BRANCH: (Team.Kind.REGION,),
    Team.Kind.TEAM: (Team.Kind.BRANCH, Team.Kind.TEAM),
}


def _check_team(*, name: str, kind: str, parent: Team | None, instance: Team | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(ErrorCode.REQUIRED, _("Give the team a name."), "name")
    if len(name) > 100:
        raise DomainError(ErrorCode.INVALID, _("Name is longer than 100 characters."), "name")
    if kind not in Team.Kind.values:
        raise DomainError(ErrorCode.INVALID, _("Unknown kind of team."), "kind")
    parent_kind = parent.kind if parent is not None else None
    if parent_kind not in ALLOWED_PARENT_KINDS[Team.Kind(kind)]:
        messages = {
            Team.Kind.REGION: _("A region cannot be placed under another team."),
            Team.Kind.BRANCH: _("A branch must belong to a region."),
            Team.Kind.TEAM: _("A team must belong to a branch or another team."),
        }
        raise DomainError(ErrorCode.INVALID, messages[Team.Kind(kind)], "parent")
    if instance is not None and parent is not None and parent.pk in team_subtree_ids(instance.pk):
        raise DomainError(ErrorCode.INVALID, _("A team cannot be moved under itself or one of its own teams."),
                          "parent")
    siblings = Team.objects.filter(parent=parent, name=name)
    if instance is not None:
        siblings = siblings.exclude(pk=instance.pk)
    if siblings.exists():
        raise DomainError(ErrorCode.DUPLICATE, _("There is already a team with that name here."), "name")
    return name


def create_team(*, actor: User, name: str, kind: str = Team.Kind.TEAM, parent: Team | None = None) -> Team:
    perms.require(actor, perms.MANAGE_USERS)
    with transaction.atomic():
        name = _check_team(name=name, kind=kind, parent=parent)
        team = Team.objects.create(name=name, kind=kind, parent=parent)
        audit(actor=actor, action="team.create", obj=team,
              after={"name": team.name, "kind": team.kind, "parent_id": team.parent_id})
    return team


def update_team(*, actor: User, team: Team, name: str | None = None, parent: Team | None | bool = False) -> Team:
    """Rename a team and/or move it under another parent (`parent=False` keeps it where it is)."""
    perms.require(actor, perms.MANAGE_USERS)
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        before = {"name": team.name, "parent_id": team.parent_id}
        new_parent = team.parent if parent is False else parent
        new_name = _check_team(name=team.name if name is None else name, kind=team.kind, parent=new_parent,
                               instance=team)
        team.name = new_name
        team.parent = new_parent
        team.save(update_fields=["name", "parent"])
        changed_before, changed_after = diff(before, {"name": team.name, "parent_id": team.parent_id})
        if changed_after:
            audit(actor=actor, action="team.update", obj=team, before=changed_before, after=changed_after)
    return team


# --- Administrators ------------------------------------------------------------------------------------------

def ensure_admin(*, username: str, password: str, email: str = "") -> tuple[User, bool]:
    """Create an administrator, or reset the password (and restore admin rights) of an existing one.

    Used by `clientwise createadmin`, so running it twice is safe. Returns (user, created).
    """
    username = (username or "").strip()
    if not username:
        raise DomainError(ErrorCode.REQUIRED, _("A username is required."), "username")
    if not password:
        raise DomainError(ErrorCode.REQUIRED, _("A password is required."), "password")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            user = create_user(username=username, password=password, role=perms.Role.ADMIN.value,
                               email=_clean_email(email), is_superuser=True)
            return user, True
        before = _user_snapshot(user)
        user.set_password(password)
        user.role = perms.Role.ADMIN.value
        user.is_superuser = user.is_staff = user.is_active = True
        user.view_pii = True
        if email:
            user.email = _clean_email(email)
        user.save()
        changed_before, changed_after = diff(before, _user_snapshot(user))
        audit(actor=None, action="user.admin_reset", obj=user, before=changed_before, after=changed_after,
              detail={"password_changed": True})
    return user, False
