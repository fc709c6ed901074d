"""Reads of the reports app: which saved reports and dashboards a user may open."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from clientwise.core import permissions as perms
from clientwise.core.errors import NotFound
from clientwise.core.queries import get_visible
from clientwise.reports.models import Dashboard, Report
from clientwise.reports.perms import USE_REPORTS


def visible_reports(user) -> QuerySet[Report]:
    """Reports the user owns or that are shared with their role (administrators: all)."""
    role = perms.user_role(user)
    if role is None or not perms.has_perm(user, USE_REPORTS):
        return Report.objects.none()
    if role is perms.Role.ADMIN:
        return Report.objects.all()
    # JSON containment differs between SQLite and PostgreSQL; the role list is short, so match its JSON text.
    return Report.objects.filter(Q(owner_id=user.pk) | Q(shared_roles__icontains=f'"{role.value}"'))


def get_report_for(user, pk) -> Report:
    return get_visible(visible_reports(user), pk)


def dashboard_for(user, role: str | None = None) -> Dashboard | None:
    """The default dashboard of `role` (the user's own role unless an administrator asks for another)."""
    own = perms.user_role(user)
    if own is None:
        return None
    if role and role != own.value and own is not perms.Role.ADMIN:
        raise NotFound()
    return Dashboard.objects.filter(role=role or own.value, is_default=True).first()
