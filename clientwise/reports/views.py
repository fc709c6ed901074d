"""Report pages: the builder, saved reports, dashboards. Thin: services and the runner do the work."""

from __future__ import annotations

from django.shortcuts import render

from clientwise.core.decorators import perm_required
from clientwise.reports.perms import USE_REPORTS


@perm_required(USE_REPORTS)
def index(request):
    return render(request, "reports/builder.html", {})
