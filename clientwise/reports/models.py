"""Saved reports (a PivotSpec with a name and who may open it), role dashboards built from them, and e-mail
schedules."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Report(models.Model):
    """A saved pivot: `spec` is PivotSpec JSON (upgraded on load, spec.upgrade). The owner and the roles in
    `shared_roles` may open it; each reader sees only their own customers in it (the compiler scopes every run).
    `system_key` marks the reports shipped with the default dashboards (no owner; created on first use)."""

    class Chart(models.TextChoices):
        BAR = "bar", _("Bar")
        LINE = "line", _("Line")
        PIE = "pie", _("Pie")
        TABLE = "table", _("Table only")
        FIGURE = "figure", _("Key figures")  # each measure's total as a number, the table below

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    spec = models.JSONField(_("spec"))
    chart = models.CharField(_("chart"), max_length=10, choices=Chart.choices, default=Chart.BAR)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="reports", verbose_name=_("owner"))
    shared_roles = models.JSONField(_("shared with roles"), default=list, blank=True)
    system_key = models.CharField(max_length=60, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["system_key"], condition=Q(system_key__isnull=False),
                                               name="reports_unique_system_key")]
        indexes = [models.Index(fields=["owner", "name"], name="reports_owner")]

    def __str__(self) -> str:
        return self.name


class Dashboard(models.Model):
    """A role's dashboard: `items` is a list of {"report": id, "width": 6|12} in display order."""

    role = models.CharField(_("role"), max_length=20)
    name = models.CharField(_("name"), max_length=200)
    items = models.JSONField(default=list, blank=True)
    is_default = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role", "id"]
        constraints = [models.UniqueConstraint(fields=["role"], condition=Q(is_default=True),
                                               name="reports_one_default_dashboard")]

    def __str__(self) -> str:
        return self.name


class ReportSchedule(models.Model):
    """E-mail a saved report as an attachment on a schedule. It runs as `owner` (their visibility and PII right),
    and each sending is an audited export."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly (Monday)")
        MONTHLY = "monthly", _("Monthly (1st)")

    class Format(models.TextChoices):
        XLSX = "xlsx", "XLSX"
        CSV = "csv", "CSV"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="schedules")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    recipients = models.JSONField(_("recipients"), default=list)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)
    format = models.CharField(_("format"), max_length=5, choices=Format.choices, default=Format.XLSX)
    hour = models.PositiveSmallIntegerField(_("hour (local time)"), default=7)
    active = models.BooleanField(_("active"), default=True)
    next_run_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["next_run_at", "id"]
        indexes = [models.Index(fields=["active", "next_run_at"], name="reports_schedule_due")]

    def __str__(self) -> str:
        return f"{self.report} ({self.frequency})"
