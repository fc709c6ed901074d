"""Import pages and entry grids. Thin: parse the request, call dataio.services / dataio.queries, render.

Flow: list → upload (new) → mapping → preview (dry run of the first rows) → run (queued; the detail page
polls its progress partial with HTMX) → result: counts, quarantined rows, error file download, replay.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse, RawPostDataException, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clientwise.core import permissions as perms
from clientwise.core.decorators import perm_required
from clientwise.core.errors import DomainError, ErrorCode, ValidationFailed
from clientwise.dataio import queries, registry, services
from clientwise.dataio.identity.queries import pending_pairs_of_import
from clientwise.dataio.mapping import NATURAL_KEYS, TARGETS, pii_columns, targets
from clientwise.dataio.models import ImportJob
from clientwise.dataio.registry import kind_choices

GRID_COLUMNS = {
    "customers": ("name", "mobile", "email", "member_number", "gender", "birth_date", "province", "city",
                  "external_id", "notes"),
    "orders": ("number", "customer_member_number", "customer_mobile", "customer_external_id", "store",
               "ordered_at", "sku", "quantity", "unit_price", "discount"),
}
GRID_ROWS = 15


# Anonymous → login page; without data.import → 403 page; a job one may not see → 404.
_importer = perm_required(perms.IMPORT)


def _order_option_choices(options: dict) -> list[dict]:
    """The orders import's options on the mapping page: (name, label, [(value, label)], chosen)."""
    labels = {
        "line_policy": (_("An order with an invalid line"), {
            "keep_valid": _("keep its valid lines (the order is partial until the rest are replayed)"),
            "whole_order": _("goes in whole or not at all")}),
        "void_lines": (_("Void lines (quantity 0)"), {
            "skip": _("skip them and count them"), "keep": _("keep them as zero lines"),
            "quarantine": _("quarantine them")}),
        "price_basis": (_("The line amount"), {
            "unit_price": _("is quantity × unit price − discounts (a given amount is checked)"),
            "amount": _("is what the customer paid (the unit price is derived)")}),
    }
    return [{"name": name, "label": label, "choices": list(choices.items()), "value": options.get(name, "")}
            for name, (label, choices) in labels.items()]


def _errors_of(exc: DomainError) -> list[DomainError]:
    return exc.errors if isinstance(exc, ValidationFailed) else [exc]


def _masks(user, job: ImportJob) -> dict:
    if perms.can_view_pii(user):
        return {}
    return {h: services.MASKERS[k] for h, k in pii_columns(job.kind, job.mapping).items()}


def _masked_raw(raw: dict, masks: dict) -> dict:
    return {k: (masks[k](v) if k in masks else v) for k, v in raw.items()}


@_importer
def import_list(request):
    page = queries.job_page(request.user, cursor=request.GET.get("cursor") or None)
    return render(request, "dataio/import_list.html", {"page": page, "jobs": page.items, "kinds": kind_choices(),
                                                         "grid_kinds": list(GRID_COLUMNS)})


@_importer
def import_new(request):
    errors: list[DomainError] = []
    form = {"kind": request.GET.get("kind", "customers"), "source": "import", "template": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in ("kind", "source", "template")}
        upload = request.FILES.get("file")
        if upload is None:
            errors.append(DomainError(ErrorCode.REQUIRED, _("Choose a file."), "file"))
        else:
            try:
                job = services.create_job(actor=request.user, kind=form["kind"], upload=upload,
                                          source=form["source"], template=form["template"])
            except DomainError as exc:
                errors = _errors_of(exc)
            else:
                return redirect("dataio:import_mapping", pk=job.pk)
    return render(request, "dataio/import_new.html", {"form": form, "errors": errors, "kinds": kind_choices()},
                  status=422 if errors else 200)


@_importer
def import_mapping(request, pk: int):
    job = queries.get_job_for(request.user, pk)
    if job.status != ImportJob.Status.UPLOADED or job.processed:
        return redirect("dataio:import_detail", pk=job.pk)
    errors: list[DomainError] = []
    mapping, options = job.mapping, job.options
    if request.method == "POST":
        mapping = {t.name: request.POST.get(f"map_{t.name}", "") for t in targets(job.kind)}
        options = {"key": request.POST.get("key", ""),
                   "create_missing": request.POST.get("create_missing") == "1"}
        if job.kind == "orders":
            options.update({name: request.POST.get(name, "") for name in services.ORDER_OPTIONS})
            options["currency"] = request.POST.get("currency", "")
        try:
            services.set_mapping(actor=request.user, job_id=job.pk, mapping=mapping, options=options,
                                 save_as=request.POST.get("save_as", ""))
        except DomainError as exc:
            errors = _errors_of(exc)
        else:
            return redirect("dataio:import_preview", pk=job.pk)
    else:
        errors = services.mapping_errors(job)
    error_fields = {(e.field or "").removeprefix("mapping.") for e in errors}
    rows = [{"target": t, "column": mapping.get(t.name, ""), "error": t.name in error_fields} for t in targets(job.kind)]
    labels_of = {t.name: t.label for t in targets(job.kind)}
    return render(request, "dataio/import_mapping.html", {
        "job": job, "rows": rows, "errors": errors if request.method == "POST" else [],
        # The keys a row may be matched on, by their field labels (the code is only the option's value).
        "keys": [(k, labels_of.get(k, k)) for k in NATURAL_KEYS[job.kind]], "key": options.get("key", ""),
        "can_create_missing": job.kind in services.CREATE_MISSING_KINDS,
        "create_missing": options.get("create_missing"),
        "order_options": _order_option_choices(options) if job.kind == "orders" else None,
        "default_currency": settings.CURRENCY,
        "templates": queries.templates_for(source=job.source, kind=job.kind),
    }, status=422 if errors and request.method == "POST" else 200)


@_importer
def import_preview(request, pk: int):
    job = queries.get_job_for(request.user, pk)
    try:
        result = services.preview(actor=request.user, job_id=job.pk)
    except DomainError as exc:
        messages.error(request, "; ".join(e.message for e in _errors_of(exc)))
        return redirect("dataio:import_mapping", pk=job.pk)
    masks = _masks(request.user, job)
    columns = [job.mapping[t.name] for t in targets(job.kind) if job.mapping.get(t.name)]
    bad = [{"number": r.number, "errors": r.errors, "values": [_masked_raw(r.raw, masks).get(c, "") for c in columns]}
           for r in result.rows if r.errors]
    return render(request, "dataio/import_preview.html", {
        "job": job, "result": result, "bad": bad[:100], "columns": columns, "more_bad": max(0, len(bad) - 100),
        "limit": services.PREVIEW_ROWS,
    })


@_importer
@require_POST
def import_run(request, pk: int):
    job = queries.get_job_for(request.user, pk)
    try:
        if request.POST.get("resume"):
            services.resume_import(actor=request.user, job_id=job.pk)
        else:
            services.enqueue_import(actor=request.user, job_id=job.pk)
    except DomainError as exc:
        messages.error(request, "; ".join(e.message for e in _errors_of(exc)))
    return redirect("dataio:import_detail", pk=job.pk)


def _detail_context(request, job: ImportJob) -> dict:
    page = queries.quarantine_page(job, status=request.GET.get("status", "open") or None,
                                   cursor=request.GET.get("cursor") or None)
    masks = _masks(request.user, job)
    columns = [c for c in job.headers][:12]
    rows = [{"q": q, "values": [_masked_raw(q.raw, masks).get(c, "") for c in columns]} for q in page.items]
    return {"job": job, "page": page, "quarantine": rows, "columns": columns,
            "error_counts": queries.error_counts(job), "status_filter": request.GET.get("status", "open"),
            "possible_duplicates": pending_pairs_of_import(request.user, job) if not job.is_active else 0,
            # Reference rows the import created (option create_missing), by kind: [(label, [{id, code, name}])].
            "created_references": [(registry.label(kind), refs) for kind, refs in
                                   (job.result or {}).get("created_references", {}).items() if refs]}


@_importer
def import_detail(request, pk: int):
    job = queries.get_job_for(request.user, pk)
    return render(request, "dataio/import_detail.html", _detail_context(request, job))


@_importer
def import_progress(request, pk: int):
    job = queries.get_job_for(request.user, pk)
    response = render(request, "dataio/_import_progress.html", {"job": job})
    if not job.is_active:
        # The run ended: reload the page so the counts, quarantine table and buttons show the result.
        response["HX-Refresh"] = "true"
    return response


@_importer
def import_errors_csv(request, pk: int):
    job = queries.get_job_for(request.user, pk)
    response = StreamingHttpResponse(services.error_rows_csv(actor=request.user, job_id=job.pk),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@_importer
@require_POST
def import_replay(request, pk: int):
    job = queries.get_job_for(request.user, pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose the fixed error file."))
        return redirect("dataio:import_detail", pk=job.pk)
    try:
        result = services.replay_errors(actor=request.user, job_id=job.pk, upload=upload)
    except DomainError as exc:
        messages.error(request, "; ".join(e.message for e in _errors_of(exc)))
    else:
        messages.success(request, _("Replay: %(fixed)s rows went in, %(failing)s still have errors, %(skipped)s "
                                    "skipped.") % {"fixed": result.fixed, "failing": result.still_failing,
                                                   "skipped": result.skipped})
    return redirect("dataio:import_detail", pk=job.pk)


# --- entry grids --------------------------------------------------------------------------------------------


def _grid_kind(kind: str) -> str:
    if kind not in TARGETS:
        raise Http404
    return kind


@_importer
def grid(request, kind: str):
    kind = _grid_kind(kind)
    names = GRID_COLUMNS.get(kind) or tuple(t.name for t in TARGETS[kind])
    by_name = {t.name: t for t in TARGETS[kind]}
    columns = [by_name[n] for n in names]
    return render(request, "dataio/grid.html", {
        "kind": kind, "kind_label": dict(kind_choices())[kind], "columns": columns, "rows": range(GRID_ROWS),
        "grid_kinds": [(k, dict(kind_choices())[k]) for k in GRID_COLUMNS],
    })


def _grid_payload(request) -> list[dict]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RawPostDataException):  # not JSON (a form post's body is read already)
        data = None
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or len(rows) > 5000:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Send {\"rows\": [...]} with at most 5,000 rows."), "rows")])
    return rows


def _json_error(exc: DomainError) -> JsonResponse:
    errors = _errors_of(exc)
    return JsonResponse({"code": exc.code, "message": exc.message, "field": exc.field,
                         "errors": [e.as_dict() for e in errors]}, status=exc.status)


@_importer
@require_POST
def grid_validate(request, kind: str):
    kind = _grid_kind(kind)
    try:
        rows = services.validate_grid(actor=request.user, kind=kind, rows=_grid_payload(request))
    except DomainError as exc:
        return _json_error(exc)
    return JsonResponse({"rows": rows})


@_importer
@require_POST
def grid_save(request, kind: str):
    kind = _grid_kind(kind)
    try:
        job = services.import_grid_rows(actor=request.user, kind=kind, rows=_grid_payload(request))
    except DomainError as exc:
        return _json_error(exc)
    rejected = [{"row": q.row_number, "errors": q.errors} for q in queries.open_quarantine(job)]
    return JsonResponse({"job_id": job.pk, "created": job.created, "updated": job.updated,
                         "unchanged": job.unchanged, "rejected": job.rejected, "rows": rejected,
                         "job_url": reverse("dataio:import_detail", args=[job.pk])})
