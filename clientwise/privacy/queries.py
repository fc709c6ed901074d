"""Reads of the request log that pages, the API and the customer page share. Every request follows its customer:
a user sees the requests of the customers they may see (customers.queries.visible_customers), and none without
the privacy.manage right."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import CharField, Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode, NotFound
from clientwise.core.models import AuditLog
from clientwise.core.pagination import Page, keyset_page
from clientwise.customers.queries import visible_customers
from clientwise.privacy import rules
from clientwise.privacy.models import SubjectRequest
from clientwise.privacy.perms import MANAGE_PRIVACY

SORTS = ("due_on", "-received_at")
ACTIVE = "active"  # the status filter for "open or in progress"


EXPORT_ACTION = "privacy.export"
OBJECT_TYPE = "privacy.subjectrequest"


def _exports():
    return AuditLog.objects.filter(action=EXPORT_ACTION, object_type=OBJECT_TYPE,
                                   object_id=Cast(OuterRef("pk"), CharField()))


def with_exports(qs: QuerySet[SubjectRequest]) -> QuerySet[SubjectRequest]:
    """Each request with `exported_at` (the last export, or None) and `export_count`, read from its privacy.export
    audit rows (two correlated subqueries on the audit log's object index)."""
    last = _exports().order_by("-at").values("at")[:1]
    count = _exports().order_by().values("object_id").annotate(n=Count("id")).values("n")[:1]
    return qs.annotate(exported_at=Subquery(last), export_count=Coalesce(Subquery(count), 0))


def has_export(request_id: int) -> bool:
    return AuditLog.objects.filter(action=EXPORT_ACTION, object_type=OBJECT_TYPE, object_id=str(request_id)).exists()


def visible_requests(user) -> QuerySet[SubjectRequest]:
    if not perms.has_perm(user, MANAGE_PRIVACY):
        return SubjectRequest.objects.none()
    return SubjectRequest.objects.filter(customer__in=visible_customers(user))


def get_request_for(user, pk) -> SubjectRequest:
    """The request if `user` may see it; NotFound otherwise (the same answer as for a missing one)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    row = with_exports(visible_requests(user)).select_related("customer", "handled_by", "created_by").filter(
        pk=pk).first()
    if row is None:
        raise NotFound()
    return row


@dataclass
class RequestFilters:
    status: str = ACTIVE  # "", "active" or a status
    kind: str = ""
    overdue: bool = False
    customer_id: int | None = None

    def check(self) -> None:
        if self.status not in ("", ACTIVE, *SubjectRequest.Status.values):
            raise DomainError(ErrorCode.INVALID, "Unknown status.", "status")
        if self.kind not in ("", *SubjectRequest.Kind.values):
            raise DomainError(ErrorCode.INVALID, "Unknown kind.", "kind")


def filter_requests(qs: QuerySet[SubjectRequest], f: RequestFilters) -> QuerySet[SubjectRequest]:
    f.check()
    if f.status == ACTIVE:
        qs = qs.filter(status__in=SubjectRequest.OPEN_STATUSES)
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.overdue:
        qs = qs.filter(status__in=SubjectRequest.OPEN_STATUSES, due_on__lt=timezone.localdate())
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    return qs


def request_page(user, f: RequestFilters, *, sort: str = "due_on", cursor: str | None = None,
                 size: int = 25) -> Page:
    if sort not in SORTS:
        raise DomainError(ErrorCode.INVALID, "Unknown sort.", "sort")
    qs = with_exports(filter_requests(visible_requests(user), f)).select_related("customer", "handled_by")
    return keyset_page(qs, sort=sort, cursor=cursor, size=size)


def summary(user) -> dict[str, int]:
    """Open (or in progress) requests and how many of them are overdue, for the list's heading."""
    qs = visible_requests(user).filter(status__in=SubjectRequest.OPEN_STATUSES)
    today = timezone.localdate()
    return {"open": qs.count(), "overdue": qs.filter(due_on__lt=today).count()}


def is_overdue(req: SubjectRequest, today=None) -> bool:
    return rules.is_overdue(req.status, req.due_on, today or timezone.localdate())


def customer_panel(user, customer) -> dict | None:
    """The card on the customer page: open requests (everyone who sees the customer learns that, e.g., an erasure
    or a consent withdrawal is pending) and when the person's data was erased; privacy managers also get the links
    and the button to log a request. One query."""
    rows = list(SubjectRequest.objects.filter(customer_id=customer.pk).filter(
        Q(status__in=SubjectRequest.OPEN_STATUSES) | Q(kind=SubjectRequest.Kind.ERASURE,
                                                      status=SubjectRequest.Status.DONE))
        .order_by("due_on", "id")[:20])
    can_manage = perms.has_perm(user, MANAGE_PRIVACY)
    today = timezone.localdate()
    open_rows = [(r, rules.is_overdue(r.status, r.due_on, today)) for r in rows if r.is_open]
    erased = max((r for r in rows if not r.is_open), key=lambda r: r.closed_at or r.created_at, default=None)
    if not open_rows and erased is None and not can_manage:
        return None
    return {"open": open_rows, "erased": erased, "can_manage": can_manage, "customer_id": customer.pk}
