"""Reads shared by pages, the API, exports and reports. Visibility is decided here and nowhere else."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from clientwise.accounts.services import team_subtree_ids
from clientwise.core import permissions as perms
from clientwise.core.errors import NotFound
from clientwise.core.normalize import phone_search_key
from clientwise.customers.models import ContactPoint, Customer, CustomerShare, Interaction

PREFIX_END = "\U0010ffff"


def visibility_q(user) -> Q | None:
    """The filter on Customer a user may see: None means everything, Q(pk__in=[]) nothing."""
    scope = perms.scope_of(user)
    if scope is None or not perms.has_perm(user, perms.VIEW_CUSTOMERS):
        return Q(pk__in=[])
    if scope is perms.Scope.ALL:
        return None
    if scope is perms.Scope.TEAM:
        teams = team_subtree_ids(user.team_id)
        return Q(team_id__in=teams) | Q(owner_id=user.pk) if teams else Q(owner_id=user.pk)
    q = Q(owner_id=user.pk)
    if user.team_id:
        q |= Q(pk__in=CustomerShare.objects.filter(team_id=user.team_id).values("customer_id"))
    return q


def visible_customers(user) -> QuerySet[Customer]:
    """Every customer `user` may see, archived ones included (callers filter archived_at as they need)."""
    q = visibility_q(user)
    qs = Customer.objects.all()
    return qs if q is None else qs.filter(q)


def get_customer_for(user, pk) -> Customer:
    """The customer if `user` may see it; NotFound otherwise (the same answer as for a missing one)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    customer = visible_customers(user).select_related("owner", "team", "organization").filter(pk=pk).first()
    if customer is None:
        raise NotFound()
    return customer


def _prefix(field: str, text: str) -> Q:
    """Prefix match as a range, so a plain B-tree index serves it on SQLite and PostgreSQL alike."""
    return Q(**{f"{field}__gte": text, f"{field}__lt": text + PREFIX_END})


def search_q(query: str) -> Q | None:
    """Match by phone (any contact point, E.164), member number, email, name prefix or pinyin prefix."""
    text = (query or "").strip()
    if not text:
        return None
    cond = Q(member_number=text)
    phone = phone_search_key(text)
    if phone:
        cond |= Q(pk__in=ContactPoint.objects.filter(value_normalized=phone).values("customer_id"))
    if "@" in text:
        email = text.lower()
        cond |= Q(email=email) | Q(pk__in=ContactPoint.objects.filter(value_normalized=email).values("customer_id"))
    cond |= _prefix("name", text)
    if re.fullmatch(r"[A-Za-z][A-Za-z ]*", text):
        # Latin letters: a pinyin prefix (zhangw) or initials (zw) also find 张伟.
        key = text.replace(" ", "").lower()
        cond |= _prefix("name_pinyin", key) | _prefix("name_initials", key)
    return cond


@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    status: str = ""
    city: str = ""
    owner: int | None = None
    tag: int | None = None
    kind: str = ""
    archived: bool = False


SORTS = {
    "name": "name",
    "-created": "-created_at",
    "created": "created_at",
    "-revenue": "-revenue",
    "revenue": "revenue",
    "-orders": "-order_count",
}


def filter_customers(qs: QuerySet[Customer], f: CustomerFilters) -> QuerySet[Customer]:
    qs = qs.filter(archived_at__isnull=not f.archived)
    cond = search_q(f.q)
    if cond is not None:
        qs = qs.filter(cond)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.city:
        qs = qs.filter(city=f.city)
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.tag:
        qs = qs.filter(customertag__tag_id=f.tag)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    return qs


def timeline(customer: Customer, *, limit: int = 50, kinds: list[str] | None = None) -> list[Interaction]:
    qs = Interaction.objects.filter(customer_id=customer.pk).select_related("actor")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return list(qs.order_by("-occurred_at", "-id")[:limit])


def cities_for(user) -> list[str]:
    """Distinct cities for the filter menu (from stores and a bounded sample of customers)."""
    from clientwise.commerce.models import Store

    return sorted(set(Store.objects.exclude(city="").values_list("city", flat=True)))
