"""JSON API for accounts: parse, call queries/services, return schemas. No business rules here."""

from __future__ import annotations

from django.utils import timezone, translation
from ninja import Query, Router, Status

from clientwise.accounts import queries, services
from clientwise.accounts.models import Team
from clientwise.accounts.schemas import (
    MeOut,
    TeamPage,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
    TokenPage,
    UserPage,
)
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.pagination import keyset_page

router = Router(tags=["accounts"])


def _team_ref(team: Team | None):
    return {"id": team.pk, "name": team.name} if team is not None else None


@router.get("/me", response=MeOut, summary="The signed-in user")
def me(request):
    user = request.user
    role = perms.user_role(user)
    return {
        "id": user.pk, "username": user.username, "display_name": user.display_name, "email": user.email,
        "role": role.value if role else None, "role_label": str(perms.ROLE_LABELS.get(role, "")) if role else "",
        "team": _team_ref(user.team), "view_pii": perms.can_view_pii(user), "language": user.language,
        "active_language": translation.get_language(),
    }


@router.get("/tokens", response=TokenPage, summary="My API tokens, newest first")
def list_tokens(request, cursor: str | None = None, size: int = Query(50, ge=1, le=200)):
    page = keyset_page(queries.tokens_of(request.user), sort="-id", cursor=cursor, size=size)
    return {"items": page.items, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create a token (its secret is returned once)")
def create_token(request, payload: TokenIn):
    if payload.expires_at is not None and payload.expires_at <= timezone.now():
        raise DomainError(ErrorCode.INVALID, "The expiry must be in the future.", "expires_at", status=422)
    issued = services.issue_token(user=request.user, name=payload.name, expires_at=payload.expires_at)
    token = issued.token
    return Status(201, {**TokenOut.model_validate(token).model_dump(), "secret": issued.secret})


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke one of my tokens")
def revoke_token(request, token_id: int):
    services.revoke_token(user=request.user, token_id=token_id)
    return Status(204, None)


@router.get("/users", response=UserPage, summary="Users (administrators only)")
def list_users(request, q: str = "", role: str = "", team: int | None = None, active: str = "",
               cursor: str | None = None, size: int = Query(50, ge=1, le=200)):
    perms.require(request.user, perms.MANAGE_USERS)
    f = queries.UserFilters(q=q, role=role, team=team, active=active)
    page = keyset_page(queries.filter_users(f), sort="username", cursor=cursor, size=size)
    items = [{
        "id": u.pk, "username": u.username, "display_name": u.display_name, "email": u.email, "role": u.role,
        "is_superuser": u.is_superuser, "team": _team_ref(u.team), "view_pii": u.view_pii,
        "is_active": u.is_active, "last_login": u.last_login,
    } for u in page.items]
    return {"items": items, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.get("/teams", response=TeamPage, summary="Teams in tree order (administrators only)")
def list_teams(request):
    perms.require(request.user, perms.MANAGE_USERS)
    items = [{"id": n.team.pk, "name": n.team.name, "kind": n.team.kind, "parent_id": n.team.parent_id,
              "path": n.path} for n in queries.team_tree()]
    return {"items": items, "next_cursor": None, "prev_cursor": None}
