"""JSON API for sales: parse, call services and queries, return schemas. No business rules here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Status

from clientwise.commerce.queries import can_view_orders
from clientwise.core import masking
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode, PermissionDenied
from clientwise.core.pagination import keyset_page
from clientwise.customers.queries import visible_customers
from clientwise.sales import queries, services
from clientwise.sales.models import Activity, KeyAccount, Lead, Opportunity, OwnershipTransfer
from clientwise.sales.schemas import (
    ActivityCompleteIn,
    ActivityIn,
    ActivityOut,
    ActivityPage,
    ContactIn,
    CostIn,
    ForecastOut,
    FunnelOut,
    GoalIn,
    KeyAccountIn,
    KeyAccountOut,
    LeadConvertIn,
    LeadImportIn,
    LeadImportOut,
    LeadIn,
    LeadOut,
    LeadPage,
    LeadPatch,
    NoteIn,
    NoteOut,
    OpportunityIn,
    OpportunityMoveIn,
    OpportunityOut,
    OpportunityPage,
    OpportunityPatch,
    PipelineIn,
    PipelineOut,
    QuotaIn,
    QuotaOut,
    RelationshipStageIn,
    StageVisitOut,
    TransferIn,
    TransferOut,
    WalletShareIn,
)

router = Router(tags=["sales"])
MAX_PAGE = 200


def _size(limit: int) -> int:
    if limit < 1 or limit > MAX_PAGE:
        raise DomainError(ErrorCode.INVALID, f"limit must be between 1 and {MAX_PAGE}.", "limit", status=422)
    return limit


def _view(request) -> None:
    if not queries.can_view(request.user):
        raise PermissionDenied()


def lead_out(lead: Lead, user) -> dict:
    pii = perms.can_view_pii(user)
    dup_ids = [d["customer_id"] for d in lead.possible_duplicates or []]
    seen = set(visible_customers(user).filter(pk__in=dup_ids).values_list("pk", flat=True)) if dup_ids else set()
    return {
        "id": lead.pk, "name": lead.name, "company": lead.company,
        "mobile": lead.mobile if pii else masking.mask_phone(lead.mobile),
        "email": lead.email if pii else masking.mask_email(lead.email),
        "province": lead.province, "city": lead.city, "product_line": lead.product_line,
        "estimated_amount": lead.estimated_amount, "message": lead.message, "channel": lead.channel,
        "status": lead.status, "score": lead.score, "score_reasons": lead.score_reasons or [],
        "owner_id": lead.owner_id, "team_id": lead.team_id,
        "likely_existing_customers": [d for d in lead.possible_duplicates or [] if d["customer_id"] in seen],
        "customer_id": lead.customer_id, "opportunity_id": lead.opportunity_id, "converted_at": lead.converted_at,
        "created_at": lead.created_at, "source": lead.source, "external_id": lead.external_id,
    }


def opportunity_out(o: Opportunity) -> dict:
    return {
        "id": o.pk, "name": o.name, "customer_id": o.customer_id, "customer_name": o.customer.name,
        "pipeline_id": o.pipeline_id, "stage_id": o.stage_id, "stage_name": o.stage.name, "status": o.status,
        "owner_id": o.owner_id, "team_id": o.team_id, "amount": o.amount, "weighted_amount": o.weighted_amount,
        "currency": o.currency, "probability": o.probability, "product_lines": o.product_lines or [],
        "expected_close": o.expected_close, "next_step": o.next_step, "next_step_date": o.next_step_date,
        "lost_reason": o.lost_reason, "lost_note": o.lost_note, "stage_entered_at": o.stage_entered_at,
        "closed_at": o.closed_at, "lead_id": o.lead_id, "created_at": o.created_at,
    }


def activity_out(a: Activity) -> dict:
    return {"id": a.pk, "kind": a.kind, "subject": a.subject, "notes": a.notes, "assignee_id": a.assignee_id,
            "customer_id": a.customer_id, "lead_id": a.lead_id, "opportunity_id": a.opportunity_id,
            "due_at": a.due_at, "remind_at": a.remind_at, "done_at": a.done_at, "outcome": a.outcome,
            "follow_up_of_id": a.follow_up_of_id}


def key_account_out(account: KeyAccount, user, figures: dict | None = None) -> dict:
    figures = figures or queries.key_account_figures(user, account)
    orders = can_view_orders(user)
    return {
        "id": account.pk, "customer_id": account.customer_id, "customer_name": account.customer.name,
        "owner_id": account.owner_id, "relationship_stage": account.relationship_stage,
        "stage_since": account.stage_since, "share_of_wallet": figures["share"], "share_trend": figures["trend"],
        "revenue_12m": figures["revenue"] if orders else None, "cost_to_serve_12m": figures["cost_to_serve"],
        "profit_12m": figures["profit"] if orders else None,
        "relationship_history": [{"from": c.from_stage, "to": c.to_stage, "on": c.changed_on, "note": c.note}
                                 for c in account.relationship_changes.all()],
        "wallet": [{"period": w["period"], "our_volume": w["our_volume"], "total_demand": w["total_demand"],
                    "share": w["share"]} for w in figures["wallet"]],
        "goals": [{"id": g.pk, "title": g.title, "target": g.target, "due": g.due, "status": g.status}
                  for g in account.goals.all()],
        "contacts": [{"id": c.pk, "name": c.name, "title": c.title, "role": c.role, "influence": c.influence,
                      "reports_to_id": c.reports_to_id} for c in account.contacts.all()],
    }


# --- Leads -------------------------------------------------------------------------------------------------------------


@router.get("/leads", response=LeadPage)
def list_leads(request, status: str = "", owner_id: int | None = None, min_score: int | None = None,
               cursor: str | None = None, limit: int = 50):
    """Leads you may see, newest first; filter by status, owner and minimum score."""
    _view(request)
    qs = queries.visible_leads(request.user)
    if status:
        qs = qs.filter(status=status)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if min_score is not None:
        qs = qs.filter(score__gte=min_score)
    pg = keyset_page(qs, sort="-id", cursor=cursor, size=_size(limit))
    return {"items": [lead_out(x, request.user) for x in pg.items], "next_cursor": pg.next_cursor,
            "prev_cursor": pg.prev_cursor}


@router.post("/leads", response={201: LeadOut})
def create_lead(request, payload: LeadIn):
    """Create a lead (channel "api"): scored, assigned by the rules, and checked against existing customers."""
    data = payload.dict()
    source, external_id = data.pop("source"), data.pop("external_id")
    lead = services.create_lead(actor=request.user, data=data, channel=Lead.Channel.API, source=source,
                                external_id=external_id)
    return Status(201, lead_out(lead, request.user))


@router.post("/leads/import", response=LeadImportOut)
def import_leads(request, payload: LeadImportIn):
    """Load many leads at once; rows with an external id already loaded from the same source are updated."""
    return services.import_leads(actor=request.user, rows=payload.rows, source=payload.source)


@router.get("/leads/{lead_id}", response=LeadOut)
def get_lead(request, lead_id: int):
    _view(request)
    return lead_out(queries.get_lead_for(request.user, lead_id), request.user)


@router.patch("/leads/{lead_id}", response=LeadOut)
def update_lead(request, lead_id: int, payload: LeadPatch):
    lead = services.update_lead(actor=request.user, lead_id=lead_id, data=payload.dict(exclude_unset=True))
    return lead_out(lead, request.user)


@router.post("/leads/{lead_id}/convert", response=LeadOut)
def convert_lead(request, lead_id: int, payload: LeadConvertIn):
    """Convert to a customer (new, or `customer_id`) and an opportunity in one step; history moves along."""
    draft = payload.opportunity.dict() if payload.opportunity else {}
    lead = services.convert_lead(actor=request.user, lead_id=lead_id, customer_id=payload.customer_id,
                                 create_opportunity=payload.create_opportunity,
                                 opportunity={k: v for k, v in draft.items() if v not in (None, "", [])})
    return lead_out(lead, request.user)


# --- Pipelines and opportunities ---------------------------------------------------------------------------------------


def pipeline_out(p) -> dict:
    return {"id": p.pk, "name": p.name, "is_default": p.is_default,
            "stages": [{"id": s.pk, "name": s.name, "position": s.position, "probability": s.probability,
                        "kind": s.kind} for s in p.stages.all()]}


@router.get("/pipelines", response=list[PipelineOut])
def list_pipelines(request):
    _view(request)
    return [pipeline_out(p) for p in queries.pipelines()]


@router.post("/pipelines", response={201: PipelineOut})
def create_pipeline(request, payload: PipelineIn):
    p = services.create_pipeline(actor=request.user, name=payload.name, stages=[s.dict() for s in payload.stages])
    return Status(201, pipeline_out(p))


@router.patch("/pipelines/{pipeline_id}", response=PipelineOut)
def update_pipeline(request, pipeline_id: int, payload: PipelineIn):
    """Rename the pipeline and edit its stages: every stage it keeps is listed with its `id` (open stages in their
    new order), new stages without one; stages left out are removed (refused while they hold or held deals)."""
    p = services.update_pipeline(actor=request.user, pipeline_id=pipeline_id, name=payload.name,
                                 stages=[s.dict() for s in payload.stages])
    return pipeline_out(p)


@router.get("/opportunities", response=OpportunityPage)
def list_opportunities(request, q: str = "", pipeline_id: int | None = None, stage_id: int | None = None,
                       owner_id: int | None = None, status: str = "", customer_id: int | None = None,
                       min_amount: Decimal | None = None, max_amount: Decimal | None = None,
                       close_from: dt.date | None = None, close_to: dt.date | None = None,
                       cursor: str | None = None, limit: int = 50):
    """Opportunities you may see (their customer is visible to you), newest first."""
    _view(request)
    f = queries.OpportunityFilters(q=q, pipeline=pipeline_id, stage=stage_id, owner=owner_id, status=status,
                                   customer=customer_id, min_amount=min_amount, max_amount=max_amount,
                                   close_from=close_from, close_to=close_to)
    pg = keyset_page(queries.opportunity_list(request.user, f), sort="-id", cursor=cursor, size=_size(limit))
    return {"items": [opportunity_out(o) for o in pg.items], "next_cursor": pg.next_cursor,
            "prev_cursor": pg.prev_cursor}


@router.post("/opportunities", response={201: OpportunityOut})
def create_opportunity(request, payload: OpportunityIn):
    opp = services.create_opportunity(actor=request.user, data=payload.dict())
    return Status(201, opportunity_out(queries.get_opportunity_for(request.user, opp.pk)))


@router.get("/opportunities/{opportunity_id}", response=OpportunityOut)
def get_opportunity(request, opportunity_id: int):
    _view(request)
    return opportunity_out(queries.get_opportunity_for(request.user, opportunity_id))


@router.patch("/opportunities/{opportunity_id}", response=OpportunityOut)
def update_opportunity(request, opportunity_id: int, payload: OpportunityPatch):
    services.update_opportunity(actor=request.user, opportunity_id=opportunity_id,
                                data=payload.dict(exclude_unset=True))
    return opportunity_out(queries.get_opportunity_for(request.user, opportunity_id))


@router.post("/opportunities/{opportunity_id}/move", response=OpportunityOut)
def move_opportunity(request, opportunity_id: int, payload: OpportunityMoveIn):
    """Move to another stage of the pipeline (won and lost are stages too; lost needs `lost_reason`)."""
    services.move_opportunity(actor=request.user, opportunity_id=opportunity_id, stage_id=payload.stage_id,
                              lost_reason=payload.lost_reason, lost_note=payload.lost_note)
    return opportunity_out(queries.get_opportunity_for(request.user, opportunity_id))


@router.get("/opportunities/{opportunity_id}/history", response=list[StageVisitOut])
def opportunity_history(request, opportunity_id: int):
    """Each stay in a stage with when it began and ended and its length in days (the current one: until now)."""
    _view(request)
    opp = queries.get_opportunity_for(request.user, opportunity_id)
    return [{"stage_id": r["stage"].pk, "stage_name": r["stage"].name,
             "from_stage_id": r["from_stage"].pk if r["from_stage"] else None, "entered_at": r["entered_at"],
             "left_at": r["left_at"], "days": r["days"], "actor_id": r["visit"].actor_id}
            for r in queries.stage_history(opp)]


# --- Activities and notes ----------------------------------------------------------------------------------------------


@router.get("/activities", response=ActivityPage)
def list_activities(request, assignee_id: int | None = None, customer_id: int | None = None,
                    open: bool | None = None, cursor: str | None = None, limit: int = 50):
    _view(request)
    qs = queries.visible_activities(request.user)
    if assignee_id:
        qs = qs.filter(assignee_id=assignee_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if open is not None:
        qs = qs.filter(done_at__isnull=open)
    pg = keyset_page(qs, sort="-id", cursor=cursor, size=_size(limit))
    return {"items": [activity_out(a) for a in pg.items], "next_cursor": pg.next_cursor,
            "prev_cursor": pg.prev_cursor}


@router.post("/activities", response={201: ActivityOut})
def create_activity(request, payload: ActivityIn):
    """A task or meeting (due date, reminder), or a call logged with its outcome; `follow_up_at` plans the next."""
    return Status(201, activity_out(services.create_activity(actor=request.user, data=payload.dict())))


@router.post("/activities/{activity_id}/complete", response=ActivityOut)
def complete_activity(request, activity_id: int, payload: ActivityCompleteIn):
    act = services.complete_activity(actor=request.user, activity_id=activity_id, outcome=payload.outcome,
                                     notes=payload.notes, follow_up_at=payload.follow_up_at)
    return activity_out(act)


@router.post("/notes", response={201: NoteOut})
def add_note(request, payload: NoteIn):
    """A shared note; @username mentions colleagues who may see the record."""
    note = services.add_note(actor=request.user, body=payload.body, customer_id=payload.customer_id,
                             lead_id=payload.lead_id, opportunity_id=payload.opportunity_id)
    return Status(201, {"id": note.pk, "body": note.body, "author_id": note.author_id,
                        "customer_id": note.customer_id, "lead_id": note.lead_id,
                        "opportunity_id": note.opportunity_id, "created_at": note.created_at,
                        "mentions": [m.username for m in note.mentions.all()]})


# --- Ownership transfer, quotas, forecast, funnel ------------------------------------------------------------------------


@router.post("/ownership-transfers", response={201: TransferOut})
def transfer(request, payload: TransferIn):
    """Hand all of a colleague's customers, leads, opportunities, key accounts and open tasks to others."""
    t: OwnershipTransfer = services.transfer_ownership(actor=request.user, from_user_id=payload.from_user_id,
                                                       to_user_ids=payload.to_user_ids, reason=payload.reason)
    return Status(201, {"id": t.pk, "from_user_id": t.from_user_id, "to_user_ids": t.to_user_ids,
                        "counts": t.counts, "moved": t.moved, "at": t.at})


@router.post("/quotas", response={201: QuotaOut})
def set_quota(request, payload: QuotaIn):
    q = services.set_quota(actor=request.user, user_id=payload.user_id, month=payload.month, amount=payload.amount)
    return Status(201, {"id": q.pk, "user_id": q.user_id, "month": q.month, "amount": q.amount})


@router.get("/forecast", response=ForecastOut)
def forecast(request, start: dt.date | None = None, months: int = Query(6, ge=1, le=24),
             owner_id: int | None = None, team_id: int | None = None):
    """Weighted pipeline (amount × probability of open opportunities by expected close month), won amount,
    quota and attainment — by month, rep and team, over the opportunities you may see."""
    _view(request)
    return queries.forecast(request.user, start=start, months=months, owner=owner_id, team=team_id)


@router.get("/funnel", response=FunnelOut)
def funnel(request, pipeline_id: int | None = None, since: dt.date | None = None, owner_id: int | None = None):
    """Stage-to-stage conversion, average days per stage, win rate and lost reasons of a pipeline."""
    _view(request)
    data = queries.funnel(request.user, queries.get_pipeline(pipeline_id), since=since, owner=owner_id)
    return {"pipeline_id": data["pipeline"].pk, "open": data["open"], "won": data["won"], "lost": data["lost"],
            "win_rate": data["win_rate"], "lost_reasons": data["lost_reasons"],
            "stages": [{"stage_id": r["stage"].pk, "stage_name": r["stage"].name, "reached": r["reached"],
                        "conversion_to_next": r["conversion"], "avg_days": r["avg_days"]} for r in data["stages"]]}


# --- Key accounts --------------------------------------------------------------------------------------------------------


@router.get("/key-accounts", response=list[KeyAccountOut])
def list_key_accounts(request, limit: int = 50):
    _view(request)
    qs = queries.visible_key_accounts(request.user).select_related("customer").order_by("customer__name", "id") \
        .prefetch_related("relationship_changes", "goals", "contacts")
    accounts = list(qs[:_size(limit)])
    figures = queries.key_accounts_figures(request.user, accounts)
    return [key_account_out(a, request.user, figures[a.pk]) for a in accounts]


@router.post("/key-accounts", response={201: KeyAccountOut})
def create_key_account(request, payload: KeyAccountIn):
    account = services.create_key_account(actor=request.user, customer_id=payload.customer_id,
                                          owner_id=payload.owner_id, relationship_stage=payload.relationship_stage)
    return Status(201, key_account_out(queries.get_key_account_for(request.user, account.pk), request.user))


@router.get("/key-accounts/{account_id}", response=KeyAccountOut)
def get_key_account(request, account_id: int):
    _view(request)
    return key_account_out(queries.get_key_account_for(request.user, account_id), request.user)


@router.post("/key-accounts/{account_id}/stage", response=KeyAccountOut)
def change_stage(request, account_id: int, payload: RelationshipStageIn):
    services.change_relationship_stage(actor=request.user, account_id=account_id, stage=payload.stage,
                                       note=payload.note, on=payload.on)
    return key_account_out(queries.get_key_account_for(request.user, account_id), request.user)


@router.post("/key-accounts/{account_id}/wallet", response=KeyAccountOut)
def wallet_share(request, account_id: int, payload: WalletShareIn):
    services.record_wallet_share(actor=request.user, account_id=account_id, period=payload.period,
                                 our_volume=payload.our_volume, total_demand=payload.total_demand,
                                 source=payload.source, external_id=payload.external_id)
    return key_account_out(queries.get_key_account_for(request.user, account_id), request.user)


@router.post("/key-accounts/{account_id}/costs", response=KeyAccountOut)
def cost_to_serve(request, account_id: int, payload: CostIn):
    services.add_cost_to_serve(actor=request.user, account_id=account_id, period=payload.period,
                               category=payload.category, amount=payload.amount)
    return key_account_out(queries.get_key_account_for(request.user, account_id), request.user)


@router.post("/key-accounts/{account_id}/goals", response=KeyAccountOut)
def add_goal(request, account_id: int, payload: GoalIn):
    services.add_account_goal(actor=request.user, account_id=account_id, data=payload.dict())
    return key_account_out(queries.get_key_account_for(request.user, account_id), request.user)


@router.post("/key-accounts/{account_id}/contacts", response=KeyAccountOut)
def add_contact(request, account_id: int, payload: ContactIn):
    services.add_account_contact(actor=request.user, account_id=account_id, data=payload.dict())
    return key_account_out(queries.get_key_account_for(request.user, account_id), request.user)
