"""Reports' codes in words (core/labels.py): its audit actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import labels


def register() -> None:
    labels.register("audit.action", {
        "report.create": _("Report saved"), "report.update": _("Report changed"), "report.delete": _("Report deleted"),
        "report.schedule": _("Report e-mail scheduled"), "report.unschedule": _("Report e-mail stopped"),
    })
    labels.register("model", {
        "reports.report": _("Report"),
        "reports.dashboard": _("Dashboard"),
        "reports.reportschedule": _("Report e-mail"),
    })
