"""The data-quality page: counts by problem, score distribution, drill-down to the customers to fix."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clientwise.core import permissions as perms
from clientwise.core.decorators import perm_required
from clientwise.core.errors import DomainError
from clientwise.core.scheduler import no_worker_warning
from clientwise.dataio.quality import queries, services

PAGE_SIZE = 25


@perm_required(perms.VIEW_CUSTOMERS)
def index(request):
    user = request.user
    g = request.GET
    f = queries.parse_filter(g.get("problem"), g.get("score"), g.get("band"))
    try:
        page = queries.affected_page(user, f, cursor=g.get("cursor") or None, size=PAGE_SIZE)
    except DomainError:
        page = queries.affected_page(user, f, size=PAGE_SIZE)
    context = {
        "filter": f,
        "problem": queries.PROBLEM_BY_KEY.get(f.problem),
        "band_range": queries.band_range(f.band) if f.band is not None else None,
        "page": page,
        "pager_base": "?" + urlencode({k: v for k, v in (("problem", f.problem), ("score", f.score if f.band is not None
                                                                                    else None),
                                                           ("band", f.band)) if v not in (None, "")}),
        "can_change": perms.has_perm(user, perms.CHANGE_CUSTOMERS),
        "problem_labels": {p.key: p.label for p in queries.PROBLEMS},
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "quality/_affected.html", context)
    summary = queries.summary(user)
    context.update({
        "summary": summary,
        "cards": [(p, summary["counts"][p.key]) for p in queries.PROBLEMS],
        "distribution": queries.distribution(user),
        "run": queries.latest_run(),
        "finished": queries.last_finished_run(),
        "can_run": services.can_run(user),
        "incomplete_below": queries.INCOMPLETE_BELOW,
    })
    return render(request, "quality/index.html", context)


@require_POST
@perm_required(perms.VIEW_CUSTOMERS)
def recompute(request):
    if not services.can_run(request.user):
        raise PermissionDenied
    result = services.request_run(actor=request.user)
    if result.status == "SUCCESSFUL":
        messages.success(request, _("Data quality has been recomputed."))
    elif result.status == "FAILED":
        messages.error(request, _("Recomputing data quality failed; the error is in the log."))
    else:
        messages.info(request, _("Recomputing in the background; reload this page in a minute."))
        if warning := no_worker_warning():
            messages.warning(request, warning)
    return redirect("quality:index")
