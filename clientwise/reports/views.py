"""Report pages: the builder, saved reports, dashboards, and the partials the builder fetches. Thin: services and
the runner do the work; a DomainError becomes a message in the partial (4xx), never a 500."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse, RawPostDataException
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clientwise.core import permissions as perms
from clientwise.core.decorators import perm_required
from clientwise.core.errors import DomainError, ErrorCode, NotFound
from clientwise.dataio.exports import as_response
from clientwise.reports import dashboards, display, queries, runner, services
from clientwise.reports.models import Report, ReportSchedule
from clientwise.reports.perms import SHARE_REPORTS, USE_REPORTS

DEFAULT_SPEC = {"kind": "pivot", "version": 1, "fact": "sales", "measures": ["revenue", "buyers"],
                "rows": ["region"], "columns": [], "last_days": 365, "totals": True}


def _json_body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RawPostDataException):  # not JSON (a form post's body is read already)
        data = None
    if not isinstance(data, dict):
        raise DomainError(ErrorCode.INVALID, _("The request is not valid JSON."), "spec")
    return data


def _error(request, exc: DomainError) -> HttpResponse:
    status = exc.status if 400 <= exc.status < 500 else 400
    return render(request, "reports/_error.html", {"error": exc}, status=status)


def _builder_context(request, *, report: Report | None, spec: dict) -> dict:
    user = request.user
    return {
        "report": report, "report_name": dashboards.display_name(report) if report else "",
        "spec": spec, "catalog": services.semantic_catalog(user),
        "saved": [{"pk": r.pk, "name": dashboards.display_name(r)}
                  for r in queries.visible_reports(user).order_by("name", "id")[:200]],
        "can_share": perms.has_perm(user, SHARE_REPORTS), "can_export": perms.has_perm(user, perms.EXPORT),
        "roles": perms.ROLE_CHOICES, "charts": Report.Chart.choices,
        "can_edit": report is None or report.owner_id == user.pk or perms.user_role(user) is perms.Role.ADMIN,
        "schedules": list(ReportSchedule.objects.filter(report=report, owner=user)) if report else [],
        "frequencies": ReportSchedule.Frequency.choices,
    }


@perm_required(USE_REPORTS)
def index(request):
    """The report builder with a new report."""
    return render(request, "reports/builder.html", _builder_context(request, report=None, spec=DEFAULT_SPEC))


@perm_required(USE_REPORTS)
def report_detail(request, pk: int):
    try:
        report = queries.get_report_for(request.user, pk)
    except NotFound:
        raise Http404 from None
    return render(request, "reports/builder.html", _builder_context(request, report=report, spec=report.spec))


@require_POST
@perm_required(USE_REPORTS)
def run(request):
    """POST a spec (JSON) → the result table partial with its chart data."""
    try:
        data = _json_body(request)
        result = runner.run_pivot(actor=request.user, spec=data.get("spec") or {})
    except DomainError as exc:
        return _error(request, exc)
    chart = data.get("chart") or "bar"
    return render(request, "reports/_result.html", {
        "result": result, "table": display.table(result), "chart_json": display.chart_json(result, chart),
        "chart": chart})


@require_POST
@perm_required(USE_REPORTS)
def drill(request):
    """POST {spec, row, column, page} → one page of the order lines (or customers) behind that cell."""
    try:
        data = _json_body(request)
        try:
            page = max(1, int(data.get("page") or 1))
        except (TypeError, ValueError):
            page = 1
        found = services.drill(actor=request.user, spec=data.get("spec") or {}, row=data.get("row") or [],
                               column=data.get("column") or [], page=page)
    except DomainError as exc:
        return _error(request, exc)
    return render(request, "reports/_drill.html", {"drill": found, "pii": perms.can_view_pii(request.user),
                                                   "labels": data.get("labels") or []})


@require_POST
@perm_required(USE_REPORTS)
def export(request, fmt: str):
    """POST spec=<JSON> (a form, so the browser downloads the file) → XLSX or CSV, audited."""
    try:
        spec = json.loads(request.POST.get("spec") or "{}")
        report = queries.get_report_for(request.user, request.POST["report_id"]) \
            if request.POST.get("report_id") else None
        return as_response(services.export_report(actor=request.user, spec=spec, fmt=fmt, report=report))
    except ValueError:
        return HttpResponse(_("The request is not valid JSON."), status=400)
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(exc.message) from None
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")


@require_POST
@perm_required(USE_REPORTS)
def save(request):
    """Save the builder's report: a new one, or changes to `report_id` (its owner)."""
    post = request.POST
    try:
        spec = json.loads(post.get("spec") or "{}")
        fields = {"name": post.get("name", ""), "spec": spec, "chart": post.get("chart") or "bar",
                  "description": post.get("description", ""), "shared_roles": post.getlist("shared_roles")}
        if post.get("report_id"):
            report = services.update_report(actor=request.user, report_id=post["report_id"], **fields)
        else:
            report = services.save_report(actor=request.user, **fields)
    except ValueError:
        messages.error(request, _("The request is not valid JSON."))
        return redirect("reports:index")
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(exc.message) from None
        messages.error(request, exc.message)
        return redirect("reports:detail", pk=post["report_id"]) if post.get("report_id") else redirect("reports:index")
    messages.success(request, _("Report “%(name)s” saved.") % {"name": report.name})
    return redirect("reports:detail", pk=report.pk)


@require_POST
@perm_required(USE_REPORTS)
def delete(request, pk: int):
    try:
        services.delete_report(actor=request.user, report_id=pk)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(exc.message) from None
        messages.error(request, exc.message)
        return redirect("reports:detail", pk=pk)
    messages.success(request, _("Report deleted."))
    return redirect("reports:index")


@require_POST
@perm_required(USE_REPORTS)
def schedule(request, pk: int):
    post = request.POST
    recipients = [r for r in (post.get("recipients") or "").replace(";", ",").replace("\n", ",").split(",")]
    try:
        services.create_schedule(actor=request.user, report_id=pk, recipients=recipients,
                                 frequency=post.get("frequency") or "weekly", fmt=post.get("format") or "xlsx",
                                 hour=int(post.get("hour") or 7))
        messages.success(request, _("The report will be e-mailed on schedule."))
    except (ValueError, TypeError):
        messages.error(request, _("The hour is 0 to 23."))
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(exc.message) from None
        messages.error(request, exc.message)
    return redirect("reports:detail", pk=pk)


@require_POST
@perm_required(USE_REPORTS)
def unschedule(request, pk: int, schedule_id: int):
    try:
        services.delete_schedule(actor=request.user, schedule_id=schedule_id)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("Schedule removed."))
    return redirect("reports:detail", pk=pk)


@perm_required(USE_REPORTS)
def dashboard(request):
    """The role's dashboard: each shipped or added report as a chart and a table, run for the viewer."""
    role = request.GET.get("role") or None
    try:
        dash = queries.dashboard_for(request.user, role)
    except NotFound:
        raise Http404 from None
    widgets = []
    if dash is not None:
        ids = [i.get("report") for i in dash.items]
        reports = {r.pk: r for r in Report.objects.filter(pk__in=ids)}
        for item in dash.items:
            report = reports.get(item.get("report"))
            # A card the viewer may not run is left out, not shown as a refusal (a default dashboard only holds
            # what its role may see; one added by hand may name a field the viewer lacks).
            if report is None or not dashboards.user_may_run(request.user, report.spec):
                continue
            widget = {"report": report, "name": dashboards.display_name(report), "width": item.get("width", 6)}
            try:
                result = runner.run_pivot(actor=request.user, spec=report.spec)
                widget.update(result=result, table=display.table(result),
                              chart_json=display.chart_json(result, report.chart))
            except DomainError as exc:
                widget["error"] = exc.message
            widgets.append(widget)
    roles = perms.ROLE_CHOICES if perms.user_role(request.user) is perms.Role.ADMIN else []
    return render(request, "reports/dashboard.html", {"dashboard": dash, "widgets": widgets, "roles": roles,
                                                      "role": role or (perms.user_role(request.user) or "")})
