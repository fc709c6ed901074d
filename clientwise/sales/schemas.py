"""API schemas of sales: NounIn for creation, NounPatch for changes, NounOut for answers, NounPage for lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema


class LeadIn(Schema):
    name: str = ""
    company: str = ""
    mobile: str = ""
    email: str = ""
    province: str = ""
    city: str = ""
    product_line: str = ""
    estimated_amount: Decimal | None = None
    message: str = ""
    owner_id: int | None = None
    source: str = ""
    external_id: str | None = None


class LeadPatch(Schema):
    name: str | None = None
    company: str | None = None
    mobile: str | None = None
    email: str | None = None
    province: str | None = None
    city: str | None = None
    product_line: str | None = None
    estimated_amount: Decimal | None = None
    message: str | None = None
    owner_id: int | None = None
    status: str | None = Field(None, description="new, working or disqualified")
    disqualified_reason: str | None = None


class LikelyCustomerOut(Schema):
    customer_id: int
    name: str
    reasons: list[str]


class LeadOut(Schema):
    id: int
    name: str
    company: str
    mobile: str = Field(description="masked without the view_pii right")
    email: str = Field(description="masked without the view_pii right")
    province: str
    city: str
    product_line: str
    estimated_amount: Decimal | None
    message: str
    channel: str
    status: str
    score: int
    score_reasons: list[dict]
    owner_id: int | None
    team_id: int | None
    likely_existing_customers: list[LikelyCustomerOut] = Field(
        description="Existing customers (that you may see) with the same mobile, email or name: check before "
                    "converting")
    customer_id: int | None
    opportunity_id: int | None
    converted_at: dt.datetime | None
    created_at: dt.datetime
    source: str
    external_id: str | None


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None
    prev_cursor: str | None


class LeadImportIn(Schema):
    source: str = "api"
    rows: list[dict] = Field(description="Each row has LeadIn's fields; `external_id` makes a re-import update")


class LeadImportRejected(Schema):
    row: int
    errors: list[dict]


class LeadImportOut(Schema):
    created: int
    updated: int
    rejected: list[LeadImportRejected]


class OpportunityDraft(Schema):
    name: str = ""
    amount: Decimal | None = None
    expected_close: dt.date | None = None
    product_lines: list[str] = []
    pipeline_id: int | None = None


class LeadConvertIn(Schema):
    customer_id: int | None = Field(None, description="an existing customer instead of a new one")
    create_opportunity: bool = True
    opportunity: OpportunityDraft | None = None


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    kind: str


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    stages: list[StageOut]


class StageIn(Schema):
    id: int | None = Field(None, description="An existing stage (when editing a pipeline); none for a new stage")
    name: str
    probability: int = 0
    kind: str = "open"


class PipelineIn(Schema):
    name: str
    stages: list[StageIn]


class OpportunityIn(Schema):
    customer_id: int
    name: str
    amount: Decimal
    expected_close: dt.date
    pipeline_id: int | None = None
    stage_id: int | None = None
    probability: int | None = None
    product_lines: list[str] = []
    next_step: str = ""
    next_step_date: dt.date | None = None
    owner_id: int | None = None
    source: str = ""
    external_id: str | None = None


class OpportunityPatch(Schema):
    name: str | None = None
    amount: Decimal | None = None
    expected_close: dt.date | None = None
    probability: int | None = None
    product_lines: list[str] | None = None
    next_step: str | None = None
    next_step_date: dt.date | None = None
    owner_id: int | None = None


class OpportunityMoveIn(Schema):
    stage_id: int
    lost_reason: str = Field("", description="required when the stage is the lost stage")
    lost_note: str = ""


class OpportunityOut(Schema):
    id: int
    name: str
    customer_id: int
    customer_name: str
    pipeline_id: int
    stage_id: int
    stage_name: str
    status: str
    owner_id: int | None
    team_id: int | None
    amount: Decimal
    weighted_amount: Decimal
    currency: str
    probability: int
    product_lines: list[str]
    expected_close: dt.date
    next_step: str
    next_step_date: dt.date | None
    lost_reason: str
    lost_note: str
    stage_entered_at: dt.datetime
    closed_at: dt.datetime | None
    lead_id: int | None
    created_at: dt.datetime


class OpportunityPage(Schema):
    items: list[OpportunityOut]
    next_cursor: str | None
    prev_cursor: str | None


class StageVisitOut(Schema):
    stage_id: int
    stage_name: str
    from_stage_id: int | None
    entered_at: dt.datetime
    left_at: dt.datetime | None
    days: float
    actor_id: int | None


class ActivityIn(Schema):
    kind: str = Field("task", description="call, meeting or task")
    subject: str
    notes: str = ""
    due_at: dt.datetime | None = None
    remind_at: dt.datetime | None = None
    outcome: str = Field("", description="a logged call's outcome (the call is done at once)")
    follow_up_at: dt.datetime | None = None
    assignee_id: int | None = None
    customer_id: int | None = None
    lead_id: int | None = None
    opportunity_id: int | None = None


class ActivityCompleteIn(Schema):
    outcome: str = ""
    notes: str = ""
    follow_up_at: dt.datetime | None = None


class ActivityOut(Schema):
    id: int
    kind: str
    subject: str
    notes: str
    assignee_id: int | None
    customer_id: int | None
    lead_id: int | None
    opportunity_id: int | None
    due_at: dt.datetime | None
    remind_at: dt.datetime | None
    done_at: dt.datetime | None
    outcome: str
    follow_up_of_id: int | None


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None
    prev_cursor: str | None


class NoteIn(Schema):
    body: str
    customer_id: int | None = None
    lead_id: int | None = None
    opportunity_id: int | None = None


class NoteOut(Schema):
    id: int
    body: str
    author_id: int | None
    customer_id: int | None
    lead_id: int | None
    opportunity_id: int | None
    mentions: list[str]
    created_at: dt.datetime


class TransferIn(Schema):
    from_user_id: int
    to_user_ids: list[int]
    reason: str = ""


class TransferOut(Schema):
    id: int
    from_user_id: int | None
    to_user_ids: list[int]
    counts: dict
    moved: dict
    at: dt.datetime


class QuotaIn(Schema):
    user_id: int
    month: dt.date
    amount: Decimal


class QuotaOut(Schema):
    id: int
    user_id: int
    month: dt.date
    amount: Decimal


class ForecastRow(Schema):
    key: str | int | None
    label: str
    pipeline: Decimal
    weighted: Decimal
    won: Decimal
    quota: Decimal
    attainment: float | None
    open_count: int
    won_count: int


class ForecastOut(Schema):
    start: dt.date
    by_month: list[ForecastRow]
    by_owner: list[ForecastRow]
    by_team: list[ForecastRow]
    total: ForecastRow


class FunnelStageOut(Schema):
    stage_id: int
    stage_name: str
    reached: int
    conversion_to_next: float | None
    avg_days: float | None


class FunnelOut(Schema):
    pipeline_id: int
    stages: list[FunnelStageOut]
    open: int
    won: int
    lost: int
    win_rate: float | None
    lost_reasons: list[dict]


class KeyAccountIn(Schema):
    customer_id: int
    owner_id: int | None = None
    relationship_stage: str = "vendor"


class RelationshipStageIn(Schema):
    stage: str
    note: str = ""
    on: dt.date | None = None


class WalletShareIn(Schema):
    period: dt.date
    our_volume: Decimal
    total_demand: Decimal
    source: str = ""
    external_id: str | None = None


class CostIn(Schema):
    period: dt.date
    category: str
    amount: Decimal


class GoalIn(Schema):
    title: str
    target: Decimal | None = None
    due: dt.date | None = None
    plan_note: str = ""


class ContactIn(Schema):
    name: str
    title: str = ""
    role: str
    influence: str = "medium"
    reports_to_id: int | None = None
    contact_id: int | None = None


class KeyAccountOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    owner_id: int | None
    relationship_stage: str
    stage_since: dt.date
    share_of_wallet: float | None
    share_trend: float | None
    revenue_12m: Decimal | None
    cost_to_serve_12m: Decimal
    profit_12m: Decimal | None
    relationship_history: list[dict]
    wallet: list[dict]
    goals: list[dict]
    contacts: list[dict]
