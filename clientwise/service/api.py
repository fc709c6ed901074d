"""JSON API for service: parse, call services and queries, return schemas. No business rules here.

Tickets, surveys and work orders follow their customer's visibility (a record the user may not see is a 404)
and need service.view to read, service.work to write (403 without). The survey answer endpoint is public: the
signed token from the survey link is the credential.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import prefetch_related_objects
from django.urls import reverse
from ninja import Router, Status

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode, PermissionDenied
from clientwise.core.masking import mask_phone
from clientwise.service import queries, reports, services
from clientwise.service.models import Ticket, TicketType, WorkOrder
from clientwise.service.perms import SERVICE_REPORTS, SERVICE_VIEW, SERVICE_WORK
from clientwise.service.schemas import (
    AssignIn,
    CallerOut,
    EscalateIn,
    MessageIn,
    MessageOut,
    SatisfactionOut,
    SatisfactionRowOut,
    StatusIn,
    SurveyAnswerIn,
    SurveyLinkOut,
    SurveyOut,
    SurveyPage,
    TechnicianIn,
    TicketDetailOut,
    TicketIn,
    TicketOut,
    TicketPage,
    WorkOrderIn,
    WorkOrderOut,
    WorkOrderPage,
    WorkOrderStatusIn,
)

router = Router(tags=["service"])


def _viewer(request):
    user = request.auth
    if not perms.has_perm(user, SERVICE_VIEW):
        raise PermissionDenied()
    return user


def _size(size: int) -> int:
    if not 1 <= size <= 200:
        raise DomainError(ErrorCode.INVALID, "size must be between 1 and 200.", "size")
    return size


def _ticket_out(t: Ticket) -> dict:
    fields = ("id", "number", "customer_id", "type", "channel", "status", "priority", "subject", "description",
              "category_id", "root_cause_id", "queue_id", "assignee_id", "routing_note", "order_id", "product_id",
              "store_id", "value_tier", "churn_probability", "opened_at", "first_response_due", "resolution_due",
              "first_response_at", "resolved_at", "closed_at", "resolution", "sla_state", "sla_paused_at",
              "sla_paused_minutes", "escalated_to_id", "escalated_at")
    out = {f: getattr(t, f) for f in fields}
    out["customer_name"] = t.customer.name
    out["queue"] = t.queue.name if t.queue_id else ""
    out["assignee"] = str(t.assignee) if t.assignee_id else ""
    return out


def _fresh_ticket(user, pk) -> dict:
    return _ticket_out(queries.get_ticket_for(user, pk))


@router.get("/service/lookup", response=list[CallerOut], summary="Find a caller by phone number")
def lookup(request, phone: str):
    """Customers you may see with this mobile or landline number (any format) or, given exactly 8 digits, whose
    number ends in them (at most 11), each with value tier, churn risk, next best action and open tickets: what an
    agent needs when the phone rings. Phones are masked without the view_pii right."""
    user = _viewer(request)
    pii = perms.can_view_pii(user)
    callers = queries.phone_lookup(user, phone)
    ids = [c.pk for c in callers]
    scores = queries.current_scores(ids) if ids else {}
    open_tickets = queries.open_ticket_counts(ids) if ids else {}
    out = []
    for c in callers:
        facts = scores.get(c.pk, queries.ScoreFacts())
        out.append({"id": c.pk, "name": c.name, "mobile": c.mobile if pii else mask_phone(c.mobile), "city": c.city,
                    "archived": c.archived_at is not None, "value_tier": facts.value_tier,
                    "churn_probability": facts.churn_probability, "next_action": facts.next_action,
                    "open_tickets": open_tickets.get(c.pk, 0)})
    return out


@router.get("/service/tickets", response=TicketPage, summary="List tickets")
def list_tickets(request, status: str = "", type: str = "", priority: str = "", queue: int | None = None,
                 assignee: int | None = None, customer: int | None = None, sla: str = "",
                 sort: str = "-opened", cursor: str | None = None, size: int = 25):
    """Tickets you may see, newest first (`sort`: -opened, opened, due). `status` is a status or "active"
    (not resolved); `assignee=0` lists unassigned tickets; `sla` is warning or breached."""
    user = _viewer(request)
    if status and status not in {"active", *Ticket.Status.values}:
        raise DomainError(ErrorCode.INVALID, "Unknown status.", "status")
    if type and type not in TicketType.values:
        raise DomainError(ErrorCode.INVALID, "Unknown ticket type.", "type")
    if sort not in queries.TICKET_SORTS:
        raise DomainError(ErrorCode.INVALID, "Unknown sort.", "sort")
    f = queries.TicketFilters(status=status, type=type, priority=priority, queue=queue, assignee=assignee,
                              customer=customer, sla=sla if sla in ("warning", "breached") else "")
    page = queries.ticket_page(user, f, sort=sort, cursor=cursor, size=_size(size))
    return {"items": [_ticket_out(t) for t in page.items], "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor}


@router.post("/service/tickets", response={201: TicketOut}, summary="Open a ticket")
def create_ticket(request, payload: TicketIn):
    """Opens, routes (rules by type, category, product, region, value tier and churn risk; then round robin
    or least loaded in the queue) and starts the SLA clock. 422 lists every invalid field."""
    _viewer(request)
    t = services.create_ticket(actor=request.auth, **payload.dict())
    return Status(201, _fresh_ticket(request.auth, t.pk))


@router.get("/service/tickets/{int:ticket_id}", response=TicketDetailOut, summary="A ticket with its conversation")
def get_ticket(request, ticket_id: int):
    user = _viewer(request)
    t = queries.get_ticket_for(user, ticket_id)
    out = _ticket_out(t)
    out["messages"] = list(t.messages.all())
    out["attachments"] = [{"id": a.pk, "name": a.name, "content_type": a.content_type, "size": a.size,
                           "uploaded_at": a.uploaded_at,
                           "url": reverse("service:attachment", args=[t.pk, a.pk])} for a in t.attachments.all()]
    return out


@router.post("/service/tickets/{int:ticket_id}/messages", response={201: MessageOut}, summary="Reply or add a note")
def add_message(request, ticket_id: int, payload: MessageIn):
    """A reply to the customer (the first one stops the first-response clock), a message from the customer, or
    an internal note."""
    _viewer(request)
    return Status(201, services.add_message(actor=request.auth, ticket_id=ticket_id, kind=payload.kind,
                                            body=payload.body))


@router.post("/service/tickets/{int:ticket_id}/status", response=TicketOut, summary="Change a ticket's status")
def change_status(request, ticket_id: int, payload: StatusIn):
    """new → open ⇄ pending → resolved → closed; resolved → open reopens. Resolving needs `resolution` and sends
    the satisfaction survey. A transition that is not allowed is 409 invalid_transition."""
    _viewer(request)
    services.change_status(actor=request.auth, ticket_id=ticket_id, status=payload.status,
                           resolution=payload.resolution, root_cause_id=payload.root_cause_id)
    return _fresh_ticket(request.auth, ticket_id)


@router.post("/service/tickets/{int:ticket_id}/assign", response=TicketOut, summary="Reassign a ticket")
def assign(request, ticket_id: int, payload: AssignIn):
    _viewer(request)
    services.assign_ticket(actor=request.auth, ticket_id=ticket_id, queue_id=payload.queue_id,
                           assignee_id=payload.assignee_id)
    return _fresh_ticket(request.auth, ticket_id)


@router.post("/service/tickets/{int:ticket_id}/escalate", response=TicketOut, summary="Escalate a ticket")
def escalate(request, ticket_id: int, payload: EscalateIn):
    _viewer(request)
    services.escalate_ticket(actor=request.auth, ticket_id=ticket_id, to_id=payload.to_id, reason=payload.reason)
    return _fresh_ticket(request.auth, ticket_id)


def _survey_out(s) -> dict:
    out = {f: getattr(s, f) for f in ("id", "customer_id", "trigger", "ticket_id", "order_id", "agent_id",
                                      "product_id", "store_id", "sent_at", "answered_at", "csat", "nps",
                                      "simple_index", "weighted_index", "comment")}
    out["scores"] = {a.attribute.code: a.score for a in s.answers.all()}
    return out


@router.get("/service/surveys", response=SurveyPage, summary="List surveys")
def list_surveys(request, answered: bool | None = None, customer: int | None = None, cursor: str | None = None,
                 size: int = 25):
    user = _viewer(request)
    page = queries.survey_page(user, answered=answered, customer=customer, cursor=cursor, size=_size(size))

    prefetch_related_objects(page.items, "answers__attribute")
    return {"items": [_survey_out(s) for s in page.items], "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor}


@router.get("/service/surveys/{int:survey_id}", response=SurveyOut, summary="A survey with its answers")
def get_survey(request, survey_id: int):
    return _survey_out(queries.get_survey_for(_viewer(request), survey_id))


@router.get("/service/surveys/{int:survey_id}/link", response=SurveyLinkOut, summary="The survey's answer link")
def survey_link(request, survey_id: int):
    """The signed public link to send to the customer (service.work)."""
    user = _viewer(request)

    perms.require(user, SERVICE_WORK)
    survey = queries.get_survey_for(user, survey_id)
    url = request.build_absolute_uri(reverse("service:survey_answer", args=[services.survey_token(survey)]))
    return {"survey_id": survey.pk, "url": url}


@router.post("/service/orders/{int:order_id}/survey", response={201: SurveyOut}, summary="Send a purchase survey")
def purchase_survey(request, order_id: int):
    _viewer(request)
    return Status(201, _survey_out(services.send_purchase_survey(actor=request.auth, order_id=order_id)))


@router.post("/service/surveys/answer/{token}", response=SurveyOut, auth=None, summary="Answer a survey (public)")
def answer(request, token: str, payload: SurveyAnswerIn):
    """The customer's answers; the token from the survey link is the credential. CSAT 1-5, NPS 0-10, attribute
    scores 1-5 by attribute code. 404 survey_link_invalid for a bad or expired token, 409 when answered."""
    s = services.answer_survey(token=token, csat=payload.csat, nps=payload.nps, scores=payload.scores,
                               comment=payload.comment)
    return _survey_out(s)


def _wo_out(w: WorkOrder) -> dict:
    out = {f: getattr(w, f) for f in ("id", "number", "customer_id", "ticket_id", "kind", "status", "product_id",
                                      "address", "city", "region_id", "rural", "window_start", "window_end", "skill",
                                      "technician_id", "notes", "report", "completed_at", "signed_off_by",
                                      "signed_off_at")}
    out["technician"] = str(w.technician) if w.technician_id else ""
    out["parts"] = list(w.parts.all())
    return out


@router.get("/service/work-orders", response=WorkOrderPage, summary="List work orders")
def list_work_orders(request, status: str = "", technician: int | None = None, customer: int | None = None,
                     cursor: str | None = None, size: int = 25):
    user = _viewer(request)
    if status and status not in {"active", *WorkOrder.Status.values}:
        raise DomainError(ErrorCode.INVALID, "Unknown status.", "status")
    page = queries.work_order_page(user, status=status, technician=technician, customer=customer, cursor=cursor,
                                   size=_size(size))

    prefetch_related_objects(page.items, "parts")
    return {"items": [_wo_out(w) for w in page.items], "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor}


@router.post("/service/work-orders", response={201: WorkOrderOut}, summary="Schedule an on-site visit")
def create_work_order(request, payload: WorkOrderIn):
    """Creates the work order and (auto_assign) gives it to a technician serving the region, with the skill,
    free in the window."""
    _viewer(request)
    wo = services.create_work_order(actor=request.auth, **payload.dict())
    return Status(201, _wo_out(queries.get_work_order_for(request.auth, wo.pk)))


@router.get("/service/work-orders/{int:work_order_id}", response=WorkOrderOut, summary="A work order")
def get_work_order(request, work_order_id: int):
    return _wo_out(queries.get_work_order_for(_viewer(request), work_order_id))


@router.post("/service/work-orders/{int:work_order_id}/technician", response=WorkOrderOut,
             summary="Assign a technician")
def assign_technician(request, work_order_id: int, payload: TechnicianIn):
    _viewer(request)
    services.assign_technician(actor=request.auth, work_order_id=work_order_id, technician_id=payload.technician_id)
    return _wo_out(queries.get_work_order_for(request.auth, work_order_id))


@router.post("/service/work-orders/{int:work_order_id}/status", response=WorkOrderOut,
             summary="Start, complete, sign off or cancel")
def work_order_status(request, work_order_id: int, payload: WorkOrderStatusIn):
    """`complete` needs `report` (and optional `parts`); `sign_off` needs `signed_by`."""
    _viewer(request)
    user, pk = request.auth, work_order_id
    if payload.action == "start":
        services.start_work_order(actor=user, work_order_id=pk)
    elif payload.action == "complete":
        services.complete_work_order(actor=user, work_order_id=pk, report=payload.report,
                                     parts=[p.dict() for p in payload.parts])
    elif payload.action == "sign_off":
        services.sign_off_work_order(actor=user, work_order_id=pk, signed_by=payload.signed_by)
    elif payload.action == "cancel":
        services.cancel_work_order(actor=user, work_order_id=pk, reason=payload.reason)
    else:
        raise DomainError(ErrorCode.INVALID, "action must be start, complete, sign_off or cancel.", "action")
    return _wo_out(queries.get_work_order_for(user, pk))


def _reporter(request):
    user = request.auth
    if not perms.has_perm(user, SERVICE_REPORTS):
        raise PermissionDenied()
    return user


@router.get("/service/reports/satisfaction", response=SatisfactionOut, summary="Satisfaction and recovery")
def satisfaction(request, since: dt.date | None = None):
    """CSAT, NPS, simple and weighted index over the surveys you may see; repurchase rate by CSAT and NPS score;
    the complaint-recovery report (satisfied complainants, repurchase before and after)."""
    user = _reporter(request)
    by_csat = reports.repurchase_by_score(user, since=since)
    out = reports.satisfaction_overview(user, since=since)
    return {**out, "repurchase_by_csat": by_csat, "repurchase_by_nps": reports.repurchase_by_score(
        user, score="nps", since=since), "top_box_ratio": reports.top_box_ratio(by_csat),
        "complaint_recovery": reports.complaint_recovery(user, since=since)}


@router.get("/service/reports/satisfaction/{dimension}", response=list[SatisfactionRowOut],
            summary="Satisfaction by agent, product, store or customer")
def satisfaction_by(request, dimension: str, since: dt.date | None = None, limit: int = 20):
    user = _reporter(request)
    if dimension not in reports.DIMENSIONS:
        raise DomainError(ErrorCode.INVALID, "dimension must be agent, product, store or customer.", "dimension")
    return reports.satisfaction_by(user, dimension, since=since, limit=_size(limit))
