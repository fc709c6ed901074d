"""Roles and what each may do. Services check these; views and the API only translate the answer.

Record-level visibility (which customers a user may see) lives in `customers.queries.visible_customers`;
this module says which *actions* a role may take and how wide its scope is.
"""

from __future__ import annotations

import enum

from django.utils.translation import gettext_lazy as _

from clientwise.core.errors import PermissionDenied


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES_REP = "sales_rep"
    SERVICE_AGENT = "service_agent"
    MARKETER = "marketer"
    ANALYST = "analyst"


ROLE_LABELS = {
    Role.ADMIN: _("Administrator"),
    Role.MANAGER: _("Manager"),
    Role.SALES_REP: _("Sales rep"),
    Role.SERVICE_AGENT: _("Service agent"),
    Role.MARKETER: _("Marketer"),
    Role.ANALYST: _("Analyst"),
}
ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in Role]


class Scope(enum.StrEnum):
    ALL = "all"  # every customer
    TEAM = "team"  # customers of the user's team and the teams below it
    OWN = "own"  # customers the user owns or that are shared with the user's team


ROLE_SCOPE = {
    Role.ADMIN: Scope.ALL,
    Role.MANAGER: Scope.TEAM,
    Role.SALES_REP: Scope.OWN,
    Role.SERVICE_AGENT: Scope.ALL,
    Role.MARKETER: Scope.ALL,
    Role.ANALYST: Scope.ALL,
}

# Whether a newly created user of the role gets the view_pii right (an admin can change it per user).
ROLE_DEFAULT_PII = {Role.ADMIN: True, Role.MANAGER: True}

VIEW_CUSTOMERS = "customers.view"
CHANGE_CUSTOMERS = "customers.change"
ARCHIVE_CUSTOMERS = "customers.archive"
VIEW_ORDERS = "orders.view"
VIEW_COSTS = "orders.view_costs"  # unit costs and margins are commercially sensitive
CHANGE_ORDERS = "orders.change"
MANAGE_CATALOG = "catalog.manage"
MANAGE_ATTRIBUTES = "attributes.manage"
MANAGE_USERS = "users.manage"
VIEW_AUDIT = "audit.view"
EXPORT = "data.export"
IMPORT = "data.import"  # bulk imports and entry grids (dataio)

_ALL = {
    VIEW_CUSTOMERS, CHANGE_CUSTOMERS, ARCHIVE_CUSTOMERS, VIEW_ORDERS, VIEW_COSTS, CHANGE_ORDERS,
    MANAGE_CATALOG, MANAGE_ATTRIBUTES, MANAGE_USERS, VIEW_AUDIT, EXPORT, IMPORT,
}
ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.ADMIN: _ALL,
    Role.MANAGER: {VIEW_CUSTOMERS, CHANGE_CUSTOMERS, ARCHIVE_CUSTOMERS, VIEW_ORDERS, VIEW_COSTS, CHANGE_ORDERS,
                   VIEW_AUDIT, EXPORT, IMPORT},
    Role.SALES_REP: {VIEW_CUSTOMERS, CHANGE_CUSTOMERS, VIEW_ORDERS, CHANGE_ORDERS},
    Role.SERVICE_AGENT: {VIEW_CUSTOMERS, CHANGE_CUSTOMERS, VIEW_ORDERS},
    Role.MARKETER: {VIEW_CUSTOMERS, VIEW_ORDERS, EXPORT},
    Role.ANALYST: {VIEW_CUSTOMERS, VIEW_ORDERS, VIEW_COSTS, EXPORT},
}

# Merging duplicate customers (and undoing a merge) rewrites many customers' history: admins and managers only.
MERGE = "data.merge"
_ALL.add(MERGE)
ROLE_PERMISSIONS[Role.MANAGER].add(MERGE)

# Customer analytics (scores, ranked lists, model validation): who may read them, and who may start a scoring run.
VIEW_ANALYTICS = "analytics.view"
RUN_ANALYTICS = "analytics.run"
_ALL.update({VIEW_ANALYTICS, RUN_ANALYTICS})
for _role in (Role.MANAGER, Role.MARKETER, Role.ANALYST):
    ROLE_PERMISSIONS[_role].add(VIEW_ANALYTICS)
ROLE_PERMISSIONS[Role.ANALYST].add(RUN_ANALYTICS)


def grant(perm: str, roles) -> str:
    """Declare an app's permission: administrators always have it, plus the given roles. Apps call this at import
    time of their own `permissions`-like module (e.g. `sales/perms.py`) and use the returned name."""
    _ALL.add(perm)
    for role in roles:
        ROLE_PERMISSIONS[Role(role)].add(perm)
    return perm


def user_role(user) -> Role | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    try:
        return Role(user.role)
    except ValueError:
        return None


def has_perm(user, perm: str) -> bool:
    role = user_role(user)
    return role is not None and perm in ROLE_PERMISSIONS[role]


def require(user, perm: str) -> None:
    """Raise PermissionDenied unless the user's role grants `perm`."""
    if not has_perm(user, perm):
        raise PermissionDenied()


def scope_of(user) -> Scope | None:
    role = user_role(user)
    return ROLE_SCOPE[role] if role else None


def can_view_pii(user) -> bool:
    role = user_role(user)
    if role is None:
        return False
    return bool(user.is_superuser or getattr(user, "view_pii", False))
