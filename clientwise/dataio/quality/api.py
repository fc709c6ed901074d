"""JSON API for quality: parse, call queries/services, return schemas. No business rules here."""

from __future__ import annotations

from ninja import Router
from ninja.responses import Status

from clientwise.core.errors import NotFound, PermissionDenied
from clientwise.customers.queries import get_customer_for
from clientwise.dataio.quality import queries, services
from clientwise.dataio.quality.models import QualityRun
from clientwise.dataio.quality.schemas import (
    CustomerQualityOut,
    CustomerQualityPage,
    QualityRunIn,
    QualityRunQueuedOut,
    QualitySummaryOut,
)

router = Router(tags=["quality"])


def _require_view(user) -> None:
    if not queries.can_view(user):
        raise PermissionDenied()


@router.get("/quality/summary", response=QualitySummaryOut, summary="Data-quality summary")
def quality_summary(request):
    """Counts by problem, averages and score distributions over the customers you may see."""
    _require_view(request.user)
    summary = queries.summary(request.user)
    dist = queries.distribution(request.user)
    return {**summary, "run": queries.last_finished_run(), "completeness_bands": dist["completeness"],
            "validity_bands": dist["validity"]}


def _out(row, name: str = "") -> dict:
    return {"customer_id": row.customer_id, "name": name, "completeness": row.completeness,
            "validity": row.validity, "filled": row.filled, "fields": row.fields, "passed": row.passed,
            "checks": row.checks, "problems": [k for k, _label in queries.problems_of(row)],
            "computed_at": row.computed_at}


@router.get("/quality/customers", response=CustomerQualityPage, summary="Customers with a data-quality problem")
def quality_customers(request, problem: str = "", score: str = "", band: int | None = None,
                      cursor: str | None = None, limit: int = 50):
    """Visible customers with `problem` (incomplete, stale, no_contact, invalid_phone, invalid_email,
    bounced_email, missing_consent, no_owner, bad_birth_date) and/or a `score` (completeness|validity) `band`
    (0–9), least complete first."""
    _require_view(request.user)
    f = queries.parse_filter(problem, score, band, strict=True)
    page = queries.affected_page(request.user, f, cursor=cursor, size=max(1, min(limit, 200)))
    return {"items": [_out(row, row.customer.name) for row in page.items], "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor}


@router.get("/customers/{customer_id}/quality", response=CustomerQualityOut, summary="A customer's data quality")
def customer_quality(request, customer_id: int):
    """404 when the customer is not visible or has not been scored yet."""
    _require_view(request.user)
    customer = get_customer_for(request.user, customer_id)
    row = queries.scoped(request.user).filter(customer_id=customer.pk).first()
    if row is None:
        raise NotFound("This customer has not been scored yet.")
    return _out(row, customer.name)


@router.post("/quality/runs", response={202: QualityRunQueuedOut}, summary="Recompute data quality")
def start_run(request, payload: QualityRunIn):
    """Queue a recomputation of every customer's quality (administrators only)."""
    result = services.request_run(actor=request.user, stale_months=payload.stale_months)
    run = None
    if result.status == "SUCCESSFUL":
        run = QualityRun.objects.filter(pk=result.return_value).first()
    return Status(202, {"task_id": str(result.id), "status": str(result.status), "run": run})
