"""Notifications and the e-mail choices of each user."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One thing one user should know: an SLA warning, a mention, a reminder, an assignment, a finished job.

    The row keeps the kind, its parameters and a link to the object; the sentence is made when it is shown, in the
    reader's language (kinds.render). `key` (target and the caller's dedupe key) is unique per recipient and kind,
    so a periodic check that finds the same fact again writes nothing. Only the recipient ever sees the row.
    """

    class Email(models.TextChoices):
        NONE = "", _("Not e-mailed")
        PENDING = "pending", _("Waiting to be e-mailed")
        SENDING = "sending", _("Being e-mailed")
        SENT = "sent", _("E-mailed")
        FAILED = "failed", _("E-mail failed")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=40)
    params = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    target_type = models.CharField(max_length=60, blank=True, default="")  # "service.ticket", "dataio.importjob"…
    target_id = models.BigIntegerField(null=True, blank=True)
    url = models.CharField(max_length=300, blank=True, default="")  # a path on this site
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email = models.CharField(max_length=10, choices=Email.choices, blank=True, default=Email.NONE)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "kind", "key"], name="notification_unique_key")]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_recipient"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.recipient_id}"


class EmailPreference(models.Model):
    """A user's choice to get one kind of notification by e-mail as well. No row means no e-mail (the default)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_email_pref_unique")]

    def __str__(self) -> str:
        return f"{self.kind} by e-mail for user {self.user_id}"
