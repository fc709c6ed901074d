"""JSON API for customer analytics: parse, call dashboards (reads), return schemas. No business rules here.

A customer's scores follow the customer's visibility (customers.view; a customer the user may not see is a
404), as on the customer page. Ranked lists and model runs need the analytics.view right (403 without it), and
the lists only hold customers the user may see.
"""

from __future__ import annotations

from ninja import Query, Router

from clientwise.analytics import dashboards
from clientwise.analytics.schemas import (
    CustomerScoresOut,
    ModelRunOut,
    ModelRunPage,
    RankedCustomerPage,
    ScoreListParams,
)
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode, NotFound, PermissionDenied
from clientwise.customers.queries import get_customer_for

router = Router(tags=["analytics"])


def _analyst(request):
    user = request.auth
    if not dashboards.can_view(user):
        raise PermissionDenied()
    return user


def _reasons(reasons) -> list[dict]:
    return [{"feature": r.feature, "text": r.text, "contribution": r.contribution} for r in reasons]


@router.get("/customers/{int:customer_id}/scores", response=CustomerScoresOut, summary="A customer's scores")
def customer_scores(request, customer_id: int):
    """Value tier, CLV, P(alive), churn risk with its top reasons, RFM, next purchase (overall and per category),
    recommendations and the next best action, from the current scoring batch. 404 when the customer is not
    visible or has no scores yet."""
    user = request.auth
    perms.require(user, perms.VIEW_CUSTOMERS)
    customer = get_customer_for(user, customer_id)
    card = dashboards.customer_score(customer.pk)
    if card is None:
        raise NotFound("This customer has no scores yet.")
    return {
        "customer_id": card.customer_id, "batch_id": card.batch_id, "as_of": card.as_of,
        "value_tier": card.value_tier, "clv": card.clv,
        "immediate_value": card.immediate_value if perms.has_perm(user, perms.VIEW_COSTS) else None,
        "potential_value": card.potential_value, "share_of_wallet": card.share_of_wallet,
        "p_alive": card.p_alive, "p_alive_reading": card.reading.alive,
        "expected_purchases": card.expected_purchases, "horizon_days": card.horizon_days,
        "churn_probability": card.churn_probability, "value_at_risk": card.value_at_risk, "risk": card.risk,
        "churn_reasons": _reasons(card.reasons),
        "rfm_r": card.rfm_r, "rfm_f": card.rfm_f, "rfm_m": card.rfm_m, "rfm_segment": card.rfm_segment,
        "next_purchase_on": card.next_purchase_on,
        "next_purchase_categories": [{"category": c.code, "name": c.name, "date": c.date}
                                     for c in card.next_purchase_categories],
        "recommendations": [r.__dict__ for r in card.recommendations],
        "next_action": card.action.code, "next_action_reason": card.reading.action_reason,
    }


def _ranked(request, params: ScoreListParams, ranking: str) -> dict:
    user = _analyst(request)
    batch = dashboards.current_batch()
    page = dashboards.ranked_page(user, params.to_filters(), ranking=ranking, cursor=params.cursor,
                                  size=params.size)
    items = []
    for row in page.items:
        customer = row.customer
        items.append({
            "customer_id": row.customer_id, "name": customer.name, "owner_id": customer.owner_id,
            "owner": str(customer.owner) if customer.owner_id else "", "team_id": customer.team_id,
            "value_tier": row.value_tier, "rfm_segment": row.rfm_segment, "clv": row.clv, "p_alive": row.p_alive,
            "churn_probability": row.churn_probability, "value_at_risk": row.value_at_risk,
            "churn_reasons": _reasons(row.reasons),
            "next_purchase_on": row.next_purchase_on, "next_action": row.action.code,
            "next_action_reason": row.reading.action_reason,
        })
    return {"as_of": batch.as_of if batch else None, "items": items, "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor}


@router.get("/analytics/churn-risk", response=RankedCustomerPage, summary="Customers most worth saving from churn")
def churn_risk(request, params: Query[ScoreListParams]):
    """Visible customers of the current batch, highest value at risk (churn probability × CLV) first, with their
    top reasons (every one shown with a risk of 25 % or more has at least one).
    Filter by value `tier`, RFM `segment`, `owner`, `team` (and the teams below it), `min_probability`."""
    return _ranked(request, params, "churn")


@router.get("/analytics/top-clv", response=RankedCustomerPage, summary="Customers with the highest lifetime value")
def top_clv(request, params: Query[ScoreListParams]):
    """Visible customers of the current batch, highest predicted CLV first; the same filters as churn-risk."""
    return _ranked(request, params, "clv")


def _run_out(run, current_id: int | None) -> dict:
    return {**{f: getattr(run, f) for f in ("id", "batch_id", "model", "version", "engine", "status", "as_of",
                                            "started_at", "finished_at", "seconds", "rows_in", "rows_out",
                                            "parameters", "metrics", "error")},
            "is_current": run.batch_id == current_id}


@router.get("/analytics/model-runs", response=ModelRunPage, summary="List model runs with their metrics")
def list_model_runs(request, model: str | None = None, cursor: str | None = None, size: int = 25):
    """Every model fitted or applied by a scoring batch, newest first: parameters and validation metrics
    (holdout predicted vs actual, AUC beside the recency-only baseline, lift, calibration; docs/analytics-ui.md).
    `model` is one of rfm, bgnbd, gamma_gamma, clv, churn, next_purchase, recommend, value."""
    _analyst(request)
    if model and model not in dashboards.MODEL_LABELS:
        raise DomainError(ErrorCode.INVALID, "Unknown model.", "model")
    if not 1 <= size <= 200:
        raise DomainError(ErrorCode.INVALID, "size must be between 1 and 200.", "size")
    page = dashboards.run_page(model=model or None, cursor=cursor, size=size)
    batch = dashboards.current_batch()
    current_id = batch.pk if batch else None
    return {"items": [_run_out(r, current_id) for r in page.items], "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor}


@router.get("/analytics/model-runs/{int:run_id}", response=ModelRunOut, summary="Get a model run")
def get_model_run(request, run_id: int):
    _analyst(request)
    run = dashboards.get_model_run(run_id)
    batch = dashboards.current_batch()
    return _run_out(run, batch.pk if batch else None)
