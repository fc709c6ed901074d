"""Shared model bases and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    """Adds created/updated timestamps (UTC)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SourcedModel(TimeStampedModel):
    """A row that may come from outside: (source, external_id) identifies it so re-imports update it."""

    source = models.CharField(max_length=40, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, null=True)

    class Meta:
        abstract = True


class AuditLog(models.Model):
    """Who did what to which record, when, with the values before and after.

    Written by `core.audit.audit()` from services only. Also records PII views and exports.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40, blank=True, default="")
    customer_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer_id", "at"], name="audit_customer_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"
