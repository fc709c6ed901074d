"""Schemas of the service API (NounIn / NounOut / NounPage)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema


class TicketIn(Schema):
    customer_id: int
    type: str = Field(description="complaint, inquiry, suggestion, repair or return")
    channel: str = Field(description="phone, email, web, store, wechat or api")
    subject: str
    description: str = ""
    category_id: int | None = None
    priority: str = "normal"
    order_id: int | None = None
    product_id: int | None = None
    store_id: int | None = None
    opened_at: dt.datetime | None = None
    source: str = ""
    external_id: str | None = None


class TicketOut(Schema):
    id: int
    number: str
    customer_id: int
    customer_name: str
    type: str
    channel: str
    status: str
    priority: str
    subject: str
    description: str
    category_id: int | None
    root_cause_id: int | None
    queue_id: int | None
    queue: str
    assignee_id: int | None
    assignee: str
    routing_note: str
    order_id: int | None
    product_id: int | None
    store_id: int | None
    value_tier: str
    churn_probability: float | None
    opened_at: dt.datetime
    first_response_due: dt.datetime | None
    resolution_due: dt.datetime | None
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution: str
    sla_state: str
    sla_paused_at: dt.datetime | None = Field(None, description="While pending: when the resolution clock stopped")
    sla_paused_minutes: float = Field(0, description="Business minutes the resolution clock has been paused")
    escalated_to_id: int | None
    escalated_at: dt.datetime | None


class MessageIn(Schema):
    kind: str = Field("reply", description="reply (to the customer), customer (from the customer) or note "
                                           "(internal, never shown to the customer)")
    body: str


class MessageOut(Schema):
    id: int
    kind: str
    author_id: int | None
    body: str
    created_at: dt.datetime


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    uploaded_at: dt.datetime
    url: str


class TicketDetailOut(TicketOut):
    messages: list[MessageOut]
    attachments: list[AttachmentOut]


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None
    prev_cursor: str | None


class StatusIn(Schema):
    status: str
    resolution: str = ""
    root_cause_id: int | None = None


class AssignIn(Schema):
    queue_id: int | None = None
    assignee_id: int | None = None


class EscalateIn(Schema):
    to_id: int | None = None
    reason: str = ""


class CallerOut(Schema):
    id: int
    name: str
    mobile: str
    city: str
    archived: bool
    value_tier: str
    churn_probability: float | None
    next_action: str
    open_tickets: int


class SurveyOut(Schema):
    id: int
    customer_id: int
    trigger: str
    ticket_id: int | None
    order_id: int | None
    agent_id: int | None
    product_id: int | None
    store_id: int | None
    sent_at: dt.datetime
    answered_at: dt.datetime | None
    csat: int | None
    nps: int | None
    simple_index: Decimal | None
    weighted_index: Decimal | None
    comment: str
    scores: dict[str, int]


class SurveyPage(Schema):
    items: list[SurveyOut]
    next_cursor: str | None
    prev_cursor: str | None


class SurveyAnswerIn(Schema):
    csat: int
    nps: int | None = None
    scores: dict[str, int] = {}
    comment: str = ""


class SurveyLinkOut(Schema):
    survey_id: int
    url: str


class PartIn(Schema):
    description: str = ""
    product_id: int | None = None
    quantity: int = 1
    unit_price: Decimal = Decimal("0")


class PartOut(Schema):
    description: str
    product_id: int | None
    quantity: int
    unit_price: Decimal


class WorkOrderIn(Schema):
    customer_id: int
    kind: str = Field(description="repair, install or maintenance")
    address: str
    window_start: dt.datetime
    window_end: dt.datetime
    ticket_id: int | None = None
    product_id: int | None = None
    skill: str = ""
    region_id: int | None = None
    city: str = ""
    rural: bool = False
    notes: str = ""
    auto_assign: bool = True


class WorkOrderOut(Schema):
    id: int
    number: str
    customer_id: int
    ticket_id: int | None
    kind: str
    status: str
    product_id: int | None
    address: str
    city: str
    region_id: int | None
    rural: bool
    window_start: dt.datetime
    window_end: dt.datetime
    skill: str
    technician_id: int | None
    technician: str
    notes: str
    report: str
    completed_at: dt.datetime | None
    signed_off_by: str
    signed_off_at: dt.datetime | None
    parts: list[PartOut]


class WorkOrderPage(Schema):
    items: list[WorkOrderOut]
    next_cursor: str | None
    prev_cursor: str | None


class WorkOrderStatusIn(Schema):
    action: str = Field(description="start, complete, sign_off or cancel")
    report: str = ""
    parts: list[PartIn] = []
    signed_by: str = ""
    reason: str = ""


class TechnicianIn(Schema):
    technician_id: int | None = Field(None, description="empty: the best free technician for region, skill and "
                                                        "window")


class ScoreRateOut(Schema):
    score: int
    surveys: int
    repurchased: int
    rate: float | None


class RecoveryGroupOut(Schema):
    complaints: int
    customers: int
    resolved: int
    before: float | None
    after: float | None


class RecoveryOut(Schema):
    window: int
    all: RecoveryGroupOut
    answered: int
    satisfied: RecoveryGroupOut
    unsatisfied: RecoveryGroupOut
    satisfied_share: float | None


class SatisfactionOut(Schema):
    sent: int
    answered: int
    response_rate: float | None
    avg_csat: float | None
    csat_share: float | None
    nps: float | None
    avg_simple: float | None
    avg_weighted: float | None
    repurchase_by_csat: list[ScoreRateOut]
    repurchase_by_nps: list[ScoreRateOut]
    top_box_ratio: float | None
    complaint_recovery: RecoveryOut


class SatisfactionRowOut(Schema):
    id: int
    code: str
    label: str
    answered: int
    avg_csat: float | None
    csat_share: float | None
    nps: float | None
    avg_simple: float | None
    avg_weighted: float | None
