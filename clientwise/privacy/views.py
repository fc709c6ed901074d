"""Pages of data-subject requests: the log (filter by status, kind, overdue), logging a request (from the customer
page), a request with its actions, the erasure's confirmation step, and the access export as JSON and as a
printable page. Thin: services do the work and check the rights, queries read; a service's DomainError is shown
on the page with its message."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from clientwise.core import extensions
from clientwise.core import permissions as perms
from clientwise.core.decorators import add_domain_error, perm_required
from clientwise.core.errors import DomainError
from clientwise.customers.queries import get_customer_for
from clientwise.privacy import queries, rules, services
from clientwise.privacy.forms import CompleteForm, EraseForm, RejectForm, RequestForm
from clientwise.privacy.models import SubjectRequest
from clientwise.privacy.perms import MANAGE_PRIVACY
from clientwise.privacy.sections import COUNT_LABELS


def _filters(request) -> queries.RequestFilters:
    status = request.GET.get("status", queries.ACTIVE)
    kind = request.GET.get("kind", "")
    return queries.RequestFilters(
        status=status if status in ("", queries.ACTIVE, *SubjectRequest.Status.values) else queries.ACTIVE,
        kind=kind if kind in SubjectRequest.Kind.values else "",
        overdue=request.GET.get("overdue") in ("1", "on", "true"))


@perm_required(MANAGE_PRIVACY)
@require_http_methods(["GET"])
def request_list(request):
    f = _filters(request)
    sort = request.GET.get("sort", "due_on")
    sort = sort if sort in queries.SORTS else "due_on"
    try:
        page = queries.request_page(request.user, f, sort=sort, cursor=request.GET.get("cursor") or None)
    except DomainError:  # a stale or hand-made cursor: the first page
        page = queries.request_page(request.user, f, sort=sort)
    today = timezone.localdate()
    context = {"page": page, "f": f, "sort": sort, "rows": [(r, rules.is_overdue(r.status, r.due_on, today))
                                                            for r in page.items],
               "statuses": SubjectRequest.Status.choices, "kinds": SubjectRequest.Kind.choices,
               "summary": queries.summary(request.user), "deadline": services.deadline_label()}
    if request.htmx:
        return render(request, "privacy/_table.html", context)
    return render(request, "privacy/list.html", context)


@perm_required(MANAGE_PRIVACY)
@require_http_methods(["GET", "POST"])
def request_new(request):
    initial = {"customer": request.GET.get("customer") or None, "kind": request.GET.get("kind") or None}
    form = RequestForm(request.POST or None, initial=initial)
    customer = None
    if initial["customer"]:
        customer = get_customer_for(request.user, initial["customer"])
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            req = services.create_request(actor=request.user, customer_id=d["customer"], kind=d["kind"],
                                          received_at=d["received_at"], received_via=d["received_via"],
                                          notes=d["notes"])
        except DomainError as exc:
            if exc.status == 403:
                raise DjangoPermissionDenied from None
            if exc.status == 404:
                form.add_error("customer", _("No customer with this number, or one you may not see."))
            else:
                add_domain_error(form, exc)
        else:
            messages.success(request, _("Request #%(id)s logged; the answer is due on %(due)s.") % {
                "id": req.pk, "due": req.due_on.isoformat()})
            return redirect("privacy:detail", pk=req.pk)
    return render(request, "privacy/new.html", {"form": form, "customer": customer, "deadline": services.deadline_label()},
                  status=400 if request.method == "POST" else 200)


def _detail_context(request, req: SubjectRequest, **extra) -> dict:
    today = timezone.localdate()
    return {"req": req, "overdue": rules.is_overdue(req.status, req.due_on, today),
            "actions": rules.allowed_actions(req.kind, req.status, exported=req.exported_at is not None),
            "can_export": perms.can_view_pii(request.user), "retry_files": req.file_status == "failed",
            "reject_form": RejectForm(), "complete_form": CompleteForm(), "counts": [
                (COUNT_LABELS.get(key, key), n) for key, n in sorted((req.result or {}).get("counts", {}).items())],
            **extra}


@perm_required(MANAGE_PRIVACY)
@require_http_methods(["GET"])
def request_detail(request, pk: int):
    req = queries.get_request_for(request.user, pk)
    return render(request, "privacy/detail.html", _detail_context(request, req))


ACTIONS = {
    "start": lambda request, pk: services.start_request(actor=request.user, request_id=pk),
    "withdraw_consent": lambda request, pk: services.withdraw_consent(actor=request.user, request_id=pk),
    "retry_files": lambda request, pk: services.retry_file_cleanup(actor=request.user, request_id=pk),
}
DONE_MESSAGES = {
    "start": gettext_lazy("You are handling this request."),
    "withdraw_consent": gettext_lazy("Every consent of this customer is now recorded as withdrawn."),
    "retry_files": gettext_lazy("The file clean-up will run again."),
}


@require_POST
@perm_required(MANAGE_PRIVACY)
def request_action(request, pk: int, action: str):
    """start, withdraw_consent, retry_files (no input), reject (reason), complete (what was done)."""
    req = queries.get_request_for(request.user, pk)
    reject_form, complete_form = RejectForm(), CompleteForm()
    try:
        if action in ACTIONS:
            ACTIONS[action](request, req.pk)
            messages.success(request, str(DONE_MESSAGES[action]))
            return redirect("privacy:detail", pk=req.pk)
        if action == "reject":
            reject_form = RejectForm(request.POST)
            if reject_form.is_valid():
                services.reject_request(actor=request.user, request_id=req.pk, reason=reject_form.cleaned_data["reason"])
                messages.success(request, _("The request is rejected."))
                return redirect("privacy:detail", pk=req.pk)
        elif action == "complete":
            complete_form = CompleteForm(request.POST)
            if complete_form.is_valid():
                services.complete_request(actor=request.user, request_id=req.pk,
                                          resolution=complete_form.cleaned_data["resolution"])
                messages.success(request, _("The request is done."))
                return redirect("privacy:detail", pk=req.pk)
        else:
            raise Http404
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied from None
        if action in ACTIONS:  # no form to show the message on: the request page says it
            messages.error(request, exc.message)
            return redirect("privacy:detail", pk=req.pk)
        add_domain_error(reject_form if action == "reject" else complete_form, exc)
        if exc.field is None:
            messages.error(request, exc.message)
    req = queries.get_request_for(request.user, req.pk)
    return render(request, "privacy/detail.html", _detail_context(
        request, req, reject_form=reject_form, complete_form=complete_form), status=400)


@perm_required(MANAGE_PRIVACY)
@require_http_methods(["GET", "POST"])
def request_erase(request, pk: int):
    """The confirmation step: what will be erased and kept, then the customer number typed to confirm."""
    req = queries.get_request_for(request.user, pk)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.erase_personal_data(actor=request.user, request_id=req.pk, confirm=form.cleaned_data["confirm"])
        except DomainError as exc:
            if exc.status == 403:
                raise DjangoPermissionDenied from None
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The personal data of customer #%(id)s is erased.") % {"id": req.customer_id})
            return redirect("privacy:detail", pk=req.pk)

    return render(request, "privacy/erase.html", {"req": req, "form": form, "sections": extensions.PERSONAL_DATA,
                                                  "allowed": "erase" in rules.allowed_actions(req.kind, req.status)},
                  status=400 if request.method == "POST" else 200)


def _export(request, pk: int, fmt: str) -> dict:
    try:
        return services.export_data(actor=request.user, request_id=pk, fmt=fmt)
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(exc.message) from None
        if exc.status == 404:
            raise Http404 from None
        messages.error(request, exc.message)
        raise _Back(pk) from None


class _Back(Exception):
    def __init__(self, pk):
        self.pk = pk


@perm_required(MANAGE_PRIVACY)
@require_http_methods(["GET"])
def export_json(request, pk: int):
    try:
        export = _export(request, pk, "json")
    except _Back as back:
        return redirect("privacy:detail", pk=back.pk)
    body = json.dumps(services.export_as_json(export), cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="personal-data-customer-{export["customer_id"]}.json"'
    return response


# A table with few records and many columns reads better turned on its side: one column per record.
SIDEWAYS = {"max_rows": 3, "min_columns": 9}


def _readable(table: dict) -> dict:
    """A table of the readable copy: its headings and cells (privacy.sections.base.table), on its side when it is
    a record or two with many fields (a profile, a score row)."""
    cells, headings = table["cells"], table["headings"]
    sideways = 0 < len(cells) <= SIDEWAYS["max_rows"] and len(headings) >= SIDEWAYS["min_columns"]
    return {"title": table["title"], "count": len(cells), "headings": headings, "cells": cells,
            "sideways": sideways, "fields": list(zip(headings, zip(*cells, strict=True), strict=True))
            if sideways else []}


@perm_required(MANAGE_PRIVACY)
@require_http_methods(["GET"])
def export_html(request, pk: int):
    try:
        export = _export(request, pk, "html")
    except _Back as back:
        return redirect("privacy:detail", pk=back.pk)
    sections = [{"title": s["title"], "tables": [_readable(t) for t in s["tables"]]} for s in export["sections"]]
    response = render(request, "privacy/export.html", {"export": export, "sections": sections})
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="personal-data-customer-{export["customer_id"]}.html"'
    return response
