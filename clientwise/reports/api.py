"""JSON API for reports: parse, call services and queries, return schemas. No business rules here.

    POST /reports/run           run a spec → rows × columns      GET  /reports/semantic  measures and dimensions
    POST /reports/drill         the lines behind one cell       POST /reports/export    XLSX or CSV (audited)
    GET  /reports               saved reports the user may open  POST /reports           save (and share)
    GET|PATCH|DELETE /reports/{id}                               POST /reports/{id}/run  run a saved report
    GET|POST /reports/schedules, DELETE /reports/schedules/{id}  e-mail schedules
"""

from __future__ import annotations

from ninja import Router, Status

from clientwise.core import masking
from clientwise.core import permissions as perms
from clientwise.core.pagination import keyset_page
from clientwise.dataio.exports import as_response
from clientwise.reports import queries, runner, services
from clientwise.reports.dashboards import display_name
from clientwise.reports.models import ReportSchedule
from clientwise.reports.perms import USE_REPORTS
from clientwise.reports.schemas import (
    DrillIn,
    DrillOut,
    ExportIn,
    PivotResultOut,
    ReportIn,
    ReportOut,
    ReportPage,
    ReportPatch,
    ScheduleIn,
    ScheduleOut,
)
from clientwise.reports.spec import PivotSpec

router = Router(tags=["reports"])


def _user(request):
    perms.require(request.auth, USE_REPORTS)
    return request.auth


def _report_out(r) -> dict:
    return {"id": r.pk, "name": display_name(r), "description": r.description, "spec": r.spec, "chart": r.chart,
            "owner_id": r.owner_id, "shared_roles": r.shared_roles, "system": bool(r.system_key),
            "created_at": r.created_at, "updated_at": r.updated_at}


@router.get("/reports/semantic", summary="Measures and dimensions the user may use")
def semantic_catalog(request, fact: str | None = None):
    return services.semantic_catalog(_user(request), fact)


@router.post("/reports/run", response=PivotResultOut, summary="Run a report spec")
def run(request, spec: PivotSpec):
    """Compile the spec (scoped to the customers the caller may see, PII masked without view_pii) and run it on
    the analytics snapshot or the operational database; `snapshot_at` says how fresh the data is."""
    return runner.run_pivot(actor=_user(request), spec=spec).as_dict()


@router.post("/reports/drill", response=DrillOut, summary="The order lines (or customers) behind one cell")
def drill(request, data: DrillIn):
    """One page (`page`, `limit` rows) of what is behind a cell, newest first, among what you may see: for the sales
    fact the order lines, each with its own quantity and amount (and its order's number, date, store, customer),
    for other facts the customers; `total` counts them all, `total_amount` sums the lines' amounts. Mobiles are
    masked without view_pii."""
    user = _user(request)
    result = services.drill(actor=user, spec=data.spec, row=data.row, column=data.column, page=data.page,
                            size=data.limit)
    pii = perms.can_view_pii(user)
    if result.kind == "lines":
        items = [{"id": line.pk, "order_id": line.order_id, "number": line.order.number,
                  "ordered_at": line.order.ordered_at.isoformat(), "customer_id": line.order.customer_id,
                  "customer": line.order.customer.name,
                  "customer_mobile": line.order.customer.mobile if pii else masking.mask_phone(line.order.customer.mobile),
                  "store": line.order.store.name if line.order.store_id else "",
                  "channel": line.order.channel.name if line.order.channel_id else "",
                  "product_id": line.product_id, "sku": line.product.sku, "product": line.product.name,
                  "quantity": str(line.quantity), "amount": str(line.amount), "currency": line.order.currency}
                 for line in result.items]
    else:
        items = [{"id": c.pk, "name": c.name, "city": c.city, "status": c.status,
                  "mobile": c.mobile if pii else masking.mask_phone(c.mobile)} for c in result.items]
    return {"kind": result.kind, "items": items, "filters": result.filters, "page": result.page,
            "limit": result.size, "total": result.total, "pages": result.pages, "total_amount": result.total_amount}


@router.post("/reports/export", summary="Export a report as XLSX or CSV (audited)")
def export(request, data: ExportIn):
    user = _user(request)
    report = queries.get_report_for(user, data.report_id) if data.report_id else None
    return as_response(services.export_report(actor=user, spec=data.spec, fmt=data.format, report=report))


@router.get("/reports/schedules", response=list[ScheduleOut], summary="Your report e-mail schedules")
def schedules(request):
    user = _user(request)
    return list(ReportSchedule.objects.filter(owner=user).order_by("next_run_at", "id"))


@router.post("/reports/schedules", response={201: ScheduleOut}, summary="E-mail a saved report on a schedule")
def create_schedule(request, data: ScheduleIn):
    s = services.create_schedule(actor=_user(request), report_id=data.report_id, recipients=data.recipients,
                                 frequency=data.frequency, fmt=data.format, hour=data.hour)
    return Status(201, s)


@router.delete("/reports/schedules/{int:schedule_id}", response={204: None}, summary="Stop a schedule")
def delete_schedule(request, schedule_id: int):
    services.delete_schedule(actor=_user(request), schedule_id=schedule_id)
    return Status(204, None)


@router.get("/reports", response=ReportPage, summary="Saved reports you may open")
def list_reports(request, cursor: str | None = None, size: int = 50):
    page = keyset_page(queries.visible_reports(_user(request)), sort="name", cursor=cursor, size=max(1, min(size, 200)))
    return {"items": [_report_out(r) for r in page.items], "next_cursor": page.next_cursor}


@router.post("/reports", response={201: ReportOut}, summary="Save a report")
def save(request, data: ReportIn):
    r = services.save_report(actor=_user(request), name=data.name, description=data.description, spec=data.spec,
                             chart=data.chart, shared_roles=data.shared_roles)
    return Status(201, _report_out(r))


@router.get("/reports/{int:report_id}", response=ReportOut, summary="One saved report")
def get_report(request, report_id: int):
    return _report_out(queries.get_report_for(_user(request), report_id))


@router.patch("/reports/{int:report_id}", response=ReportOut, summary="Change a saved report")
def patch_report(request, report_id: int, data: ReportPatch):
    changes = data.model_dump(exclude_unset=True)
    if data.spec is not None:
        changes["spec"] = data.spec
    return _report_out(services.update_report(actor=_user(request), report_id=report_id, **changes))


@router.delete("/reports/{int:report_id}", response={204: None}, summary="Delete a saved report")
def delete_report(request, report_id: int):
    services.delete_report(actor=_user(request), report_id=report_id)
    return Status(204, None)


@router.post("/reports/{int:report_id}/run", response=PivotResultOut, summary="Run a saved report")
def run_saved(request, report_id: int):
    user = _user(request)
    report = queries.get_report_for(user, report_id)
    return runner.run_pivot(actor=user, spec=report.spec).as_dict()
