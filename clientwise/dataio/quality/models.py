"""Data quality: one row of scores and problem flags per customer, rewritten set-based by each QualityRun."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class QualityRun(models.Model):
    """One computation of every non-archived customer's quality (by `clientwise quality`, the task or the page).

    `counts` holds the number of customers with each problem, `customers` how many were scored.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    stale_months = models.PositiveSmallIntegerField(default=12)
    customers = models.IntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    avg_completeness = models.FloatField(null=True, blank=True)
    avg_validity = models.FloatField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"quality run {self.pk} ({self.status})"


class CustomerQuality(models.Model):
    """A customer's latest completeness and validity scores (0–100) and problem flags.

    completeness = key fields filled / key fields (people: name, mobile or email, gender, birth date, city,
    owner, consent; organizations: name, mobile or email, industry, city, owner, consent).
    validity = checks passed / checks that apply (mobile is E.164, email syntax, birth date plausible, no
    bounced or invalid contact point); 100 when nothing applies. Both rounded half up.
    """

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(QualityRun, on_delete=models.CASCADE, related_name="+", db_index=False)
    computed_at = models.DateTimeField()
    filled = models.PositiveSmallIntegerField(default=0)
    fields = models.PositiveSmallIntegerField(default=0)
    completeness = models.PositiveSmallIntegerField(default=0)
    checks = models.PositiveSmallIntegerField(default=0)
    passed = models.PositiveSmallIntegerField(default=0)
    validity = models.PositiveSmallIntegerField(default=100)
    stale = models.BooleanField(default=False)
    no_contact = models.BooleanField(default=False)
    invalid_phone = models.BooleanField(default=False)
    invalid_email = models.BooleanField(default=False)
    bounced_email = models.BooleanField(default=False)
    missing_consent = models.BooleanField(default=False)
    no_owner = models.BooleanField(default=False)
    bad_birth_date = models.BooleanField(default=False)

    FLAGS = ("stale", "no_contact", "invalid_phone", "invalid_email", "bounced_email", "missing_consent", "no_owner",
             "bad_birth_date")

    class Meta:
        verbose_name_plural = "customer quality"

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.completeness}/{self.validity}"

    @property
    def problems(self) -> list[str]:
        return [flag for flag in self.FLAGS if getattr(self, flag)]
