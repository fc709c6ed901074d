"""Data-subject requests: log one, move it along, and carry it out — export everything held about the person,
withdraw every consent, or erase the personal data in every app. The only code that writes the request log;
pages, the API and tasks call these.

Every service takes keyword-only arguments with the acting user, checks the privacy.manage right and the
customer's visibility (customers.queries.get_customer_for), runs in one transaction and writes the audit log.
What each app holds, and how it is exported and erased, is each app's section (core.extensions.PERSONAL_DATA).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clientwise.core import extensions
from clientwise.core import permissions as perms
from clientwise.core.audit import audit
from clientwise.core.errors import DomainError, ErrorCode, ValidationFailed
from clientwise.customers.events import record_event
from clientwise.customers.queries import get_customer_for
from clientwise.privacy import files, rules
from clientwise.privacy.errors import PrivacyErrorCode
from clientwise.privacy.models import SubjectRequest
from clientwise.privacy.perms import MANAGE_PRIVACY
from clientwise.privacy.queries import get_request_for, has_export
from clientwise.privacy.sections.customers import WITHDRAWAL_SOURCE, withdraw_all
from clientwise.privacy.subject import Erasure, collect, merged_into
from clientwise.privacy.tasks import erase_files_task

MAX_NOTES = 5000
MAX_REASON = 1000
STALE_FILE_RUN = dt.timedelta(hours=1)  # a clean-up "running" this long was killed: it may be run again


# ----- the deadline ---------------------------------------------------------------------------------------------


def deadline() -> rules.Deadline:
    """settings.PRIVACY_RESPONSE_DEADLINE (default 15 working days), checked at start-up (privacy.checks)."""
    return rules.parse_deadline(getattr(settings, "PRIVACY_RESPONSE_DEADLINE", rules.DEFAULT_DEADLINE))


def deadline_label() -> str:
    """The deadline setting in the reader's language: '15 working days', '1 month'."""
    d = deadline()
    if d.unit == "working_days":
        return ngettext("%(n)d working day", "%(n)d working days", d.amount) % {"n": d.amount}
    if d.unit == "months":
        return ngettext("%(n)d month", "%(n)d months", d.amount) % {"n": d.amount}
    return ngettext("%(n)d day", "%(n)d days", d.amount) % {"n": d.amount}


def working_day_rule():
    """Monday to Friday, or the working days of the service calendar named by settings.PRIVACY_CALENDAR (its
    public holidays off, its make-up working days on) when that calendar exists."""
    name = getattr(settings, "PRIVACY_CALENDAR", "")
    if name and apps.is_installed("clientwise.service"):
        # Only when the service app is installed: its models cannot load otherwise.
        from clientwise.service.models import BusinessCalendar
        from clientwise.service.sla import hours_for

        calendar = BusinessCalendar.objects.filter(name=name).first()
        if calendar is not None:
            return hours_for(calendar).is_working_day
    return rules.weekday_is_working


def due_on(received_at: dt.datetime) -> dt.date:
    """The answer's due day for a request received at `received_at`, counted in local dates (TIME_ZONE)."""
    return rules.due_date(timezone.localdate(received_at), deadline(), working_day_rule())


# ----- the log --------------------------------------------------------------------------------------------------


def _require(actor) -> None:
    perms.require(actor, MANAGE_PRIVACY)


def _locked(actor, request_id) -> SubjectRequest:
    """The request (visible to the actor), locked for the rest of the transaction."""
    req = get_request_for(actor, request_id)
    return SubjectRequest.objects.select_for_update().select_related("customer").get(pk=req.pk)


def _check_open(req: SubjectRequest) -> None:
    if not req.is_open:
        raise DomainError(PrivacyErrorCode.WRONG_STATUS, _("This request is already %(status)s.") % {
            "status": req.get_status_display()})


def _check_kind(req: SubjectRequest, *kinds: str) -> None:
    if req.kind not in kinds:
        raise DomainError(PrivacyErrorCode.WRONG_KIND, _("This is not what a %(kind)s request asks for.") % {
            "kind": req.get_kind_display()}, "kind")


def _close(req: SubjectRequest, actor, status: str, now: dt.datetime) -> None:
    req.status, req.closed_at = status, now
    req.handled_by = req.handled_by or (actor if getattr(actor, "pk", None) else None)


def create_request(*, actor, customer_id: Any, kind: str, received_at: dt.datetime | None = None,
                   received_via: str = SubjectRequest.Via.OTHER, notes: str = "") -> SubjectRequest:
    """Log a request about a customer the actor may see. Its due day follows from when it was received (default:
    now) and the deadline setting. A customer merged into another is not the place: the request belongs to the
    record it was merged into (conflict, the message names it)."""
    _require(actor)
    now = timezone.now()
    errors = []
    if kind not in SubjectRequest.Kind.values:
        errors.append(DomainError(ErrorCode.INVALID, _("Unknown kind of request."), "kind"))
    if received_via not in SubjectRequest.Via.values:
        errors.append(DomainError(ErrorCode.INVALID, _("Unknown way of receiving a request."), "received_via"))
    if received_at is not None and timezone.is_naive(received_at):
        received_at = timezone.make_aware(received_at)
    if received_at is not None and received_at > now + dt.timedelta(minutes=5):
        errors.append(DomainError(ErrorCode.INVALID_DATE, _("A request cannot be received in the future."),
                                  "received_at"))
    if received_at is not None and received_at.year < 2000:
        errors.append(DomainError(ErrorCode.INVALID_DATE, _("That date is too far in the past."), "received_at"))
    if len(notes or "") > MAX_NOTES:
        errors.append(DomainError(ErrorCode.INVALID, _("Notes are longer than %(n)d characters.") % {"n": MAX_NOTES},
                                  "notes"))
    if errors:
        raise ValidationFailed(errors)
    received_at = received_at or now
    with transaction.atomic():
        customer = get_customer_for(actor, customer_id)
        survivor = merged_into(customer.pk)
        if survivor is not None:
            raise DomainError(PrivacyErrorCode.MERGED, _(
                "This record was merged into customer #%(id)s: log the request there.") % {"id": survivor},
                "customer_id")
        req = SubjectRequest.objects.create(customer=customer, kind=kind, received_at=received_at,
                                            received_via=received_via, due_on=due_on(received_at),
                                            notes=(notes or "").strip(), created_by=actor)
        audit(actor=actor, action="privacy.request", obj=req, customer_id=customer.pk,
              after={"kind": kind, "received_at": received_at, "due_on": req.due_on, "received_via": received_via})
    return req


def start_request(*, actor, request_id: Any) -> SubjectRequest:
    """Mark the request as being handled by the actor."""
    _require(actor)
    with transaction.atomic():
        req = _locked(actor, request_id)
        _check_open(req)
        if req.status == SubjectRequest.Status.IN_PROGRESS:
            raise DomainError(PrivacyErrorCode.WRONG_STATUS, _("This request is already in progress."))
        req.status, req.handled_by = SubjectRequest.Status.IN_PROGRESS, actor
        req.save(update_fields=["status", "handled_by", "updated_at"])
        audit(actor=actor, action="privacy.start", obj=req, customer_id=req.customer_id,
              before={"status": "open"}, after={"status": req.status})
    return req


def reject_request(*, actor, request_id: Any, reason: str) -> SubjectRequest:
    """Refuse the request (e.g. the person's identity could not be verified), with the reason given to them."""
    _require(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([DomainError(ErrorCode.REQUIRED, _("Give the reason for rejecting."), "reason")])
    if len(reason) > MAX_REASON:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("The reason is longer than %(n)d characters.") % {
            "n": MAX_REASON}, "reason")])
    with transaction.atomic():
        req = _locked(actor, request_id)
        _check_open(req)
        before = req.status
        _close(req, actor, SubjectRequest.Status.REJECTED, timezone.now())
        req.resolution = reason
        req.save(update_fields=["status", "closed_at", "handled_by", "resolution", "updated_at"])
        audit(actor=actor, action="privacy.reject", obj=req, customer_id=req.customer_id,
              before={"status": before}, after={"status": req.status}, detail={"kind": req.kind})
    return req


def complete_request(*, actor, request_id: Any, resolution: str = "") -> SubjectRequest:
    """Close an access request (after its export) or a correction (made on the customer's page) as done."""
    _require(actor)
    if len(resolution or "") > MAX_NOTES:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("The note is longer than %(n)d characters.") % {
            "n": MAX_NOTES}, "resolution")])
    with transaction.atomic():
        req = _locked(actor, request_id)
        _check_open(req)
        _check_kind(req, SubjectRequest.Kind.ACCESS, SubjectRequest.Kind.CORRECTION)
        if req.kind == SubjectRequest.Kind.ACCESS and not has_export(req.pk):
            raise DomainError(PrivacyErrorCode.NOT_EXPORTED, _(
                "Export the person's data first: that export is the answer to an access request."))
        before = req.status
        _close(req, actor, SubjectRequest.Status.DONE, timezone.now())
        req.resolution = (resolution or "").strip()
        req.save(update_fields=["status", "closed_at", "handled_by", "resolution", "updated_at"])
        audit(actor=actor, action="privacy.complete", obj=req, customer_id=req.customer_id,
              before={"status": before}, after={"status": req.status}, detail={"kind": req.kind})
    return req


# ----- access: the export ----------------------------------------------------------------------------------------


def export_data(*, actor, request_id: Any, fmt: str) -> dict:
    """Everything held about the person of an access request, section by section (each app's registered
    export), as {"request", "customer_id", "customer_ids", "generated_at", "sections": [{"key", "title",
    "tables"}]}. Personal data is shown unmasked, so the actor also needs the view_pii right. Pages and the API call
    this on a GET: it writes nothing but its audit row (privacy.export, with the format and the rows per section),
    which is also how the request knows it was exported (queries.with_exports)."""
    _require(actor)
    if not perms.can_view_pii(actor):
        raise DomainError(PrivacyErrorCode.NEEDS_PII, _(
            "An export shows personal data unmasked: it needs the right to see personal data."))
    if fmt not in ("json", "html"):
        raise DomainError(ErrorCode.INVALID, _("Format must be json or html."), "format")
    req = get_request_for(actor, request_id)
    _check_kind(req, SubjectRequest.Kind.ACCESS)
    if req.status == SubjectRequest.Status.REJECTED:
        raise DomainError(PrivacyErrorCode.REJECTED, _("This request was rejected."))
    customer = get_customer_for(actor, req.customer_id)
    now = timezone.now()
    subject = collect(customer.pk)
    sections = [{"key": s.key, "title": s.label, "tables": s.export(subject)} for s in extensions.PERSONAL_DATA]
    rows = {s["key"]: sum(len(t["rows"]) for t in s["tables"]) for s in sections}
    audit(actor=actor, action="privacy.export", obj=req, customer_id=customer.pk,
          detail={"format": fmt, "rows": rows, "customer_ids": list(subject.customer_ids)})
    return {"request": req, "customer_id": customer.pk, "customer_ids": list(subject.customer_ids),
            "generated_at": now, "sections": sections}


def export_as_json(export: dict) -> dict:
    """The export as plain JSON: labels in the reader's language, values as stored."""
    req = export["request"]
    return {
        "request": {"id": req.pk, "kind": req.kind, "status": req.status, "received_at": req.received_at,
                    "due_on": req.due_on},
        "customer_id": export["customer_id"], "customer_ids": export["customer_ids"],
        "generated_at": export["generated_at"],
        "sections": [{"key": s["key"], "title": str(s["title"]), "tables": [
            {"key": t["key"], "title": str(t["title"]), "columns": {name: str(label) for name, label in t["columns"]},
             "rows": t["rows"]} for t in s["tables"]]} for s in export["sections"]],
    }


# ----- consent withdrawal ----------------------------------------------------------------------------------------


def withdraw_consent(*, actor, request_id: Any) -> SubjectRequest:
    """Record every channel × purpose as withdrawn for the person (the customer and the records merged into it),
    close the request and put one consent event on the timeline. Marketing checks consent when a message goes out,
    so nothing is sent from then on."""
    _require(actor)
    now = timezone.now()
    with transaction.atomic():
        req = _locked(actor, request_id)
        _check_open(req)
        _check_kind(req, SubjectRequest.Kind.CONSENT_WITHDRAWAL)
        customer = get_customer_for(actor, req.customer_id)
        subject = collect(customer.pk)
        changed = withdraw_all(subject.customer_ids, now=now, source=WITHDRAWAL_SOURCE)
        before = req.status
        _close(req, actor, SubjectRequest.Status.DONE, now)
        req.result = {"consents_withdrawn": len(changed)}
        req.save(update_fields=["status", "closed_at", "handled_by", "result", "updated_at"])
        audit(actor=actor, action="privacy.withdraw_consent", obj=req, customer_id=customer.pk,
              before={"status": before}, after={"status": req.status}, detail={"changed": changed})
        record_event(customer_id=customer.pk, kind="consent", actor=actor,
                     subject=_("All consent withdrawn (data-subject request #%(id)s)") % {"id": req.pk},
                     payload={"request_id": req.pk, "changed": len(changed)}, occurred_at=now)
    return req


# ----- erasure -----------------------------------------------------------------------------------------------------


def erase_personal_data(*, actor, request_id: Any, confirm: Any) -> SubjectRequest:
    """Remove or anonymise the person's data in every app, in one transaction: each registered section's `erase`
    (customers, purchases, sales, service, analytics, data management, then the audit log). Orders keep their
    accounting facts on the anonymised, archived customer. `confirm` must be the customer's number (its id): the
    step cannot be undone. After the commit a task cleans the files on disk (files.run); the request's
    file_status follows it."""
    _require(actor)
    with transaction.atomic():
        req = _locked(actor, request_id)
        _check_open(req)
        _check_kind(req, SubjectRequest.Kind.ERASURE)
        if str(confirm).strip().lstrip("#") != str(req.customer_id):
            raise ValidationFailed([DomainError(PrivacyErrorCode.CONFIRMATION, _(
                "Type the customer number %(id)s to confirm the erasure.") % {"id": req.customer_id}, "confirm")])
        customer = get_customer_for(actor, req.customer_id)
        now = timezone.now()
        erasure = Erasure(subject=collect(customer.pk), actor=actor, now=now)
        for section in extensions.PERSONAL_DATA:
            section.erase(erasure)
        before = req.status
        _close(req, actor, SubjectRequest.Status.DONE, now)
        req.result = {"counts": erasure.counts, "kept": erasure.kept,
                      "customer_ids": list(erasure.subject.customer_ids),
                      "sections": [s.key for s in extensions.PERSONAL_DATA]}
        req.file_status, req.file_work, req.file_report = SubjectRequest.FileStatus.PENDING, files.plan(erasure), {}
        req.save(update_fields=["status", "closed_at", "handled_by", "result", "file_status", "file_work",
                                "file_report", "updated_at"])
        audit(actor=actor, action="privacy.erase", obj=req, customer_id=customer.pk,
              before={"status": before}, after={"status": req.status},
              detail={"counts": erasure.counts, "kept": erasure.kept, "customer_ids": req.result["customer_ids"]})
        record_event(customer_id=customer.pk, kind="profile", actor=actor,
                     subject=_("Personal data erased (data-subject request #%(id)s)") % {"id": req.pk},
                     payload={"request_id": req.pk}, occurred_at=now)
        request_pk = req.pk
        transaction.on_commit(lambda: erase_files_task.enqueue(request_pk))
    return req


def run_file_cleanup(*, request_id: int) -> dict:
    """The after-commit part of an erasure (the task calls it): claim the request's clean-up, run files.run, and
    record the report. Done: the work list (keyed hashes, paths) is dropped. Errors or an import that was running:
    failed, and the work list stays for `retry_file_cleanup`."""
    now = timezone.now()
    claimed = SubjectRequest.objects.filter(pk=request_id, file_status=SubjectRequest.FileStatus.PENDING).update(
        file_status=SubjectRequest.FileStatus.RUNNING, updated_at=now)
    if not claimed:
        return {"request_id": request_id, "status": "not pending"}
    req = SubjectRequest.objects.get(pk=request_id)
    try:
        report = files.run(req.file_work)
    except Exception as exc:
        SubjectRequest.objects.filter(pk=request_id).update(
            file_status=SubjectRequest.FileStatus.FAILED, updated_at=timezone.now(),
            file_report={"errors": [f"{type(exc).__name__}: {exc}"[:500]]})
        raise
    failed = bool(report.get("errors") or report.get("import_files_busy"))
    status = SubjectRequest.FileStatus.FAILED if failed else SubjectRequest.FileStatus.DONE
    with transaction.atomic():
        SubjectRequest.objects.filter(pk=request_id).update(
            file_status=status, file_report=dict(report), updated_at=timezone.now(),
            **({} if failed else {"file_work": {}}))
        audit(actor=None, action="privacy.erase_files", object_type="privacy.subjectrequest", object_id=request_id,
              customer_id=req.customer_id, detail={"status": status, **{
                  k: (len(v) if isinstance(v, list) else v) for k, v in report.items()}})
    return {"request_id": request_id, "status": status}


def retry_file_cleanup(*, actor, request_id: Any) -> SubjectRequest:
    """Run an erasure's file clean-up again: after it failed, or when it has waited or run for over an hour (a
    worker that was down or killed)."""
    _require(actor)
    with transaction.atomic():
        req = _locked(actor, request_id)
        stale = req.updated_at < timezone.now() - STALE_FILE_RUN
        if req.kind != SubjectRequest.Kind.ERASURE or not (
                req.file_status == SubjectRequest.FileStatus.FAILED
                or (req.file_status in (SubjectRequest.FileStatus.PENDING, SubjectRequest.FileStatus.RUNNING)
                    and stale)):
            raise DomainError(PrivacyErrorCode.FILES_BUSY, _(
                "The file clean-up is not waiting for a retry."))
        req.file_status = SubjectRequest.FileStatus.PENDING
        req.save(update_fields=["file_status", "updated_at"])
        audit(actor=actor, action="privacy.retry_files", obj=req, customer_id=req.customer_id)
        request_pk = req.pk
        transaction.on_commit(lambda: erase_files_task.enqueue(request_pk))
    return req

