"""Core pages: the home page and the audit log. Thin: reads come from core.queries."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from clientwise.core import permissions as perms
from clientwise.core import queries
from clientwise.core.decorators import perm_required
from clientwise.core.errors import DomainError
from clientwise.core.normalize import parse_date
from clientwise.core.pagination import keyset_page
from clientwise.core.scheduler import worker_status

# Every timeline kind (customers.models.Interaction.Kind) has its icon; the sales, service and key-account kinds
# showed a bare dot in the home feed. The customer page uses the same pictures (customers_extras.KIND_ICONS).
ACTIVITY_ICONS = {
    "call": "telephone", "visit": "geo-alt", "email": "envelope", "sms": "chat-dots", "wechat": "wechat",
    "note": "journal-text", "purchase": "bag-check", "return": "arrow-counterclockwise", "profile": "person-lines-fill",
    "consent": "check2-square", "ticket": "life-preserver", "campaign": "megaphone", "points": "star",
    "merge": "union", "lead": "funnel", "opp": "briefcase", "task": "check2-square", "account": "building",
    "survey": "emoji-smile", "workorder": "tools",
}


@login_required
def home(request):
    user = request.user
    can_orders = perms.has_perm(user, perms.VIEW_ORDERS)
    context = {
        "role": perms.user_role(user),
        "can_orders": can_orders,
        "can_customers": perms.has_perm(user, perms.VIEW_CUSTOMERS),
        "now": timezone.localtime(),
        "activity": [(row, ACTIVITY_ICONS.get(row.kind, "dot")) for row in queries.recent_activity(user)],
        "customers_in_scope": queries.customers_in_scope(user),
        "scope": perms.scope_of(user),
    }
    if can_orders:
        context["figures"] = queries.home_figures(user)
        context["trend"] = queries.revenue_trend(user, days=30)
    return render(request, "core/home.html", context)


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value, errors: list, field: str):
    if not value:
        return None
    try:
        return parse_date(value, field=field)
    except DomainError as exc:
        errors.append(exc.message)
        return None


# The record types the audit filter offers (any other can still be asked for in the URL).
AUDIT_OBJECT_TYPES = ("customers.customer", "customers.contactpoint", "commerce.order", "accounts.user",
                      "accounts.team", "accounts.apitoken")


@perm_required(perms.VIEW_AUDIT)
def audit(request):
    g = request.GET
    errors: list[str] = []
    f = queries.AuditFilters(
        actor=_int(g.get("actor")), action=g.get("action", "")[:40], object_type=g.get("object_type", "")[:60],
        object_id=g.get("object_id", "")[:40], customer=_int(g.get("customer")),
        date_from=_date(g.get("date_from"), errors, "date_from"), date_to=_date(g.get("date_to"), errors, "date_to"),
    )
    qs = queries.filter_audit(queries.visible_audit(request.user), f).select_related("actor")
    try:
        page = keyset_page(qs, sort="-id", cursor=g.get("cursor") or None, size=50)
    except DomainError as exc:
        errors.append(exc.message)
        page = keyset_page(qs, sort="-id", size=50)
    context = {
        "page": page, "rows": queries.audit_rows(page.items, user=request.user), "filters": f, "errors": errors,
        "actors": queries.audit_actor_choices(request.user), "actions": queries.audit_action_choices(),
        "object_types": AUDIT_OBJECT_TYPES,
        "today": dt.date.today(),
    }
    template = "core/_audit_table.html" if request.htmx and request.htmx.target == "cw-audit" else "core/audit.html"
    return render(request, template, context)


def healthz(request):
    """For a load balancer or service manager: 200 when the database answers, 503 when it does not; says whether a
    task worker is alive (a silent worker does not make the web tier unhealthy). No sign-in, no personal data."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        worker = worker_status()
    except Exception:  # the database is down or unreachable: that is the answer, not a 500
        return JsonResponse({"status": "error", "database": False}, status=503)
    return JsonResponse({"status": "ok", "database": True, "worker_alive": worker.alive,
                         "tasks_waiting": worker.waiting})
