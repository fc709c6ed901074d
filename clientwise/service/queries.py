"""Reads shared by the service pages, the API and the customer 360 card. Visibility follows the customer:
a ticket, survey or work order is visible when its customer is (customers.queries.visible_customers) and the
user has service.view; anything else is the same 404 as a missing record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from clientwise.analytics.dashboards import action_for, risk_level
from clientwise.analytics.models import CustomerScore
from clientwise.commerce.queries import customer_orders
from clientwise.core import permissions as perms
from clientwise.core.errors import PermissionDenied
from clientwise.core.pagination import Page, keyset_page
from clientwise.core.queries import get_visible
from clientwise.customers.queries import visible_customers, with_phone
from clientwise.customers.scope import restrict_by_customer
from clientwise.service.models import (
    CannedReply,
    KnowledgeArticle,
    SLAEvent,
    Survey,
    SurveyAttribute,
    Ticket,
    WorkOrder,
)
from clientwise.service.perms import SERVICE_VIEW, SERVICE_WORK


def _scoped(qs: QuerySet, user) -> QuerySet:
    if not perms.has_perm(user, SERVICE_VIEW):
        return qs.none()
    return restrict_by_customer(qs, user)


def visible_tickets(user) -> QuerySet[Ticket]:
    return _scoped(Ticket.objects.all(), user)


def visible_surveys(user) -> QuerySet[Survey]:
    return _scoped(Survey.objects.all(), user)


def visible_work_orders(user) -> QuerySet[WorkOrder]:
    return _scoped(WorkOrder.objects.all(), user)


def get_ticket_for(user, pk) -> Ticket:
    return get_visible(visible_tickets(user).select_related(
        "customer", "customer__stats", "queue", "assignee", "category", "root_cause", "order", "product", "store",
        "sla_policy", "escalated_to", "routed_by"), pk)


def get_survey_for(user, pk) -> Survey:
    return get_visible(visible_surveys(user).select_related("customer", "ticket", "agent", "product", "store"), pk)


def get_work_order_for(user, pk) -> WorkOrder:
    return get_visible(visible_work_orders(user).select_related("customer", "ticket", "technician", "product", "region"),
                pk)


# --- Lists ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFilters:
    status: str = ""  # a status, or "active" (new/open/pending)
    type: str = ""
    priority: str = ""
    queue: int | None = None
    assignee: int | None = None  # a user id; 0 = unassigned
    customer: int | None = None
    sla: str = ""  # "warning" or "breached"
    q: str = ""  # ticket number


TICKET_SORTS = {"-opened": "-opened_at", "opened": "opened_at", "due": "resolution_due", "-id": "-id"}


def filter_tickets(qs: QuerySet[Ticket], f: TicketFilters) -> QuerySet[Ticket]:
    if f.status == "active":
        qs = qs.filter(status__in=Ticket.OPEN_STATUSES)
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.type:
        qs = qs.filter(type=f.type)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    if f.queue:
        qs = qs.filter(queue_id=f.queue)
    if f.assignee == 0:
        qs = qs.filter(assignee__isnull=True)
    elif f.assignee:
        qs = qs.filter(assignee_id=f.assignee)
    if f.customer:
        qs = qs.filter(customer_id=f.customer)
    if f.sla:
        qs = qs.filter(sla_state=f.sla)
    if f.q:
        qs = qs.filter(number=f.q.strip().upper())
    return qs


def ticket_page(user, f: TicketFilters, *, sort: str = "-opened", cursor: str | None = None, size: int = 25) -> Page:
    field = TICKET_SORTS.get(sort, "-opened_at")
    qs = filter_tickets(visible_tickets(user), f).select_related("customer", "assignee", "queue", "category")
    if field == "resolution_due":
        qs = qs.filter(resolution_due__isnull=False)
    return keyset_page(qs, sort=field, cursor=cursor, size=size)


def survey_page(user, *, answered: bool | None = None, customer: int | None = None, cursor: str | None = None,
                size: int = 25) -> Page:
    qs = visible_surveys(user).select_related("customer", "agent", "ticket")
    if answered is True:
        qs = qs.filter(answered_at__isnull=False)
    elif answered is False:
        qs = qs.filter(answered_at__isnull=True)
    if customer:
        qs = qs.filter(customer_id=customer)
    return keyset_page(qs, sort="-sent_at", cursor=cursor, size=size)


def work_order_page(user, *, status: str = "", technician: int | None = None, customer: int | None = None,
                    cursor: str | None = None, size: int = 25) -> Page:
    qs = visible_work_orders(user).select_related("customer", "technician", "region")
    if status == "active":
        qs = qs.filter(status__in=WorkOrder.OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if technician:
        qs = qs.filter(technician_id=technician)
    if customer:
        qs = qs.filter(customer_id=customer)
    # Visits still to do come next-due first (overdue ones, whose window has passed, at the top); finished or
    # cancelled ones, and the list of every status, most recent first.
    sort = "window_start" if status in ("active", *WorkOrder.OPEN_STATUSES) else "-window_start"
    return keyset_page(qs, sort=sort, cursor=cursor, size=size)


# --- Agent workspace --------------------------------------------------------------------------------------------


LOOKUP_LIMIT = 10  # a pick list an agent can read while the caller waits
# What the pick list, the call screen's head and the API's caller list show of a customer.
CALLER_FIELDS = ("id", "name", "mobile", "city", "archived_at", "status", "kind", "member_number")


def phone_lookup(user, phone: str, *, limit: int = LOOKUP_LIMIT + 1) -> list:
    """Customers the user may see with this phone number, live ones first, then by id: the whole number in any
    format people type (mobile or landline, matched on the normalized E.164 form), or only its last
    PHONE_TAIL_DIGITS digits (what a caller reads out, or what the phone system shows). One query: the contact
    points' index (contact_value or contact_phone_tail) as a subquery of the visible customers."""
    qs = with_phone(visible_customers(user), phone)
    if qs is None:
        return []
    live_first = ExpressionWrapper(Q(archived_at__isnull=False), output_field=BooleanField())
    return list(qs.only(*CALLER_FIELDS).order_by(live_first, "pk")[:limit])


@dataclass(frozen=True)
class ScoreFacts:
    """A customer's value tier, churn probability and next best action in the current scoring batch."""

    value_tier: str = ""
    churn_probability: float | None = None
    next_action: str = ""

    @property
    def scored(self) -> bool:
        return bool(self.value_tier or self.next_action or self.churn_probability is not None)


def current_scores(customer_ids) -> dict[int, ScoreFacts]:
    """The current batch's tier, churn probability and next action of these customers, in one query (the batch
    joined on its is_current flag, the scores on their (batch, customer) key); customers without a score are
    absent."""
    rows = (CustomerScore.objects.filter(batch__is_current=True, customer_id__in=list(customer_ids))
            .values_list("customer_id", "value_tier", "churn_probability", "next_action"))
    return {cid: ScoreFacts(tier or "", churn, action or "") for cid, tier, churn, action in rows}


def open_ticket_counts(customer_ids) -> dict[int, int]:
    """How many open tickets each of these customers has (one grouped query over the (customer, status) index)."""
    rows = (Ticket.objects.filter(customer_id__in=list(customer_ids), status__in=Ticket.OPEN_STATUSES)
            .order_by().values_list("customer_id").annotate(n=Count("id")))
    return dict(rows)


@dataclass(frozen=True)
class CallScreen:
    """What an agent needs while a customer is on the line (service.views.call_screen, service/call.html)."""

    customer: Any
    tickets: list[Ticket]
    open_tickets: int
    work_orders: list[WorkOrder]
    orders: list | None  # None without orders.view
    value_tier: str
    churn_probability: float | None
    risk: str  # high, medium, low or ""
    action: Any  # analytics.dashboards.Action, None before the first scoring
    can_work: bool


def call_screen(user, customer_id, *, customer=None) -> CallScreen:
    """The call screen of one customer: the customer (404 when the user may not see it, as for a missing one),
    up to 5 open tickets (and how many are open), open work orders, the 5 latest orders (with orders.view), the
    value tier, churn risk and next best action of the current scoring. `customer`: the row phone_lookup already
    read for this user (its CALLER_FIELDS are all the screen shows), so it is not read again. Indexed reads only:
    the customer, tickets, work orders, orders and the score, one query each (a sixth counts the open tickets
    only when there are more than 5)."""
    if not perms.has_perm(user, SERVICE_VIEW):
        raise PermissionDenied()
    if customer is None or customer.pk != _int_or_none(customer_id):
        customer = get_visible(visible_customers(user).only(*CALLER_FIELDS), customer_id)
    open_qs = Ticket.objects.filter(customer_id=customer.pk, status__in=Ticket.OPEN_STATUSES)
    tickets = list(open_qs.select_related("assignee")
                   .only("id", "number", "subject", "status", "priority", "sla_state", "opened_at",
                         "assignee__id", "assignee__username", "assignee__first_name", "assignee__last_name",
                         "assignee__display_name")
                   .order_by("-opened_at", "-id")[:5])
    work_orders = list(WorkOrder.objects.filter(customer_id=customer.pk, status__in=WorkOrder.OPEN_STATUSES)
                       .only("id", "number", "kind", "status", "window_start", "window_end").order_by("window_start")[:3])
    orders = customer_orders(customer.pk, limit=5) if perms.has_perm(user, perms.VIEW_ORDERS) else None
    facts = current_scores([customer.pk]).get(customer.pk, ScoreFacts())
    return CallScreen(
        customer=customer, tickets=tickets, open_tickets=len(tickets) if len(tickets) < 5 else open_qs.count(),
        work_orders=work_orders, orders=orders, value_tier=facts.value_tier,
        churn_probability=facts.churn_probability, risk=risk_level(facts.churn_probability),
        action=action_for(facts.next_action) if facts.scored else None, can_work=perms.has_perm(user, SERVICE_WORK))


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def my_tickets(user, *, limit: int = 15) -> list[Ticket]:
    return list(visible_tickets(user).filter(assignee_id=user.pk, status__in=Ticket.OPEN_STATUSES)
                .select_related("customer", "category").order_by("resolution_due", "id")[:limit])


def unassigned_tickets(user, *, limit: int = 15) -> list[Ticket]:
    return list(visible_tickets(user).filter(assignee__isnull=True, status__in=Ticket.OPEN_STATUSES)
                .select_related("customer", "queue").order_by("opened_at", "id")[:limit])


def my_alerts(user, *, days: int = 7, limit: int = 20) -> list[SLAEvent]:
    """SLA warnings and breaches addressed to the user in the last days (the notifications of the SLA check)."""
    since = timezone.now() - dt.timedelta(days=days)
    return list(SLAEvent.objects.filter(notified_id=user.pk, at__gte=since, ticket__in=visible_tickets(user))
                .select_related("ticket").order_by("-at", "-id")[:limit])


def search_articles(q: str, *, category_id: int | None = None, limit: int = 10) -> list[KnowledgeArticle]:
    """Published articles whose title, keywords or text contain every word of `q` (a small table)."""
    qs = KnowledgeArticle.objects.filter(published=True)
    words = [w for w in (q or "").split() if w][:6]
    for word in words:
        qs = qs.filter(Q(title__icontains=word) | Q(keywords__icontains=word) | Q(body__icontains=word))
    if category_id and not words:
        qs = qs.filter(category_id=category_id)
    return list(qs.select_related("category").order_by("title")[:limit])


def canned_replies(category_id: int | None = None) -> list[CannedReply]:
    qs = CannedReply.objects.filter(active=True)
    if category_id:
        qs = qs.filter(Q(category_id=category_id) | Q(category__isnull=True))
    return list(qs.order_by("title"))


def active_attributes() -> list[SurveyAttribute]:
    return list(SurveyAttribute.objects.filter(active=True).order_by("position", "code"))


# --- The customer 360 card ----------------------------------------------------------------------------------------


def customer_panel(user, customer) -> dict | None:
    """Open tickets, open work orders and the latest answered survey of one customer (the caller has checked
    the customer is visible). Three small indexed queries: (customer, status) on tickets and work orders,
    (customer, sent_at) on surveys."""
    if not perms.has_perm(user, SERVICE_VIEW):
        return None
    tickets = list(Ticket.objects.filter(customer_id=customer.pk, status__in=Ticket.OPEN_STATUSES)
                   .only("id", "number", "subject", "status", "priority", "type", "resolution_due", "sla_state",
                         "opened_at").order_by("-opened_at", "-id")[:5])
    work_orders = list(WorkOrder.objects.filter(customer_id=customer.pk, status__in=WorkOrder.OPEN_STATUSES)
                       .only("id", "number", "kind", "status", "window_start", "window_end").order_by("window_start")[:3])
    survey = (Survey.objects.filter(customer_id=customer.pk, answered_at__isnull=False)
              .only("id", "csat", "nps", "weighted_index", "simple_index", "answered_at")
              .order_by("-sent_at", "-id").first())
    return {"tickets": tickets, "work_orders": work_orders, "survey": survey,
            "can_work": perms.has_perm(user, SERVICE_WORK), "now": timezone.now()}
