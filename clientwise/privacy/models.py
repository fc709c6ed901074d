"""The data-subject request log: who asked for what about which customer, by when it must be answered, who handled
it and what was done. Written only by privacy.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SubjectRequest(models.Model):
    """One request of a person about their personal data (PIPL arts. 44-47, GDPR arts. 15-17, 7(3)).

    `due_on` is computed once, when the request is logged, from `received_at` as a local date and the deadline
    setting (privacy.rules); a later change of the setting does not move existing deadlines. `result` keeps what
    the handling did (erased rows per app, consents withdrawn). Exports are not stored here: a GET writes nothing
    but the audit trail, so "exported" is read from the `privacy.export` audit rows (queries.with_exports). An erasure's file clean-up runs after
    the database commit: `file_status` says where it is, `file_work` holds what it needs (keyed hashes of the
    person's identifiers and the paths of files to delete, never clear values) only until it is done."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access (copy of the data)")
        CORRECTION = "correction", _("Correction")
        ERASURE = "erasure", _("Erasure")
        CONSENT_WITHDRAWAL = "consent_withdrawal", _("Consent withdrawal")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("privacy request", "Open")
        IN_PROGRESS = "in_progress", pgettext_lazy("privacy request", "In progress")
        DONE = "done", pgettext_lazy("privacy request", "Done")
        REJECTED = "rejected", pgettext_lazy("privacy request", "Rejected")

    class Via(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone call")
        LETTER = "letter", _("Letter")
        IN_PERSON = "in_person", _("In person")
        WEB = "web", _("Website or app")
        OTHER = "other", _("Other")

    class FileStatus(models.TextChoices):
        NONE = "", _("Not needed")
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", pgettext_lazy("privacy files", "Done")
        FAILED = "failed", _("Failed")

    OPEN_STATUSES = ("open", "in_progress")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="privacy_requests",
                                 db_index=False, verbose_name=_("customer"))
    kind = models.CharField(_("request"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    received_at = models.DateTimeField(_("received at"))
    received_via = models.CharField(_("received by"), max_length=10, choices=Via.choices, default=Via.OTHER)
    due_on = models.DateField(_("answer due"))
    notes = models.TextField(_("notes"), blank=True, default="")
    resolution = models.TextField(_("resolution"), blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("logged by"))
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("handled by"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    result = models.JSONField(_("what was done"), default=dict, blank=True)
    file_status = models.CharField(_("file clean-up"), max_length=10, choices=FileStatus.choices, blank=True,
                                   default="")
    file_report = models.JSONField(_("file clean-up report"), default=dict, blank=True)
    file_work = models.JSONField(_("file clean-up work"), default=dict, blank=True)

    class Meta:
        verbose_name = _("data-subject request")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on", "id"], name="privacy_request_due"),
            models.Index(fields=["customer", "status"], name="privacy_request_customer"),
            models.Index(fields=["received_at", "id"], name="privacy_request_received"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} customer {self.customer_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
