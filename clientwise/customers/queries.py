"""Reads shared by pages, the API, exports and reports. Visibility is decided here and nowhere else."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace

from django.core.exceptions import ValidationError
from django.db.models import Aggregate, JSONField, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext

from clientwise.accounts.models import Team, User
from clientwise.core import extensions, masking
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.models import AuditLog
from clientwise.core.normalize import normalize_email, parse_date, phone_search_key, pinyin_keys
from clientwise.core.pagination import Page, keyset_page
from clientwise.core.queries import get_visible
from clientwise.customers import rules
from clientwise.customers.models import (
    PHONE_TAIL_DIGITS,
    ContactPoint,
    Customer,
    CustomerStats,
    CustomerTag,
    Interaction,
)
from clientwise.customers.scope import CustomerScope

PREFIX_END = "\U0010ffff"


def visibility_q(user) -> Q | None:
    """The filter on Customer a user may see: None means everything, Q(pk__in=[]) nothing (CustomerScope.q)."""
    return CustomerScope.for_user(user).q()


def visible_customers(user) -> QuerySet[Customer]:
    """Every customer `user` may see, archived ones included (callers filter archived_at as they need)."""
    return CustomerScope.for_user(user).customers()


def get_customer_for(user, pk) -> Customer:
    """The customer if `user` may see it; NotFound otherwise (the same answer as for a missing one)."""
    return get_visible(visible_customers(user).select_related("owner", "team", "organization", "stats"), pk)


class _JSONNames(Aggregate):
    """The values of a column as one JSON array (SQLite json_group_array, PostgreSQL jsonb_agg)."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra)


def with_tag_names(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """`qs` with each customer's tag names as `tag_names` (a list, None without tags), read in the same query (a
    subquery over the (customer, tag) unique index) instead of a second query per page (prefetch_related)."""
    names = (CustomerTag.objects.filter(customer_id=OuterRef("pk")).order_by().values("customer_id")
             .annotate(names=_JSONNames("tag__name")).values("names"))
    return qs.annotate(tag_names=Subquery(names))


def tag_names(customer: Customer) -> list[str]:
    """A customer's tag names, sorted: from `with_tag_names` when the row was read with it, else from its tags."""
    if hasattr(customer, "tag_names"):
        return sorted(customer.tag_names or [])
    return sorted(t.name for t in customer.tags.all())


def _prefix(field: str, text: str) -> Q:
    """Prefix match as a range, so a plain B-tree index serves it on SQLite and PostgreSQL alike."""
    return Q(**{f"{field}__gte": text, f"{field}__lt": text + PREFIX_END})


def search_branches(query: str) -> list[Q]:
    """The ways a search text can match, each served by its own index (customers.rules.search_text says what the
    text is):

    - a phone number: its contact points (E.164) or a member number typed the same — one condition, one query
      (the two indexed lookups united in a subquery);
    - its last PHONE_TAIL_DIGITS digits: the contact points' phone_tail index, or that member number;
    - an email address: the customer's email or an email contact point;
    - anything else: member number, name prefix, and for Latin letters a pinyin prefix (zhangw) or the initials
      (zw) of 张伟 — one condition per index, paged branch by branch (customer_page).

    A phone number, its tail or an email cannot be a name, so the name and pinyin indexes are not asked for them."""
    what = rules.search_text(query)
    if what is None:
        return []
    if what.kind == "phone":
        return [Q(pk__in=_union(ContactPoint.objects.filter(value_normalized=what.key).values("customer_id"),
                                Customer.objects.filter(member_number=what.text).values("id")))]
    if what.kind == "phone_tail":
        return [Q(pk__in=_union(ContactPoint.objects.filter(phone_tail=what.key).values("customer_id"),
                                Customer.objects.filter(member_number=what.text).values("id")))]
    if what.kind == "email":
        return [Q(pk__in=_union(ContactPoint.objects.filter(value_normalized=what.key).values("customer_id"),
                                Customer.objects.filter(email=what.key).values("id")))]
    text = what.text
    branches = [Q(member_number=text), _prefix("name", text)]
    if re.fullmatch(r"[A-Za-z][A-Za-z ]*", text):
        key = text.replace(" ", "").lower()
        branches += [_prefix("name_pinyin", key), _prefix("name_initials", key)]
    return branches


def _union(*ids: QuerySet) -> QuerySet:
    """Customer ids from several indexed lookups as one subquery (`pk__in=`): UNION of the lookups, so each keeps
    its index (an OR across tables would make the database scan the customers)."""
    first, *rest = (q.order_by() for q in ids)
    return first.union(*rest)


def search_q(query: str) -> Q | None:
    """One filter matching any search branch (exports and other full scans; pages use the branches)."""
    branches = search_branches(query)
    if not branches:
        return None
    cond = branches[0]
    for branch in branches[1:]:
        cond |= branch
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


# Names sort by their pinyin key, as people expect in a Chinese list (张 after 李); Latin names sort as themselves.
SORTS = {
    "name": "name_pinyin",
    "-name": "-name_pinyin",
    "-created": "-created_at",
    "created": "created_at",
    # Purchase totals live in CustomerStats; these sorts walk its (revenue, customer) / (order_count, customer)
    # indexes.
    "-revenue": "-stats__revenue",
    "revenue": "stats__revenue",
    "-orders": "-stats__order_count",
    "orders": "stats__order_count",
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
    """Distinct cities for the filter menu: the cities the apps register (commerce: its stores' cities)."""
    return sorted({city for source in extensions.city_sources() for city in source()})


def _check_cursor(cursor: str | None, sort_field: str) -> None:
    """A cursor made for another sort (or tampered with) must be a 400, never a database error."""
    if not cursor:
        return

    bad = DomainError(ErrorCode.INVALID_CURSOR, gettext("The page cursor is not valid."), "cursor")
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) or data.get("d") not in {"n", "p"}:
        raise bad
    name = sort_field.lstrip("-")
    if name == "id":
        return
    value = data.get("v")
    if name.startswith("stats__"):
        field = CustomerStats._meta.get_field(name.removeprefix("stats__"))
    else:
        field = Customer._meta.get_field(name) if name in _CUSTOMER_FIELDS else Interaction._meta.get_field(name)
    if value is None or isinstance(value, bool | dict | list):
        raise bad
    if field.get_internal_type() == "CharField" and not isinstance(value, str):
        raise bad
    try:
        python = field.to_python(value)
    except (ValidationError, TypeError, ValueError):
        raise bad from None
    if python is None:
        raise bad


_CUSTOMER_FIELDS = {"name", "name_pinyin", "created_at"}


def customer_page(user, f: CustomerFilters, *, sort: str = "name", cursor: str | None = None, size: int = 25,
                  tags: bool = False) -> Page:
    """One page of the customers `user` may see, filtered and sorted; no COUNT(*) over the table. `tags`: each row
    carries its tag names (with_tag_names), read in the same query."""
    sort_field = SORTS.get(sort, "name")
    _check_cursor(cursor, sort_field)
    if f.q and visibility_q(user) is None:
        # Seeing every customer: page the search branch by branch (see keyset_page's any_of), so a common
        # prefix never makes the database sort all its matches. A scoped user's rows are few enough (their
        # own and shared customers) that one query over the scope is faster than one per branch.
        qs = filter_customers(visible_customers(user), replace(f, q="")).select_related("owner", "stats")
        qs = with_tag_names(qs) if tags else qs
        return keyset_page(qs, sort=sort_field, cursor=cursor, size=size, any_of=search_branches(f.q),
                           tie=_tie(sort_field))
    qs = filter_customers(visible_customers(user), f).select_related("owner", "stats")
    qs = with_tag_names(qs) if tags else qs
    return keyset_page(qs, sort=sort_field, cursor=cursor, size=size, tie=_tie(sort_field))


# The customer list counts its matches up to this many; past it the page says "more than 10,000" (a bounded
# COUNT over an index stays a few milliseconds at a million customers, an exact one does not: bench figures in
# docs/dev/testing.md).
COUNT_CAP = 10_000


@dataclass(frozen=True)
class ListCount:
    """How many customers a list shows: `n` exactly, or at least `n` when `more` (the count stopped at the cap)."""

    n: int
    more: bool


def customer_count(user, f: CustomerFilters, *, cap: int = COUNT_CAP) -> ListCount:
    """The number of customers `user` may see matching `f`, counted no further than `cap` rows: a bounded COUNT
    (LIMIT cap + 1 in a subquery), so a million-row table is never counted in full. A search by an
    all-seeing user counts each search branch (each served by its own index, as customer_page pages them) and
    unites their ids."""
    if f.q and visibility_q(user) is None:
        qs = filter_customers(visible_customers(user), replace(f, q=""))
        ids: set[int] = set()
        for branch in search_branches(f.q):
            ids.update(qs.filter(branch).order_by().values_list("pk", flat=True)[: cap + 1])
            if len(ids) > cap:
                break
        n = len(ids)
    else:
        n = filter_customers(visible_customers(user), f).order_by()[: cap + 1].count()
    return ListCount(min(n, cap), n > cap)


def _tie(sort_field: str) -> str:
    """Ties of a purchase-totals sort break on the totals row's key (= the customer's id): its index serves both."""
    return "stats__pk" if sort_field.lstrip("-").startswith("stats__") else "id"


def timeline_page(customer: Customer, *, kinds: list[str] | None = None, cursor: str | None = None,
                  size: int = 20) -> Page:
    """Timeline rows newest first, a page at a time (the 360 page's "load more" and the API)."""
    _check_cursor(cursor, "-occurred_at")
    qs = Interaction.objects.filter(customer_id=customer.pk).select_related("actor")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return keyset_page(qs, sort="-occurred_at", cursor=cursor, size=size)


def organization_contacts(customer: Customer, user, *, limit: int = 50) -> list[Customer]:
    """The people who belong to an organization, as far as `user` may see them."""
    if customer.kind != Customer.Kind.ORGANIZATION:
        return []
    return list(visible_customers(user).filter(organization_id=customer.pk, archived_at__isnull=True)
                .order_by("name", "id")[:limit])


def organizations_for(user, *, limit: int = 300) -> list[Customer]:
    """Organizations a user may pick as a contact's employer (bounded for the form's menu)."""
    return list(visible_customers(user).filter(kind=Customer.Kind.ORGANIZATION, archived_at__isnull=True)
                .order_by("name", "id").only("id", "name")[:limit])


# Audit actions about a customer that are not changes to it: kept in the audit log, left out of its change history.
NOT_CHANGES = ("pii.view",)


def customer_audit(customer: Customer, *, limit: int = 50):
    """The customer's change history: audit rows that changed it (views of personal data are in the audit log)."""
    return list(AuditLog.objects.filter(customer_id=customer.pk).exclude(action__in=NOT_CHANGES)
                .select_related("actor").order_by("-at", "-id")[:limit])


mask_record = masking.mask_record  # PII inside audit snapshots and timeline payloads (core.masking)


def owner_choices(user, *, limit: int = 300):
    """People a user may pick as owner (filter menu and form): everyone for wide scopes, the team subtree for
    managers, oneself for sales reps."""
    qs = User.objects.filter(is_active=True).exclude(role="").order_by("username")
    q = CustomerScope.for_user(user).users_q() if perms.scope_of(user) is not None else Q(pk=user.pk)
    return list((qs if q is None else qs.filter(q))[:limit])


def team_choices(user):
    qs = Team.objects.order_by("name")
    q = CustomerScope.for_user(user).teams_q() if perms.scope_of(user) is not None else Q(pk=user.team_id)
    return list(qs if q is None else qs.filter(q))


def recent_activity(user, *, limit: int = 8, window_days: int = 30) -> list:
    """The latest timeline rows of customers the user may see.

    Everyone-scope users read the newest rows by primary key (an index walk, no sort); narrower scopes go
    through the (customer, occurred_at) index for their customers inside a bounded window.
    """
    if not perms.has_perm(user, perms.VIEW_CUSTOMERS):
        return []
    now = timezone.now()
    qs = Interaction.objects.select_related("customer", "actor").filter(occurred_at__lte=now)
    if visibility_q(user) is None:
        # The newest rows by primary key (an index walk), then the most recent of those by time: imports
        # and back-dated entries get high ids with old dates, and should not crowd out today's activity.
        since = now - dt.timedelta(days=window_days)
        recent = [row for row in qs.order_by("-id")[: limit * 25] if row.occurred_at >= since]
        recent.sort(key=lambda row: (row.occurred_at, row.id), reverse=True)
        return recent[:limit]
    qs = qs.filter(customer_id__in=visible_customers(user).values("pk"),
                   occurred_at__gte=now - dt.timedelta(days=window_days))
    return list(qs.order_by("-occurred_at", "-id")[:limit])


@dataclass(frozen=True)
class LikelyDuplicate:
    """An existing customer that looks like the one being created, and why (mobile, email, name_birth)."""

    customer_id: int
    name: str
    reasons: list[str] = field(default_factory=list)


def likely_duplicates(*, name: str = "", mobile: str = "", email: str = "", birth_date=None, user=None,
                      exclude_id: int | None = None, limit: int = 5) -> list[LikelyDuplicate]:
    """Existing, not archived customers with the same normalized mobile, the same email, or the same pinyin
    name and birth date. Indexed lookups only, so a create form or an import row can ask for every record.
    With `user`, only customers the user may see are returned. Bad input is ignored, never an error."""
    reasons: dict[int, list[str]] = {}
    phone = phone_search_key(mobile or "")
    if phone:
        for cid in find_customers_by_contact(kind="mobile", value=phone):
            reasons.setdefault(cid, []).append("mobile")
    if email:
        try:
            em = normalize_email(email)
        except DomainError:
            em = ""
        if em:
            for cid in find_customers_by_contact(kind="email", value=em):
                reasons.setdefault(cid, []).append("email")
    if name and birth_date:
        try:
            born = birth_date if isinstance(birth_date, dt.date) else parse_date(birth_date)
        except DomainError:
            born = None
        key = pinyin_keys(name.strip())[0]
        if born and key:
            for cid in visible_customers_or_all(user).filter(name_pinyin=key, birth_date=born).values_list(
                    "pk", flat=True)[:limit]:
                reasons.setdefault(cid, []).append("name_birth")
    if exclude_id is not None:
        reasons.pop(exclude_id, None)
    if not reasons:
        return []
    qs = visible_customers_or_all(user).filter(pk__in=list(reasons), archived_at__isnull=True)
    found = {c.pk: c.name for c in qs.only("id", "name")}
    ranked = sorted(found, key=lambda cid: (-len(reasons[cid]), cid))[:limit]
    return [LikelyDuplicate(customer_id=cid, name=found[cid], reasons=reasons[cid]) for cid in ranked]


def visible_customers_or_all(user):
    return Customer.objects.all() if user is None else visible_customers(user)


def with_phone(qs: QuerySet[Customer], phone: str) -> QuerySet[Customer] | None:
    """`qs` narrowed to the customers with a mobile or landline number `phone`: the whole number in any format people
    type (matched on its E.164 form, the contact_value index), or exactly its last PHONE_TAIL_DIGITS digits (the
    contact_phone_tail index). One query when evaluated (the contact points as a subquery); None when `phone` is
    neither a number nor a tail."""
    digits = rules.PHONE_SEPARATORS.sub("", phone or "")
    if len(digits) == PHONE_TAIL_DIGITS and digits.isascii() and digits.isdigit():
        owners = ContactPoint.objects.filter(phone_tail=digits)  # set for mobile and landline numbers only
    else:
        key = phone_search_key(phone or "")
        if not key:
            return None
        owners = ContactPoint.objects.filter(value_normalized=key,
                                             kind__in=(ContactPoint.Kind.MOBILE, ContactPoint.Kind.LANDLINE))
    return qs.filter(pk__in=owners.values("customer_id"))


def find_customers_by_contact(*, kind: str, value: str, limit: int = 20) -> list[int]:
    """Customers with a contact point of `kind` whose normalized value is `value` (an indexed lookup)."""
    return list(ContactPoint.objects.filter(value_normalized=value, kind=kind)
                .values_list("customer_id", flat=True).distinct()[:limit])


def find_customers_by_phone_tail(tail: str, *, limit: int = 20) -> list[int]:
    """Customers with a mobile or landline number ending in `tail`, the last PHONE_TAIL_DIGITS digits (an indexed
    equality on ContactPoint.phone_tail, which the database derives from the normalized number); [] for anything
    that is not exactly that many digits."""
    if len(tail) != PHONE_TAIL_DIGITS or not tail.isascii() or not tail.isdigit():
        return []
    return list(ContactPoint.objects.filter(phone_tail=tail).order_by("customer_id")
                .values_list("customer_id", flat=True).distinct()[:limit])
