"""Service business rules: the only code that writes tickets, messages, attachments, SLA events, surveys,
work orders and the service configuration. Views, the API, the CLI and tasks call these.

Every function takes keyword-only arguments including the acting user (`actor`), checks permissions
(service.perms), validates collecting every error, runs in one transaction, audits, and writes timeline rows
(`ticket`, `survey`, `workorder`) on the customer.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, ProtectedError, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from clientwise.accounts.models import User
from clientwise.analytics.dashboards import current_batch
from clientwise.analytics.models import CustomerScore, LabelScore
from clientwise.commerce.models import Order, Product, Region, Store
from clientwise.commerce.queries import get_order_for
from clientwise.core import permissions as perms
from clientwise.core.audit import audit, snapshot
from clientwise.core.errors import DomainError, ErrorCode, PermissionDenied, ValidationFailed
from clientwise.core.labels import deferred, ref
from clientwise.core.queries import get_visible
from clientwise.customers.events import record_event
from clientwise.customers.queries import get_customer_for
from clientwise.service import notices, routing, sla
from clientwise.service.errors import ServiceErrorCode
from clientwise.service.models import (
    PRIORITY_RANK,
    AgentProfile,
    Category,
    Channel,
    Priority,
    Queue,
    RootCause,
    SLAEvent,
    SLAPolicy,
    Survey,
    SurveyAnswer,
    SurveyAttribute,
    Technician,
    Ticket,
    TicketAttachment,
    TicketMessage,
    TicketType,
    WorkOrder,
    WorkOrderPart,
)
from clientwise.service.perms import SERVICE_MANAGE, SERVICE_VIEW, SERVICE_WORK
from clientwise.service.queries import visible_tickets, visible_work_orders
from clientwise.service.rules import local_aware

# Attachments: size limit and the file types accepted (by extension; the stored content type comes from the
# extension, never from what the browser claims).
ATTACHMENT_MAX_BYTES = int(getattr(settings, "SERVICE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
ATTACHMENT_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".pdf", ".txt", ".csv", ".docx", ".xlsx"}
SURVEY_LINK_DAYS = int(getattr(settings, "SERVICE_SURVEY_LINK_DAYS", 60))
SURVEY_SALT = "clientwise.service.survey"

TIMELINE_TICKET = "ticket"
TIMELINE_SURVEY = "survey"
TIMELINE_WORKORDER = "workorder"


def _invalid(field: str, message: str, code: str = ErrorCode.INVALID) -> DomainError:
    return DomainError(code, message, field)


def _temp_number() -> str:
    """A unique placeholder until the row has its id (the number is made from the id in the same transaction)."""
    return "~" + uuid.uuid4().hex[:18]


def _user_ref(user) -> Any:
    return user if getattr(user, "pk", None) else None


# --- Customer facts routing needs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerFacts:
    value_tier: str
    churn_probability: float | None
    next_action: str
    label_scores: dict[str, float] = field(default_factory=dict)  # own-label model name -> probability


def customer_facts(customer_id: int) -> CustomerFacts:
    """Value tier, churn probability and next best action from the current scoring batch (empty before the
    first scoring), and the customer's scores under models trained on own labels. Indexed lookups on (batch,
    customer) and on the customer's label scores."""
    labelled = dict(LabelScore.objects.filter(customer_id=customer_id)
                    .values_list("label_model__name", "probability"))
    batch = current_batch()
    row = None if batch is None else (CustomerScore.objects.filter(batch=batch, customer_id=customer_id)
                                      .values("value_tier", "churn_probability", "next_action").first())
    if row is None:
        return CustomerFacts("", None, "", labelled)
    return CustomerFacts(row["value_tier"] or "", row["churn_probability"], row["next_action"] or "", labelled)


def region_for(customer, store_id: int | None = None) -> int | None:
    """The commerce region a customer belongs to: the ticket's store, else the store of the latest order,
    else a store in the customer's city."""
    if store_id:
        region = Store.objects.filter(pk=store_id).values_list("branch__region_id", flat=True).first()
        if region:
            return region
    region = (Order.objects.filter(customer_id=customer.pk, store__isnull=False).order_by("-ordered_at")
              .values_list("store__branch__region_id", flat=True).first())
    if region:
        return region
    if customer.city:
        return Store.objects.filter(city=customer.city).values_list("branch__region_id", flat=True).first()
    return None


def policy_for(priority: str, tier: str) -> SLAPolicy | None:
    """The active SLA policy for a priority and customer tier: the tier's own policy, else the "any tier" one."""
    rows = list(SLAPolicy.objects.filter(active=True, priority=priority, customer_tier__in=[tier or "", ""])
                .select_related("calendar"))
    rows.sort(key=lambda p: p.customer_tier == "")
    return rows[0] if rows else None


def _apply_sla(ticket: Ticket) -> None:
    policy = policy_for(ticket.priority, ticket.value_tier)
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due = ticket.resolution_due = None
        ticket.response_warn_at = ticket.resolution_warn_at = None
        return
    t = sla.targets(ticket.opened_at, first_response_minutes=policy.first_response_minutes,
                    resolution_minutes=policy.resolution_minutes, warn_percent=policy.warn_percent,
                    hours=sla.hours_for(policy.calendar))
    ticket.first_response_due, ticket.resolution_due = t.first_response_due, t.resolution_due
    ticket.response_warn_at, ticket.resolution_warn_at = t.response_warn_at, t.resolution_warn_at


def pause_sla(ticket: Ticket, now: dt.datetime) -> list[str]:
    """Stop the resolution clock of a ticket that now waits for the customer; the fields changed."""
    if ticket.sla_paused_at is not None or ticket.resolution_due is None:
        return []
    ticket.sla_paused_at = now
    return ["sla_paused_at"]


def resume_sla(ticket: Ticket, now: dt.datetime) -> list[str]:
    """Restart a paused resolution clock: the resolution target and its warning move forward by the business time
    the ticket waited (only those still ahead when the pause began: a breach stays a breach); the fields changed."""
    started = ticket.sla_paused_at
    if started is None:
        return []
    hours = sla.hours_for(ticket.sla_policy.calendar) if ticket.sla_policy_id else None
    paused = sla.business_minutes_between(started, now, hours)
    if ticket.resolution_due is not None and ticket.resolution_due > started:
        ticket.resolution_due = sla.add_business_minutes(ticket.resolution_due, paused, hours)
    if ticket.resolution_warn_at is not None and ticket.resolution_warn_at > started:
        ticket.resolution_warn_at = sla.add_business_minutes(ticket.resolution_warn_at, paused, hours)
    ticket.sla_paused_minutes = (ticket.sla_paused_minutes or 0) + paused
    ticket.sla_paused_at = None
    return ["sla_paused_at", "sla_paused_minutes", "resolution_due", "resolution_warn_at"]


# --- Tickets ----------------------------------------------------------------------------------------------------


def _get_ticket(actor, ticket_id, *, lock: bool = True) -> Ticket:
    return get_visible(visible_tickets(actor), ticket_id, lock=lock)


def _ticket_event(ticket: Ticket, actor, subject: str, body: str = "", **payload) -> None:
    record_event(customer_id=ticket.customer_id, kind=TIMELINE_TICKET, actor=actor, subject=subject, body=body,
                 ref_type="service.ticket", ref_id=ticket.pk,
                 payload={"number": ticket.number, "status": ticket.status, **payload})


def create_ticket(*, actor, customer_id, type: str, channel: str, subject: str, description: str = "",
                  category_id: int | None = None, priority: str = Priority.NORMAL, order_id: int | None = None,
                  product_id: int | None = None, store_id: int | None = None, opened_at: dt.datetime | None = None,
                  source: str = "", external_id: str | None = None) -> Ticket:
    """Open a ticket for a customer the actor may see, route it and start its SLA clock.

    Routing sees the ticket's type, category, product, the customer's region and value tier / churn risk
    (current scoring); a rule may raise the priority. The SLA policy is chosen after that, by priority and tier.
    """
    perms.require(actor, SERVICE_WORK)
    errors = []
    subject = (subject or "").strip()
    if type not in TicketType.values:
        errors.append(_invalid("type", _("Choose a ticket type.")))
    if channel not in Channel.values:
        errors.append(_invalid("channel", _("Choose a channel.")))
    if priority not in Priority.values:
        errors.append(_invalid("priority", _("Choose a priority.")))
    if not subject:
        errors.append(_invalid("subject", _("Write a subject."), ErrorCode.REQUIRED))
    elif len(subject) > 200:
        errors.append(_invalid("subject", _("The subject is longer than 200 characters.")))
    if opened_at is not None and opened_at > timezone.now() + dt.timedelta(minutes=5):
        errors.append(_invalid("opened_at", _("A ticket cannot be opened in the future."), ErrorCode.INVALID_DATE))
    category = None
    if category_id:
        category = Category.objects.filter(pk=category_id).first()
        if category is None:
            errors.append(_invalid("category_id", _("Unknown category."), ErrorCode.UNKNOWN_REFERENCE))
    if product_id and not Product.objects.filter(pk=product_id).exists():
        errors.append(_invalid("product_id", _("Unknown product."), ErrorCode.UNKNOWN_REFERENCE))
    if store_id and not Store.objects.filter(pk=store_id).exists():
        errors.append(_invalid("store_id", _("Unknown store."), ErrorCode.UNKNOWN_REFERENCE))
    customer = get_customer_for(actor, customer_id)
    if order_id:
        order = Order.objects.filter(pk=order_id).values("customer_id", "store_id").first()
        if order is None or order["customer_id"] != customer.pk:
            errors.append(_invalid("order_id", _("That order is not this customer's."), ErrorCode.UNKNOWN_REFERENCE))
        elif not store_id:
            store_id = order["store_id"]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        facts = customer_facts(customer.pk)
        decision = routing.route(
            routing.RoutingInput(ticket_type=type, category_id=category.pk if category else None,
                                 product_id=product_id or None, region_id=region_for(customer, store_id),
                                 value_tier=facts.value_tier, churn_probability=facts.churn_probability,
                                 label_scores=facts.label_scores),
            category_skill=category.skill if category else "")
        if decision.priority and PRIORITY_RANK[decision.priority] < PRIORITY_RANK[priority]:
            priority = decision.priority
        now = timezone.now()
        ticket = Ticket(
            number=_temp_number(), customer_id=customer.pk, type=type, channel=channel,
            category=category, priority=priority, subject=subject, description=(description or "").strip(),
            queue=decision.queue, assignee_id=decision.assignee_id, routed_by=decision.rule,
            routing_note=decision.note[:300], order_id=order_id or None, product_id=product_id or None,
            store_id=store_id or None, value_tier=facts.value_tier, churn_probability=facts.churn_probability,
            created_by=_user_ref(actor), opened_at=opened_at or now,
            status=Ticket.Status.OPEN if decision.assignee_id else Ticket.Status.NEW,
            source=source or "", external_id=external_id or None)
        _apply_sla(ticket)
        try:
            with transaction.atomic():
                ticket.save()
        except IntegrityError:
            raise DomainError(ErrorCode.DUPLICATE, _("A ticket with this source and external id exists."),
                              "external_id") from None
        ticket.number = f"T{ticket.pk:07d}"
        Ticket.objects.filter(pk=ticket.pk).update(number=ticket.number)
        audit(actor=actor, action="ticket.create", obj=ticket, customer_id=customer.pk, after=snapshot(ticket))
        _ticket_event(ticket, actor, deferred(gettext_noop("Ticket %(number)s opened: %(subject)s"), number=ticket.number,
                                              subject=subject), body=ticket.description, type=type, channel=channel,
            queue=decision.queue.name if decision.queue else "", routing=decision.note)
        notices.assigned(ticket, actor=actor, variant="routed")
    return ticket


def assign_ticket(*, actor, ticket_id, assignee_id: int | None = None, queue_id: int | None = None) -> Ticket:
    """Move a ticket to a queue and/or agent. With a queue and no agent, the queue's strategy picks one."""
    perms.require(actor, SERVICE_WORK)
    with transaction.atomic():
        ticket = _get_ticket(actor, ticket_id)
        if not ticket.is_open:
            raise DomainError(ServiceErrorCode.INVALID_TRANSITION, _("Only open tickets can be reassigned."),
                              "status")
        before = snapshot(ticket, ["queue_id", "assignee_id", "status"])
        if queue_id:
            queue = Queue.objects.filter(pk=queue_id, active=True).first()
            if queue is None:
                raise ValidationFailed([_invalid("queue_id", _("Unknown queue."), ErrorCode.UNKNOWN_REFERENCE)])
            ticket.queue = queue
            if not assignee_id:
                picked, notes = routing.pick_agent(queue, skill=ticket.category.skill if ticket.category else "")
                ticket.assignee_id = picked
        if assignee_id:
            agent = User.objects.filter(pk=assignee_id, is_active=True).first()
            if agent is None or not perms.has_perm(agent, SERVICE_WORK):
                raise ValidationFailed([_invalid("assignee_id", _("That person cannot work on tickets."),
                                                 ErrorCode.UNKNOWN_REFERENCE)])
            ticket.assignee_id = agent.pk
        if ticket.assignee_id and ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.OPEN
        ticket.save(update_fields=["queue", "assignee", "status", "updated_at"])
        after = snapshot(ticket, ["queue_id", "assignee_id", "status"])
        audit(actor=actor, action="ticket.assign", obj=ticket, customer_id=ticket.customer_id, before=before,
              after=after)
        subject = (deferred(gettext_noop("Ticket %(number)s assigned to %(name)s"), number=ticket.number,
                            name=str(ticket.assignee)) if ticket.assignee_id
                   else deferred(gettext_noop("Ticket %(number)s unassigned"), number=ticket.number))
        _ticket_event(ticket, actor, subject, assignee_id=ticket.assignee_id)
        if after["assignee_id"] != before["assignee_id"]:
            notices.assigned(ticket, actor=actor)
    return ticket


def add_message(*, actor, ticket_id, kind: str, body: str) -> TicketMessage:
    """A reply to the customer, a message the customer sent (typed in by the agent), or an internal note.

    The first reply stops the first-response clock. Replying to a pending ticket keeps it pending; a message
    from the customer puts a pending or new ticket back to open."""
    perms.require(actor, SERVICE_WORK)
    body = (body or "").strip()
    errors = []
    if kind not in TicketMessage.Kind.values:
        errors.append(_invalid("kind", _("Choose reply, customer message or internal note.")))
    if not body:
        errors.append(_invalid("body", _("Write the message."), ErrorCode.REQUIRED))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        ticket = _get_ticket(actor, ticket_id)
        if ticket.status == Ticket.Status.CLOSED:
            raise DomainError(ServiceErrorCode.INVALID_TRANSITION, _("A closed ticket takes no more messages."),
                              "status")
        msg = TicketMessage.objects.create(ticket=ticket, kind=kind, author=_user_ref(actor), body=body)
        fields = ["updated_at"]
        now = timezone.now()
        if kind == TicketMessage.Kind.REPLY:
            if ticket.first_response_at is None:
                ticket.first_response_at = now
                fields.append("first_response_at")
            if ticket.assignee_id is None and perms.has_perm(actor, SERVICE_WORK):
                ticket.assignee_id = actor.pk
                fields.append("assignee")
            if ticket.status == Ticket.Status.NEW:
                ticket.status = Ticket.Status.OPEN
                fields.append("status")
        elif kind == TicketMessage.Kind.CUSTOMER and ticket.status in (Ticket.Status.PENDING, Ticket.Status.NEW):
            ticket.status = Ticket.Status.OPEN
            fields.append("status")
            fields += resume_sla(ticket, now)
        ticket.save(update_fields=fields)
        audit(actor=actor, action=f"ticket.{kind}", obj=ticket, customer_id=ticket.customer_id,
              detail={"message_id": msg.pk, "length": len(body)})
        if kind == TicketMessage.Kind.NOTE:
            notices.mentions(ticket, msg, actor=actor)
        else:  # internal notes stay on the ticket
            subject = deferred(gettext_noop("Reply on %(number)s") if kind == TicketMessage.Kind.REPLY
                               else gettext_noop("Customer wrote on %(number)s"), number=ticket.number)
            record_event(customer_id=ticket.customer_id, kind=TIMELINE_TICKET, actor=actor, subject=subject,
                         body=body[:2000], ref_type="service.ticket", ref_id=ticket.pk,
                         direction="out" if kind == TicketMessage.Kind.REPLY else "in",
                         payload={"number": ticket.number, "message_id": msg.pk})
    return msg


def add_attachment(*, actor, ticket_id, upload) -> TicketAttachment:
    """Store an uploaded file on a ticket (size and type limited)."""
    perms.require(actor, SERVICE_WORK)
    name = os.path.basename(getattr(upload, "name", "") or "")[:200]
    ext = os.path.splitext(name)[1].lower()
    errors = []
    if not name:
        errors.append(_invalid("file", _("Choose a file."), ErrorCode.REQUIRED))
    elif ext not in ATTACHMENT_EXTENSIONS:
        errors.append(_invalid("file", _("Files of this type are not accepted (allowed: %(types)s).") % {
            "types": ", ".join(sorted(ATTACHMENT_EXTENSIONS))}, ServiceErrorCode.ATTACHMENT_TYPE))
    size = getattr(upload, "size", 0) or 0
    if size > ATTACHMENT_MAX_BYTES:
        errors.append(_invalid("file", _("The file is larger than %(mb)d MB.") % {
            "mb": ATTACHMENT_MAX_BYTES // (1024 * 1024)}, ServiceErrorCode.ATTACHMENT_TOO_LARGE))
    elif name and size == 0:
        errors.append(_invalid("file", _("The file is empty.")))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        ticket = _get_ticket(actor, ticket_id)
        content_type = mimetypes.types_map.get(ext, "application/octet-stream")
        att = TicketAttachment(ticket=ticket, name=name, content_type=content_type, size=size,
                               uploaded_by=_user_ref(actor))
        att.file.save(f"t{ticket.pk}-{name}", upload, save=False)
        att.save()
        audit(actor=actor, action="ticket.attach", obj=ticket, customer_id=ticket.customer_id,
              detail={"attachment_id": att.pk, "name": name, "size": size})
    return att


# Allowed status changes (from → to).
TRANSITIONS = {
    "new": {"open", "pending", "resolved", "closed"},
    "open": {"pending", "resolved", "closed"},
    "pending": {"open", "resolved", "closed"},
    "resolved": {"open", "closed"},
    "closed": set(),
}


def change_status(*, actor, ticket_id, status: str, resolution: str = "", root_cause_id: int | None = None,
                  send_survey: bool = True) -> Ticket:
    """Move a ticket through its lifecycle. Resolving needs a resolution text, records the root cause and sends
    a satisfaction survey (once per ticket); reopening clears the resolution time."""
    perms.require(actor, SERVICE_WORK)
    if status not in Ticket.Status.values:
        raise ValidationFailed([_invalid("status", _("Unknown status."))])
    with transaction.atomic():
        ticket = _get_ticket(actor, ticket_id)
        if status not in TRANSITIONS[ticket.status]:
            raise DomainError(ServiceErrorCode.INVALID_TRANSITION,
                              _("A ticket that is %(old)s cannot become %(new)s.") % {
                                  "old": ticket.get_status_display(), "new": Ticket.Status(status).label},
                              "status")
        errors = []
        resolution = (resolution or "").strip()
        if status == Ticket.Status.RESOLVED and not resolution:
            errors.append(_invalid("resolution", _("Say how it was resolved."), ErrorCode.REQUIRED))
        root_cause = None
        if root_cause_id:
            root_cause = RootCause.objects.filter(pk=root_cause_id).first()
            if root_cause is None:
                errors.append(_invalid("root_cause_id", _("Unknown root cause."), ErrorCode.UNKNOWN_REFERENCE))
        if errors:
            raise ValidationFailed(errors)
        before = snapshot(ticket, ["status", "resolved_at", "closed_at"])
        now = timezone.now()
        old = ticket.status
        ticket.status = status
        if status == Ticket.Status.PENDING:
            pause_sla(ticket, now)
        elif old == Ticket.Status.PENDING:
            resume_sla(ticket, now)
        if status == Ticket.Status.RESOLVED:
            ticket.resolved_at = now
            ticket.resolution = resolution
            if root_cause is not None:
                ticket.root_cause = root_cause
        elif status == Ticket.Status.CLOSED:
            ticket.closed_at = now
            if ticket.resolved_at is None:
                ticket.resolved_at = now
        elif old == Ticket.Status.RESOLVED and status == Ticket.Status.OPEN:
            ticket.resolved_at = None
        if ticket.assignee_id is None and status == Ticket.Status.OPEN:
            ticket.assignee_id = actor.pk
        ticket.save()
        audit(actor=actor, action="ticket.status", obj=ticket, customer_id=ticket.customer_id, before=before,
              after=snapshot(ticket, ["status", "resolved_at", "closed_at"]))
        _ticket_event(ticket, actor, deferred(gettext_noop("Ticket %(number)s: %(status)s"), number=ticket.number,
                                              status=ref("service.ticket.status", ticket.status)),
                      body=resolution, old_status=old)
        if status == Ticket.Status.RESOLVED and send_survey and not ticket.surveys.exists():
            _create_survey(actor=actor, customer_id=ticket.customer_id, trigger=Survey.Trigger.RESOLUTION,
                           ticket=ticket)
    return ticket


def escalate_ticket(*, actor, ticket_id, to_id: int | None = None, reason: str = "") -> Ticket:
    """Hand a ticket to a manager (the queue's escalation manager unless `to_id` is given) and raise its
    priority one step."""
    perms.require(actor, SERVICE_WORK)
    with transaction.atomic():
        ticket = _get_ticket(actor, ticket_id)
        if not ticket.is_open:
            raise DomainError(ServiceErrorCode.INVALID_TRANSITION, _("Only open tickets can be escalated."),
                              "status")
        target = _escalation_target(ticket, to_id)
        _escalate(ticket, actor=actor, target=target, reason=reason.strip() or _("escalated by hand"))
        notices.escalated(ticket, actor=actor, target=target)
    return ticket


def _escalation_target(ticket: Ticket, to_id: int | None = None):
    """Who gets an escalated ticket: `to_id`, else the queue's escalation manager, else a manager of the
    assignee's team, else an administrator."""
    active = User.objects.filter(is_active=True)
    if to_id:
        user = active.filter(pk=to_id).first()
        if user is None or not perms.has_perm(user, SERVICE_WORK):
            raise ValidationFailed([_invalid("to_id", _("That person cannot take escalations."),
                                             ErrorCode.UNKNOWN_REFERENCE)])
        return user
    if ticket.queue_id and ticket.queue.escalation_manager_id:
        user = active.filter(pk=ticket.queue.escalation_manager_id).first()
        if user is not None:
            return user
    if ticket.assignee_id and ticket.assignee.team_id:
        user = active.filter(role=perms.Role.MANAGER, team_id=ticket.assignee.team_id).order_by("id").first()
        if user is not None:
            return user
    return active.filter(Q(role=perms.Role.ADMIN) | Q(is_superuser=True)).order_by("id").first()


def _escalate(ticket: Ticket, *, actor, target, reason: str) -> None:
    before = snapshot(ticket, ["priority", "escalated_to_id", "escalated_at"])
    ranks = list(PRIORITY_RANK)
    ticket.priority = ranks[max(0, PRIORITY_RANK[ticket.priority] - 1)]
    ticket.escalated_to = target
    ticket.escalated_at = timezone.now()
    ticket.save(update_fields=["priority", "escalated_to", "escalated_at", "updated_at"])
    audit(actor=actor, action="ticket.escalate", obj=ticket, customer_id=ticket.customer_id, before=before,
          after=snapshot(ticket, ["priority", "escalated_to_id", "escalated_at"]), detail={"reason": reason})
    _ticket_event(ticket, actor, deferred(gettext_noop("Ticket %(number)s escalated to %(name)s"), number=ticket.number,
                                          name=str(target) if target else "—"), body=reason,
        escalated_to=target.pk if target else None)


@dataclass(frozen=True)
class SLACheckResult:
    warnings: int
    breaches: int
    escalations: int


def run_sla_check(*, now: dt.datetime | None = None) -> SLACheckResult:
    """Mark warnings and breaches of open tickets and escalate breaches (run by `clientwise sla_check` and the
    periodic task). Idempotent: each (ticket, kind) is recorded once, so a rerun changes nothing.

    A warning notifies the assignee (an SLAEvent row addressed to them, shown in their workspace, and a notification
    under their bell). A breach is recorded, the ticket's SLA state becomes "breached", the ticket is escalated once,
    and the assignee and the escalation manager are notified (service/notices.py)."""
    now = now or timezone.now()
    warnings = breaches = escalations = 0
    open_q = Q(status__in=Ticket.OPEN_STATUSES)
    checks = [
        (SLAEvent.Kind.RESPONSE_BREACH, open_q & Q(first_response_at__isnull=True, first_response_due__lte=now),
         "first_response_due"),
        (SLAEvent.Kind.RESOLUTION_BREACH, open_q & Q(resolution_due__lte=now) & Ticket.clock_running_q(),
         "resolution_due"),
        (SLAEvent.Kind.RESPONSE_WARNING, open_q & Q(first_response_at__isnull=True, response_warn_at__lte=now),
         "first_response_due"),
        (SLAEvent.Kind.RESOLUTION_WARNING, open_q & Q(resolution_warn_at__lte=now) & Ticket.clock_running_q(),
         "resolution_due"),
    ]
    for kind, cond, due_field in checks:
        ids = list(Ticket.objects.filter(cond).exclude(sla_events__kind=kind).values_list("pk", flat=True))
        for pk in ids:
            with transaction.atomic():
                ticket = (Ticket.objects.select_for_update(of=("self",)).select_related("queue", "assignee")
                          .filter(pk=pk).first())
                if ticket is None or SLAEvent.objects.filter(ticket=ticket, kind=kind).exists():
                    continue
                breach = kind.endswith("breach")
                if not breach and ticket.sla_state == "breached":
                    continue
                due = getattr(ticket, due_field)
                notified = ticket.assignee if not breach else _escalation_target(ticket)
                SLAEvent.objects.create(ticket=ticket, kind=kind, at=now, due=due, notified=notified)
                notices.sla_event(ticket, kind, due, notified)
                label = SLAEvent.Kind(kind).label
                if breach:
                    breaches += 1
                    ticket.sla_state = "breached"
                    ticket.save(update_fields=["sla_state", "updated_at"])
                    audit(actor=None, action="ticket.sla_breach", obj=ticket, customer_id=ticket.customer_id,
                          detail={"kind": kind, "due": due})
                    if ticket.escalated_at is None:
                        _escalate(ticket, actor=None, target=notified, reason=str(label))
                        escalations += 1
                    else:
                        _ticket_event(ticket, None, deferred(gettext_noop("Ticket %(number)s: %(what)s"), number=ticket.number,
                                                             what=ref("service.sla_event", kind)), sla=kind)
                else:
                    warnings += 1
                    if ticket.sla_state != "breached":
                        ticket.sla_state = "warning"
                        ticket.save(update_fields=["sla_state", "updated_at"])
                    audit(actor=None, action="ticket.sla_warning", obj=ticket, customer_id=ticket.customer_id,
                          detail={"kind": kind, "due": due})
    return SLACheckResult(warnings, breaches, escalations)


# --- Surveys ----------------------------------------------------------------------------------------------------


def _q3(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def satisfaction_indexes(scores: dict[str, int], weights: dict[str, Decimal]) -> tuple[Decimal | None,
                                                                                          Decimal | None]:
    """(simple, weighted) satisfaction index of one survey's attribute scores, both on the 1-5 scale.

    simple = mean of the scores; weighted = Σ wᵢ·sᵢ / Σ wᵢ over the answered attributes (weights normalised
    over what was answered, so a skipped attribute does not drag the index down). None when nothing was
    answered or the answered attributes all weigh 0. Rounded half-up to 3 decimals."""
    if not scores:
        return None, None
    simple = _q3(Decimal(sum(scores.values())) / Decimal(len(scores)))
    total_w = sum((Decimal(weights.get(code, 0)) for code in scores), Decimal(0))
    if total_w <= 0:
        return simple, None
    weighted = _q3(sum((Decimal(weights.get(code, 0)) * Decimal(s) for code, s in scores.items()), Decimal(0))
                   / total_w)
    return simple, weighted


def survey_token(survey: Survey) -> str:
    """The signed token of the public answer link (no login; expires after SERVICE_SURVEY_LINK_DAYS)."""
    return signing.dumps({"s": survey.pk}, salt=SURVEY_SALT, compress=True)


def survey_from_token(token: str) -> Survey:
    try:
        data = signing.loads(token, salt=SURVEY_SALT, max_age=dt.timedelta(days=SURVEY_LINK_DAYS))
        survey = Survey.objects.select_related("ticket").get(pk=int(data["s"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, Survey.DoesNotExist):
        raise DomainError(ServiceErrorCode.SURVEY_LINK_INVALID, _("This survey link is not valid or has expired.")) from None
    return survey


def _create_survey(*, actor, customer_id: int, trigger: str, ticket: Ticket | None = None, order=None) -> Survey:
    product_id = store_id = None
    agent_id = None
    if ticket is not None:
        product_id, store_id, agent_id = ticket.product_id, ticket.store_id, ticket.assignee_id
    if order is not None:
        store_id = order.store_id
        product_id = product_id or order.lines.order_by("-amount").values_list("product_id", flat=True).first()
    survey = Survey.objects.create(customer_id=customer_id, trigger=trigger, ticket=ticket,
                                   order=order, agent_id=agent_id, product_id=product_id, store_id=store_id,
                                   sent_at=timezone.now())
    audit(actor=actor, action="survey.send", obj=survey, customer_id=customer_id,
          detail={"trigger": trigger, "ticket_id": ticket.pk if ticket else None})
    record_event(customer_id=customer_id, kind=TIMELINE_SURVEY, actor=actor,
                 subject=deferred(gettext_noop("Satisfaction survey sent (%(trigger)s)"),
                                  trigger=ref("service.survey.trigger", trigger)),
                 ref_type="service.survey", ref_id=survey.pk, direction="out",
                 payload={"trigger": trigger, "ticket": ticket.number if ticket else None})
    return survey


def send_purchase_survey(*, actor, order_id) -> Survey:
    """Send a survey about a purchase (one per order)."""
    perms.require(actor, SERVICE_WORK)
    order = get_order_for(actor, order_id)
    with transaction.atomic():
        if Survey.objects.filter(order_id=order.pk).exists():
            raise DomainError(ErrorCode.DUPLICATE, _("A survey was already sent for this order."), "order_id")
        return _create_survey(actor=actor, customer_id=order.customer_id, trigger=Survey.Trigger.PURCHASE,
                              order=order)


def answer_survey(*, token: str, csat: int | None, nps: int | None, scores: dict[str, Any],
                  comment: str = "") -> Survey:
    """Record the customer's answers from the public link. Each attribute score is 1-5; CSAT 1-5; NPS 0-10.
    Both indexes are computed with the weights in force now and stored with the answers. Answers once."""
    survey = survey_from_token(token)
    errors = []

    def as_int(value, lo, hi, field):
        if value in (None, ""):
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not lo <= number <= hi:
            errors.append(_invalid(field, _("Choose a score from %(lo)d to %(hi)d.") % {"lo": lo, "hi": hi}))
            return None
        return number

    csat = as_int(csat, 1, 5, "csat")
    nps = as_int(nps, 0, 10, "nps")
    attributes = {a.code: a for a in SurveyAttribute.objects.filter(active=True)}
    clean: dict[str, int] = {}
    for code, value in (scores or {}).items():
        if code not in attributes:
            errors.append(_invalid(f"scores.{code}", _("Unknown attribute."), ErrorCode.UNKNOWN_REFERENCE))
            continue
        number = as_int(value, 1, 5, f"scores.{code}")
        if number is not None:
            clean[code] = number
    if csat is None and not errors:
        errors.append(_invalid("csat", _("Say how satisfied you are overall."), ErrorCode.REQUIRED))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.answered_at is not None:
            raise DomainError(ServiceErrorCode.SURVEY_ANSWERED, _("This survey has already been answered."))
        weights = {code: a.weight for code, a in attributes.items()}
        simple, weighted = satisfaction_indexes(clean, weights)
        SurveyAnswer.objects.bulk_create([SurveyAnswer(survey=survey, attribute=attributes[code], score=score,
                                                       weight=weights[code]) for code, score in clean.items()])
        survey.csat, survey.nps, survey.comment = csat, nps, (comment or "").strip()[:2000]
        survey.simple_index, survey.weighted_index = simple, weighted
        survey.answered_at = timezone.now()
        survey.save()
        audit(actor=None, action="survey.answer", obj=survey, customer_id=survey.customer_id,
              after={"csat": csat, "nps": nps, "scores": clean})
        record_event(customer_id=survey.customer_id, kind=TIMELINE_SURVEY,
                     subject=deferred(gettext_noop("Survey answered: satisfaction %(csat)s/5"), csat=csat),
                     body=survey.comment, ref_type="service.survey", ref_id=survey.pk, direction="in",
                     payload={"csat": csat, "nps": nps, "weighted_index": weighted, "simple_index": simple})
    return survey


def set_attribute_weights(*, actor, weights: dict[str, Any]) -> list[SurveyAttribute]:
    """Set the weights of the survey attributes (non-negative; at least one positive among the active ones)."""
    perms.require(actor, SERVICE_MANAGE)
    attributes = {a.code: a for a in SurveyAttribute.objects.all()}
    errors, clean = [], {}
    for code, value in weights.items():
        if code not in attributes:
            errors.append(_invalid(f"weights.{code}", _("Unknown attribute."), ErrorCode.UNKNOWN_REFERENCE))
            continue
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            number = None
        if number is None or not number.is_finite() or number < 0 or number >= 1000:
            errors.append(_invalid(f"weights.{code}", _("A weight is a number from 0 to 999.")))
            continue
        clean[code] = number.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    merged = {c: clean.get(c, a.weight) for c, a in attributes.items() if a.active}
    if not errors and merged and not any(w > 0 for w in merged.values()):
        errors.append(_invalid("weights", _("At least one attribute must weigh more than 0.")))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        before = {c: a.weight for c, a in attributes.items()}
        for code, weight in clean.items():
            SurveyAttribute.objects.filter(pk=attributes[code].pk).update(weight=weight)
        audit(actor=actor, action="survey.weights", object_type="service.surveyattribute", before=before,
              after={**before, **clean})
    return list(SurveyAttribute.objects.all())


# --- Work orders ------------------------------------------------------------------------------------------------


def _get_work_order(actor, pk, *, lock: bool = True) -> WorkOrder:
    return get_visible(visible_work_orders(actor), pk, lock=lock)


def _wo_event(wo: WorkOrder, actor, subject: str, body: str = "", **payload) -> None:
    record_event(customer_id=wo.customer_id, kind=TIMELINE_WORKORDER, actor=actor, subject=subject, body=body,
                 ref_type="service.workorder", ref_id=wo.pk,
                 payload={"number": wo.number, "status": wo.status, **payload})


def pick_technician(*, region_id: int | None, skill: str, rural: bool, window_start: dt.datetime,
                    window_end: dt.datetime, exclude_id: int | None = None) -> Technician | None:
    """An active technician serving the region (any region when none is known), with the skill, serving rural
    addresses when needed, and free in the time window; among those the one with the fewest open work orders."""
    qs = Technician.objects.filter(active=True)
    if region_id:
        qs = qs.filter(regions=region_id)
    if rural:
        qs = qs.filter(rural=True)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    busy = set(WorkOrder.objects.filter(status__in=WorkOrder.OPEN_STATUSES, window_start__lt=window_end,
                                        window_end__gt=window_start, technician__isnull=False)
               .values_list("technician_id", flat=True))
    techs = [t for t in qs.distinct().order_by("id") if t.pk not in busy and (not skill or skill.lower() in t.skill_set)]
    if not techs:
        return None

    loads = dict(WorkOrder.objects.filter(technician__in=techs, status__in=WorkOrder.OPEN_STATUSES)
                 .values_list("technician_id").annotate(n=Count("id")).values_list("technician_id", "n"))
    return min(techs, key=lambda t: (loads.get(t.pk, 0), t.pk))


def create_work_order(*, actor, customer_id, kind: str, address: str, window_start: dt.datetime,
                      window_end: dt.datetime, ticket_id: int | None = None, product_id: int | None = None,
                      skill: str = "", region_id: int | None = None, city: str = "", rural: bool = False,
                      notes: str = "", auto_assign: bool = True) -> WorkOrder:
    """Schedule an on-site visit and, with `auto_assign`, give it to a technician by region, skill and free
    time (left scheduled when nobody fits)."""
    perms.require(actor, SERVICE_WORK)
    errors = []
    address = (address or "").strip()
    if kind not in WorkOrder.Kind.values:
        errors.append(_invalid("kind", _("Choose repair, installation or maintenance.")))
    if not address:
        errors.append(_invalid("address", _("Write the address."), ErrorCode.REQUIRED))
    if window_start is None or window_end is None:
        errors.append(_invalid("window_start", _("Give the time window."), ErrorCode.REQUIRED))
    else:
        # A window without a zone is the technician's wall clock (settings.TIME_ZONE), never UTC.
        window_start, window_end = local_aware(window_start), local_aware(window_end)
        if window_end <= window_start:
            errors.append(_invalid("window_end", _("The window must end after it starts."), ErrorCode.INVALID_DATE))
    if product_id and not Product.objects.filter(pk=product_id).exists():
        errors.append(_invalid("product_id", _("Unknown product."), ErrorCode.UNKNOWN_REFERENCE))
    if region_id and not Region.objects.filter(pk=region_id).exists():
        errors.append(_invalid("region_id", _("Unknown region."), ErrorCode.UNKNOWN_REFERENCE))
    customer = get_customer_for(actor, customer_id)
    ticket = None
    if ticket_id:
        ticket = visible_tickets(actor).filter(pk=ticket_id, customer_id=customer.pk).first()
        if ticket is None:
            errors.append(_invalid("ticket_id", _("That ticket is not this customer's."),
                                   ErrorCode.UNKNOWN_REFERENCE))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        region_id = region_id or region_for(customer, ticket.store_id if ticket else None)
        if not product_id and ticket is not None:
            product_id = ticket.product_id
        wo = WorkOrder.objects.create(
            number=_temp_number(), customer_id=customer.pk, ticket=ticket,
            kind=kind, product_id=product_id or None, address=address[:300], city=(city or customer.city)[:60],
            region_id=region_id, rural=bool(rural), window_start=window_start, window_end=window_end,
            skill=(skill or "").strip()[:50], notes=(notes or "").strip(), created_by=_user_ref(actor))
        wo.number = f"W{wo.pk:07d}"
        fields = ["number"]
        if auto_assign:
            tech = pick_technician(region_id=region_id, skill=wo.skill, rural=wo.rural, window_start=window_start,
                                   window_end=window_end)
            if tech is not None:
                wo.technician, wo.status = tech, WorkOrder.Status.ASSIGNED
                fields += ["technician", "status"]
        wo.save(update_fields=fields)
        audit(actor=actor, action="workorder.create", obj=wo, customer_id=customer.pk, after=snapshot(wo))
        _wo_event(wo, actor, deferred(gettext_noop("Work order %(number)s: %(kind)s on %(when)s"), number=wo.number,
                                      kind=ref("service.workorder.kind", wo.kind),
                                      when=timezone.localtime(window_start).strftime("%Y-%m-%d %H:%M")),
            technician=str(wo.technician) if wo.technician_id else "")
    return wo


def assign_technician(*, actor, work_order_id, technician_id: int | None = None) -> WorkOrder:
    """Give a work order to a technician (`technician_id`), or to the best free one when it is None."""
    perms.require(actor, SERVICE_WORK)
    with transaction.atomic():
        wo = _get_work_order(actor, work_order_id)
        if wo.status not in (WorkOrder.Status.SCHEDULED, WorkOrder.Status.ASSIGNED):
            raise DomainError(ServiceErrorCode.INVALID_TRANSITION, _("This work order can no longer be reassigned."),
                              "status")
        if technician_id:
            tech = Technician.objects.filter(pk=technician_id, active=True).first()
            if tech is None:
                raise ValidationFailed([_invalid("technician_id", _("Unknown technician."),
                                                 ErrorCode.UNKNOWN_REFERENCE)])
        else:
            tech = pick_technician(region_id=wo.region_id, skill=wo.skill, rural=wo.rural,
                                   window_start=wo.window_start, window_end=wo.window_end,
                                   exclude_id=None)
            if tech is None:
                raise DomainError(ServiceErrorCode.NO_TECHNICIAN,
                                  _("No technician serves this region with this skill in that window."),
                                  "technician_id")
        before = snapshot(wo, ["technician_id", "status"])
        wo.technician, wo.status = tech, WorkOrder.Status.ASSIGNED
        wo.save(update_fields=["technician", "status", "updated_at"])
        audit(actor=actor, action="workorder.assign", obj=wo, customer_id=wo.customer_id, before=before,
              after=snapshot(wo, ["technician_id", "status"]))
        _wo_event(wo, actor, deferred(gettext_noop("Work order %(number)s assigned to %(name)s"), number=wo.number,
                                      name=tech.name))
    return wo


WO_TRANSITIONS = {
    "scheduled": {"cancelled"},
    "assigned": {"in_progress", "cancelled"},
    "in_progress": {"completed", "cancelled"},
    "completed": {"signed_off"},
    "signed_off": set(),
    "cancelled": set(),
}


def start_work_order(*, actor, work_order_id) -> WorkOrder:
    return _wo_status(actor, work_order_id, WorkOrder.Status.IN_PROGRESS)


def cancel_work_order(*, actor, work_order_id, reason: str = "") -> WorkOrder:
    return _wo_status(actor, work_order_id, WorkOrder.Status.CANCELLED, note=reason)


def _wo_status(actor, work_order_id, status: str, note: str = "", **changes) -> WorkOrder:
    perms.require(actor, SERVICE_WORK)
    with transaction.atomic():
        wo = _get_work_order(actor, work_order_id)
        if status not in WO_TRANSITIONS[wo.status]:
            raise DomainError(ServiceErrorCode.INVALID_TRANSITION,
                              _("A work order that is %(old)s cannot become %(new)s.") % {
                                  "old": wo.get_status_display(), "new": WorkOrder.Status(status).label},
                              "status")
        before = snapshot(wo, ["status"])
        wo.status = status
        now = timezone.now()
        if status == WorkOrder.Status.IN_PROGRESS:
            wo.started_at = now
        for key, value in changes.items():
            setattr(wo, key, value)
        wo.save()
        audit(actor=actor, action="workorder.status", obj=wo, customer_id=wo.customer_id, before=before,
              after=snapshot(wo, ["status"]), detail={"note": note} if note else None)
        _wo_event(wo, actor, deferred(gettext_noop("Work order %(number)s: %(status)s"), number=wo.number,
                                      status=ref("service.workorder.status", wo.status)),
                  body=note or changes.get("report", ""))
    return wo


def complete_work_order(*, actor, work_order_id, report: str, parts: list[dict] | None = None) -> WorkOrder:
    """Record the completion report and the parts used (description, quantity ≥ 1, unit price ≥ 0)."""
    report = (report or "").strip()
    errors = []
    if not report:
        errors.append(_invalid("report", _("Write what was done."), ErrorCode.REQUIRED))
    rows = []
    for i, part in enumerate(parts or []):
        desc = str(part.get("description") or "").strip()
        product_id = part.get("product_id") or None
        if not desc and not product_id:
            continue
        try:
            qty = int(part.get("quantity") or 1)
            price = Decimal(str(part.get("unit_price") or 0))
        except (TypeError, ValueError, InvalidOperation):
            errors.append(_invalid(f"parts.{i}", _("Quantity and price must be numbers.")))
            continue
        if qty < 1 or not price.is_finite() or price < 0:
            errors.append(_invalid(f"parts.{i}", _("Quantity must be at least 1 and price not negative.")))
            continue
        if product_id and not Product.objects.filter(pk=product_id).exists():
            errors.append(_invalid(f"parts.{i}", _("Unknown product."), ErrorCode.UNKNOWN_REFERENCE))
            continue
        rows.append((desc, product_id, qty, price.quantize(Decimal("0.01"))))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        wo = _wo_status(actor, work_order_id, WorkOrder.Status.COMPLETED, report=report,
                        completed_at=timezone.now())
        for desc, product_id, qty, price in rows:
            if not desc:
                desc = Product.objects.filter(pk=product_id).values_list("name", flat=True).first() or ""
            WorkOrderPart.objects.create(work_order=wo, description=desc[:200], product_id=product_id,
                                         quantity=qty, unit_price=price)
    return wo


def sign_off_work_order(*, actor, work_order_id, signed_by: str) -> WorkOrder:
    """The customer confirms the work (name of the person who signed)."""
    signed_by = (signed_by or "").strip()
    if not signed_by:
        raise ValidationFailed([_invalid("signed_by", _("Write who signed."), ErrorCode.REQUIRED)])
    return _wo_status(actor, work_order_id, WorkOrder.Status.SIGNED_OFF, signed_off_by=signed_by[:100],
                      signed_off_at=timezone.now())


# --- Configuration ----------------------------------------------------------------------------------------------


def save_config(*, actor, form) -> Any:
    """Save a configuration ModelForm (queue, rule, SLA policy, calendar, day, category, root cause, canned
    reply, article, technician, agent profile, survey attribute). The form has been validated."""
    perms.require(actor, SERVICE_MANAGE)
    obj = form.instance
    creating = obj.pk is None
    before = None if creating else snapshot(type(obj).objects.get(pk=obj.pk))
    with transaction.atomic():
        try:
            with transaction.atomic():
                obj = form.save()
        except IntegrityError:
            raise DomainError(ErrorCode.CONFLICT, _("This conflicts with an existing entry (a second active "
                                                    "policy for the same priority and tier, or a code in use).")) from None
        audit(actor=actor, action=f"service.config.{'create' if creating else 'update'}", obj=obj,
              before=before, after=snapshot(obj))
    return obj


def delete_config(*, actor, obj) -> None:
    perms.require(actor, SERVICE_MANAGE)

    with transaction.atomic():
        before = snapshot(obj)
        label, pk = obj._meta.label_lower, obj.pk
        try:
            obj.delete()
        except ProtectedError:
            raise DomainError(ErrorCode.CONFLICT, _("This entry is still in use.")) from None
        audit(actor=actor, action="service.config.delete", object_type=label, object_id=pk, before=before)


def ensure_agent_profile(*, actor, user_id: int) -> AgentProfile:
    perms.require(actor, SERVICE_MANAGE)
    with transaction.atomic():
        profile, created = AgentProfile.objects.get_or_create(user_id=user_id)
        if created:
            audit(actor=actor, action="service.config.create", obj=profile, after=snapshot(profile))
    return profile


# --- Customer merge ---------------------------------------------------------------------------------------------


def _move(model):
    def move(from_ids: list[int], to_id: int) -> dict[str, list[int]]:
        moved = {str(cid): list(model.objects.filter(customer_id=cid).values_list("pk", flat=True))
                 for cid in from_ids}
        model.objects.filter(customer_id__in=from_ids).update(customer_id=to_id)
        return {k: v for k, v in moved.items() if v}

    def restore(record: dict[str, list[int]]) -> None:
        for cid, ids in (record or {}).items():
            model.objects.filter(pk__in=ids).update(customer_id=int(cid))

    return move, restore


MERGE_PARTICIPANTS = {"service.tickets": _move(Ticket), "service.surveys": _move(Survey),
                      "service.work_orders": _move(WorkOrder)}


def can_view(user) -> bool:
    return perms.has_perm(user, SERVICE_VIEW)


def require_view(user) -> None:
    if not can_view(user):
        raise PermissionDenied()
