"""Reads for the home page and the audit log.

core imports no domain app: the customer scope (customers.scope.CustomerScope), the order figures (commerce) and
the activity feed (customers) arrive through core.extensions' registries, so the home page counts exactly what the
user could find on the list pages. Every query is bounded by an indexed date range or by the user's
customers; nothing counts a million rows per page view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from clientwise.core import extensions, masking, periods
from clientwise.core import permissions as perms
from clientwise.core.errors import NotFound
from clientwise.core.models import AuditLog

ZERO = Decimal("0.00")
SCOPE_COUNT_TTL = 600  # seconds: "customers in scope" is a full count, so it is cached for ten minutes


# --- Home ---------------------------------------------------------------------------------------------------


def get_visible(qs: QuerySet, pk, *, lock: bool = False):
    """The row `pk` of `qs` (a visible_*() queryset), locked for update when `lock`; NotFound for a pk that is not
    a number, missing or outside the queryset: a record the user may not see answers like a missing one."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    if lock:
        qs = qs.select_for_update(of=("self",))
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    return obj


def _change(current, previous) -> dict[str, Any]:
    """Change against the comparison day: absolute difference and percent (None when the base is zero)."""
    current = current or 0
    previous = previous or 0
    delta = current - previous
    pct = None if not previous else round(float(delta) / float(previous) * 100, 1)
    return {"previous": previous, "delta": delta, "pct": pct, "direction": (delta > 0) - (delta < 0)}


def home_figures(user, day: dt.date | None = None, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Today's key figures in the user's scope, each compared with the same weekday last week up to the same time
    of day (today is not over: at 08:24 it is compared with last week's 00:00–08:24, not with its whole day). A
    past day is compared whole with whole."""
    key_figures = extensions.home_source("key_figures")

    moment = timezone.localtime(now or timezone.now())
    day = day or moment.date()
    until = moment.time().replace(microsecond=0) if day == moment.date() else None
    now, before = key_figures(user, day, until=until), key_figures(user, day - dt.timedelta(days=7), until=until)

    def aov(fig):
        return fig.get("average_order_value", fig.get("avg_order_value", ZERO))

    figures = {
        "orders": (now["orders"], before["orders"]),
        "revenue": (now["revenue"], before["revenue"]),
        "average_order_value": (aov(now), aov(before)),
        "new_customers": (now["new_customers"], before["new_customers"]),
        "active_customers": (now["active_customers"], before["active_customers"]),
    }
    out = {key: {"value": cur, **_change(cur, prev)} for key, (cur, prev) in figures.items()}
    out["day"] = day
    out["compare_day"] = day - dt.timedelta(days=7)
    out["until"] = until  # None: whole days
    out["currency"] = now.get("currency", "CNY")
    return out


def revenue_trend(user, *, days: int = 30, end: dt.date | None = None) -> dict[str, list]:
    """Revenue and order count per local day for the last `days` days (including `end`), zero-filled; the last
    day is marked partial while it is still going on (core.periods, the rule the report charts use too)."""

    trend = extensions.home_source("trend")(user, days=days, end=end)
    last = dt.date.fromisoformat(trend["days"][-1]) if trend.get("days") else None
    running = last is not None and periods.coverage(last, "day").running
    trend["partial_last"] = running
    trend["until"] = timezone.localtime().strftime("%H:%M") if running else None
    return trend


def customers_in_scope(user) -> int | None:
    """How many (non-archived) customers the user may see, cached for ten minutes per scope.

    The cache key is the scope itself (CustomerScope.cache_key: everyone / a team subtree / one user and their
    team), so all users with the same reach share one count and a move to another team takes effect at once.
    """
    scope = extensions.customer_scope(user)
    if scope.nothing:
        return None
    return cache.get_or_set(f"cw:scope-count:{scope.cache_key}",
                            lambda: scope.customers().filter(archived_at__isnull=True).count(), SCOPE_COUNT_TTL)


def recent_activity(user, *, limit: int = 8, window_days: int = 30) -> list:
    """The latest timeline rows of customers the user may see (the home page's activity feed)."""
    return extensions.home_source("activity")(user, limit=limit, window_days=window_days)


# --- Audit log ----------------------------------------------------------------------------------------------


def visible_audit(user) -> QuerySet[AuditLog]:
    """Audit rows a user may read: administrators all; managers the rows about customers they can see plus
    everything done by the users of their team subtree (themselves included); others nothing."""
    if not perms.has_perm(user, perms.VIEW_AUDIT):
        return AuditLog.objects.none()
    scope = extensions.customer_scope(user)
    if scope.everything:
        return AuditLog.objects.all()
    actors = Q(actor_id=user.pk) | Q(actor_id__in=get_user_model().objects.filter(scope.users_q()).values("pk"))
    customers = Q(customer_id__isnull=False, customer_id__in=scope.customers().values("pk"))
    return AuditLog.objects.filter(actors | customers)


@dataclass(frozen=True)
class AuditFilters:
    actor: int | None = None
    action: str = ""  # exact, or a prefix ending with "." ("customer." → every customer action)
    object_type: str = ""
    object_id: str = ""
    customer: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def filter_audit(qs: QuerySet[AuditLog], f: AuditFilters) -> QuerySet[AuditLog]:
    if f.actor:
        qs = qs.filter(actor_id=f.actor)
    action = f.action.strip()
    if action.endswith("."):
        qs = qs.filter(action__startswith=action)
    elif action:
        qs = qs.filter(action=action)
    if f.object_type.strip():
        qs = qs.filter(object_type=f.object_type.strip().lower())
    if f.object_id.strip():
        qs = qs.filter(object_id=f.object_id.strip())
    if f.customer:
        qs = qs.filter(customer_id=f.customer)
    tz = timezone.get_current_timezone()
    if f.date_from:
        qs = qs.filter(at__gte=dt.datetime.combine(f.date_from, dt.time.min, tzinfo=tz))
    if f.date_to:
        qs = qs.filter(at__lt=dt.datetime.combine(f.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    return qs


@dataclass
class Change:
    field: str
    before: Any
    after: Any
    kind: str  # "changed" | "added" | "removed"


@dataclass
class AuditRow:
    entry: AuditLog
    changes: list[Change]
    detail: dict


def _mask(data, pii: bool):
    if data is None or pii:
        return data
    return masking.mask_record(data, pii=False)


def audit_rows(entries: list[AuditLog], *, user) -> list[AuditRow]:
    """Entries with their before/after turned into field-by-field changes, PII masked for users without it."""
    pii = perms.can_view_pii(user)
    rows = []
    for entry in entries:
        before = _mask(entry.before, pii) or {}
        after = _mask(entry.after, pii) or {}
        changes = []
        for key in list(dict.fromkeys([*before.keys(), *after.keys()])):
            if key in before and key in after:
                kind = "changed"
            elif key in after:
                kind = "added"
            else:
                kind = "removed"
            changes.append(Change(field=key, before=before.get(key), after=after.get(key), kind=kind))
        rows.append(AuditRow(entry=entry, changes=changes, detail=_mask(entry.detail, pii) or {}))
    return rows


def audit_actor_choices(user) -> list:
    """Users the filter menu offers: everyone for administrators, the team subtree for managers."""
    qs = get_user_model().objects.order_by("username")
    q = extensions.customer_scope(user).users_q()
    if q is not None:
        qs = qs.filter(q)
    return list(qs.only("id", "username", "display_name", "first_name", "last_name")[:500])


COMMON_ACTIONS = ("customer.", "contact.", "consent.", "order.", "return.", "export.", "pii.view", "user.",
                  "team.", "token.")


def audit_action_choices() -> list[str]:
    """Action names for the filter's suggestions: common prefixes plus those seen in the latest 2,000 rows
    (a primary-key walk, not a DISTINCT over the whole log)."""
    recent = AuditLog.objects.order_by("-id").values_list("action", flat=True)[:2000]
    return sorted(set(COMMON_ACTIONS) | set(recent))
