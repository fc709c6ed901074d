"""Analytics pages: the overview, the ranked customer lists, and one validation page per model. Thin: every
figure comes from dashboards.py, and every list or aggregate only holds customers the user may see."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from clientwise.analytics import dashboards, glossary
from clientwise.analytics.schemas import ScoreListParams
from clientwise.analytics.services import request_scoring, suggested_as_of
from clientwise.core import labels
from clientwise.core import permissions as perms
from clientwise.core.decorators import perm_required
from clientwise.core.errors import DomainError, NotFound
from clientwise.core.normalize import parse_date
from clientwise.core.scheduler import no_worker_warning
from clientwise.core.templatetags.cw import CURRENCY_SYMBOLS

OVERVIEW_LIST_SIZE = 10
PAGE_SIZE = 25
SCORE_COMMAND = "clientwise score"


def _ranked_context(request, params: ScoreListParams, *, ranking: str, size: int, target: str, base_url: str):
    user = request.user
    f = params.to_filters()
    try:
        page = dashboards.ranked_page(user, f, ranking=ranking, cursor=params.cursor, size=size)
    except DomainError:
        page = dashboards.ranked_page(user, f, ranking=ranking, size=size)
    query = params.query(sort=ranking) if base_url.endswith("/customers/") else params.query()
    return {"page": page, "params": params, "ranking": ranking, "target": target, "base_url": base_url,
            "query": query, "pager_base": f"{base_url}?{query}", "can_costs": perms.has_perm(user, perms.VIEW_COSTS)}


def _f(value) -> float | None:
    return float(value) if value is not None else None


def _overview_charts(context: dict) -> dict:
    """The overview's chart series as plain JSON (floats; money rounded to cents)."""
    cohorts = context["cohorts"]
    charts = {
        "curve": context["concentration"]["curve"],
        "cohorts": {"months": [c["month"] for c in cohorts["cohorts"]],
                    "sizes": [c["customers"] for c in cohorts["cohorts"]],
                    "offsets": cohorts["offsets"],
                    "cells": [[c["offset"], c["cohort"], round(c["rate"] * 100, 1), c["customers"]]
                              for c in cohorts["cells"]]},
        "customers_url": reverse("analytics:customers"),
    }
    if context.get("grid") is not None:
        charts["rfm"] = [[c["f"] - 1, c["r"] - 1, c["customers"], round(float(c["revenue"]), 2)]
                         for c in context["grid"]["cells"]]
        charts["rfm_max"] = context["grid"]["max"]
    for key in ("by_channel", "by_region"):
        if context.get(key) is not None:
            rows = context[key]
            charts[key] = {"labels": [r["label"] for r in rows], "customers": [r["customers"] for r in rows],
                           "total": [round(float(r["clv"]), 2) for r in rows],
                           "avg": [_f(r["avg_clv"]) for r in rows]}
    return charts


def _chart_labels() -> dict:
    return {
        "customers": _("Customers"), "revenue": _("Revenue"), "share_customers": _("Share of customers"),
        "share_revenue": _("Share of revenue"), "even": _("Even spread"), "recency": _("Recency"),
        "frequency": _("Frequency"), "months_since": _("Months since first purchase"),
        "retained": _("Bought again"), "cohort": _("Cohort"), "avg_clv": _("Average lifetime value"),
        "total_clv": _("Total lifetime value"),
        "currency": CURRENCY_SYMBOLS.get(settings.CURRENCY, settings.CURRENCY + " "),
        "predicted": _("Predicted"), "actual": _("Actual"), "model": pgettext("analytics model", "Model"),
        "baseline": _("Recency-only baseline"), "random": _("Random"), "decile": _("Decile"),
        "captured": _("Share of churners reached"), "lift": _("Lift"), "observed": _("Observed"),
        "perfect": _("Perfect calibration"), "mean_predicted": _("Mean predicted probability"),
        "observed_rate": _("Observed rate"),
        "holdout_frequency": _("Repeat purchases in the calibration period"),
        "holdout_segment": _("Segment at the calibration cut-off"),
        "holdout_group": _("Group at the calibration cut-off"),
    }


@perm_required(perms.VIEW_ANALYTICS)
def index(request):
    user = request.user
    batch = dashboards.current_batch()
    params = ScoreListParams.from_query(request.GET)
    ranked = _ranked_context(request, ScoreListParams(cursor=params.cursor), ranking="churn",
                             size=OVERVIEW_LIST_SIZE, target="#churn-table", base_url=request.path)
    if request.htmx and not request.htmx.boosted:
        return render(request, "analytics/_ranked.html", ranked)
    can_run = dashboards.can_run(user)
    suggested, newest_order = suggested_as_of() if can_run else (None, None)
    context = {
        "batch": batch,
        "latest": dashboards.latest_batch(),
        "can_run": can_run,
        "suggested_as_of": suggested,
        "newest_order_day": newest_order,
        "score_command": SCORE_COMMAND,
        "concentration": dashboards.value_concentration(user),
        "cohorts": dashboards.cohort_retention(user),
        **ranked,
    }
    if batch is not None:
        context.update({
            "summary": dashboards.summary(user, batch),
            "grid": dashboards.rfm_grid(user, batch),
            "segments": dashboards.segments(user, batch),
            "by_channel": dashboards.clv_by_channel(user, batch),
            "by_region": dashboards.clv_by_region(user, batch),
            "models": dashboards.models_overview(),
        })
    context["charts"] = _overview_charts(context)
    context["chart_labels"] = _chart_labels()
    return render(request, "analytics/index.html", context)


@perm_required(perms.VIEW_ANALYTICS)
def customers(request):
    """The ranked list of scored customers (churn risk or CLV), with the filters the API has."""
    user = request.user
    params = ScoreListParams.from_query(request.GET)
    ranking = request.GET.get("sort") if request.GET.get("sort") in dashboards.RANKINGS else "churn"
    context = _ranked_context(request, params, ranking=ranking, size=PAGE_SIZE, target="#ranked-table",
                              base_url=request.path)
    if request.htmx and not request.htmx.boosted:
        return render(request, "analytics/_ranked.html", context)
    context.update({
        "batch": dashboards.current_batch(),
        "owners": dashboards.owner_choices(user),
        "segment_choices": dashboards.segment_choices(),
        "tiers": ["A", "B", "C", "D"],
        "segment_label": dashboards.segment_label(params.segment or ""),
    })
    return render(request, "analytics/customers.html", context)


def _request_scoring(actor, as_of=None):
    """Queue the pipeline's scoring task (analytics.services.request_scoring); returns the TaskResult."""
    return request_scoring(actor=actor, as_of=as_of)


@require_POST
@perm_required(perms.VIEW_ANALYTICS)
def run(request):
    if not dashboards.can_run(request.user):
        raise PermissionDenied
    try:
        raw = (request.POST.get("as_of") or "").strip()
        as_of = parse_date(raw, field="as_of") if raw else None
        result = _request_scoring(request.user, as_of)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("analytics:index")
    if getattr(result, "status", "") == "SUCCESSFUL":
        messages.success(request, _("Scoring has finished."))
    elif getattr(result, "status", "") == "FAILED":
        messages.error(request, _("Scoring failed; the error is in the log."))
    else:
        messages.info(request, _("Scoring runs in the background; reload this page in a few minutes."))
        if warning := no_worker_warning():
            messages.warning(request, warning)
    return redirect("analytics:index")


@perm_required(perms.VIEW_ANALYTICS)
def models(request):
    return render(request, "analytics/models.html", {"models": dashboards.models_overview(),
                                                     "batch": dashboards.current_batch()})


@perm_required(perms.VIEW_ANALYTICS)
def model_detail(request, model: str):
    if model not in dashboards.MODEL_LABELS:
        raise Http404
    try:
        run = dashboards.shown_run(model, request.GET.get("run"))
    except NotFound:
        raise Http404 from None
    history = list(dashboards.model_runs(model=model).order_by("-started_at", "-id")[:20])
    for h in history:
        h.headline = dashboards.headline(h.metrics)
    validation = dashboards.validation(run.metrics) if run is not None else None
    return render(request, "analytics/model.html", {
        "charts": validation.charts() if validation is not None else {},
        "chart_labels": _chart_labels(),
        "model": model,
        "label": labels.label("analytics.model", model),
        "help": dashboards.MODEL_HELP.get(model, ""),
        "run": run,
        "history": history,
        "validation": validation,
        "figures": glossary.figures(model, run.metrics) if run is not None else [],
        "parameters": glossary.present(model, run.parameters) if run is not None else [],
        "models": dashboards.models_overview(),
        "batch": dashboards.current_batch(),
    })
