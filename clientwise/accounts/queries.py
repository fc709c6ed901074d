"""Reads for account pages and the API: tokens, users, the team tree."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from clientwise.accounts.models import APIToken, Team, User
from clientwise.accounts.services import team_subtree_ids
from clientwise.core import permissions as perms


def tokens_of(user: User) -> QuerySet[APIToken]:
    """The user's own tokens, newest first (revoked ones too, so the history stays visible)."""
    return APIToken.objects.filter(user=user).order_by("-created_at", "-id")


@dataclass(frozen=True)
class UserFilters:
    q: str = ""
    role: str = ""
    team: int | None = None
    active: str = ""  # "", "yes", "no"


def filter_users(f: UserFilters) -> QuerySet[User]:
    """Users for the management list. Callers check MANAGE_USERS (users are few: hundreds, not millions)."""
    qs = User.objects.select_related("team")
    text = f.q.strip()
    if text:
        qs = qs.filter(Q(username__icontains=text) | Q(display_name__icontains=text) | Q(email__icontains=text))
    if f.role == "none":
        qs = qs.filter(role="", is_superuser=False)
    elif f.role:
        qs = qs.filter(Q(role=f.role) | Q(is_superuser=True)) if f.role == perms.Role.ADMIN else qs.filter(role=f.role)
    if f.team:
        qs = qs.filter(team_id__in=team_subtree_ids(f.team))
    if f.active == "yes":
        qs = qs.filter(is_active=True)
    elif f.active == "no":
        qs = qs.filter(is_active=False)
    return qs


@dataclass
class TeamNode:
    team: Team
    depth: int
    path: str  # "East / Shanghai / Team A"
    member_count: int = 0


def team_tree() -> list[TeamNode]:
    """Every team in tree order (parents before children, siblings by name), with depth and full path."""

    teams = list(Team.objects.annotate(n=Count("members")).order_by("name"))
    children: dict[int | None, list[Team]] = {}
    for team in teams:
        children.setdefault(team.parent_id, []).append(team)
    out: list[TeamNode] = []

    def walk(parent_id, depth, prefix):
        for team in children.get(parent_id, []):
            path = f"{prefix} / {team.name}" if prefix else team.name
            out.append(TeamNode(team=team, depth=depth, path=path, member_count=team.n))
            walk(team.pk, depth + 1, path)

    walk(None, 0, "")
    return out


def team_choices() -> list[tuple[int, str]]:
    """(id, "Region / Branch / Team") for select menus."""
    return [(node.team.pk, node.path) for node in team_tree()]
