"""Marketing pages: the overview, audiences (rule builder, count preview, fixed lists, export), campaigns (content,
variants, approval, launch, sending, results). Thin: every rule is in services, every read in queries."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from clientwise.analytics.schemas import ScoreListParams
from clientwise.commerce.queries import categories
from clientwise.core import permissions as perms
from clientwise.core.decorators import perm_required
from clientwise.core.errors import DomainError, NotFound, ValidationFailed
from clientwise.customers.filters import CustomerListParams
from clientwise.customers.models import Tag
from clientwise.dataio import exports
from clientwise.marketing import content, measurement, queries, rules, services, stats
from clientwise.marketing.models import Campaign
from clientwise.marketing.perms import CHANGE_MARKETING, VIEW_MARKETING
from clientwise.reports import semantic

VIEW, CHANGE = VIEW_MARKETING, CHANGE_MARKETING
FILTER_ROWS = 3
NUMBER_ROWS = 2


def _refuse(exc: DomainError) -> None:
    """A record the user may not see is a 404 and a refusal a 403, as in the API."""
    if isinstance(exc, NotFound):
        raise Http404() from None
    if not isinstance(exc, ValidationFailed) and exc.status == 403:
        raise PermissionDenied(exc.message) from None


def _errors(exc: DomainError) -> list[dict]:
    _refuse(exc)
    errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
    return [{"field": e.field or "", "message": e.message} for e in errors]


def _ints(values) -> list[int]:
    out = []
    for v in values:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            continue
    return out


@perm_required(VIEW)
def index(request):
    """Campaigns first (what is waiting for approval, sending, sent), then the audiences."""
    user = request.user
    campaigns = list(queries.visible_campaigns(user)[:50])
    audiences = list(queries.visible_audiences(user)[:50])
    return render(request, "marketing/index.html", {
        "campaigns": campaigns, "audiences": audiences, "can_change": queries.can_change(user),
        "can_approve": queries.can_approve(user)})


# ----- audiences ----------------------------------------------------------------------------------------------------


def rule_from_form(post) -> dict:
    """The audience rule from the builder's fields (or its JSON box, which wins when filled in)."""
    raw = (post.get("rule_json") or "").strip()
    if raw:
        try:
            return json.loads(raw)
        except ValueError:
            return {"rule_json": raw}  # refused by the rule's parser with a named field
    rule: dict = {"filters": [], "numbers": []}
    for i in range(FILTER_ROWS):
        dim = post.get(f"f{i}_dimension", "").strip()
        values = [v.strip() for v in post.get(f"f{i}_values", "").replace("，", ",").split(",") if v.strip()]
        if dim and values:
            rule["filters"].append({"dimension": dim, "op": post.get(f"f{i}_op") or "in",
                                    "values": [_choice_code(dim, v) for v in values]})
    for i in range(NUMBER_ROWS):
        field, value = post.get(f"n{i}_field", "").strip(), post.get(f"n{i}_value", "").strip()
        if field and value:
            rule["numbers"].append({"field": field, "op": post.get(f"n{i}_op") or "gte", "value": value})
    rule["tags_any"] = _ints(post.getlist("tags_any"))
    rule["tags_none"] = _ints(post.getlist("tags_none"))
    rule["consent"] = post.getlist("consent")
    days, cats = post.get("bought_days", "").strip(), _ints(post.getlist("bought_categories"))
    if days or cats:
        rule["bought"] = {"categories": cats, "within_days": days or 0, "negate": post.get("bought_negate") == "1"}
    return {k: v for k, v in rule.items() if v}


def _choice_code(dimension: str, value: str) -> str:
    """A value typed in the builder: the code of a dimension with fixed values may be typed as its label in the
    reader's language (流失风险 for at_risk)."""
    try:
        choices = semantic.dimension(dimension).choices or {}
    except DomainError:
        return value
    if value in choices:
        return value
    by_label = {str(label): code for code, label in choices.items()}
    return by_label.get(value, value)


def _builder_context(user, post=None) -> dict:
    return {
        "dimensions": queries.rule_dimensions(user), "number_fields": list(queries.NUMBER_LABELS.items()),
        "tags": list(Tag.objects.order_by("name")), "consent_channels": rules.CONSENT_CHANNELS,
        "categories": categories(), "filter_rows": range(FILTER_ROWS), "number_rows": range(NUMBER_ROWS),
        "post": post or {},
    }


@perm_required(CHANGE)
def audience_new(request):
    errors = []
    if request.method == "POST":
        try:
            a = services.create_audience(actor=request.user, name=request.POST.get("name", ""),
                                         description=request.POST.get("description", ""),
                                         rule=rule_from_form(request.POST))
            messages.success(request, _("Audience saved."))
            return redirect("marketing:audience", a.pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "marketing/audience_form.html", {**_builder_context(request.user, request.POST),
                                                              "errors": errors}, status=422 if errors else 200)


@perm_required(CHANGE)
@require_POST
def audience_preview(request):
    """The builder's count, swapped in by HTMX as the rule changes."""
    try:
        services.check_rule(actor=request.user, rule=rule_from_form(request.POST))
        count, errors = queries.audience_count(request.user, rule=rule_from_form(request.POST)), []
    except DomainError as exc:
        count, errors = None, _errors(exc)
    return render(request, "marketing/_preview.html", {"count": count, "errors": errors})


@perm_required(VIEW)
def audience_detail(request, pk: int):
    user = request.user
    audience = queries.get_audience_for(user, pk)
    count = queries.audience_count(user, audience=audience)
    sample = list(queries.audience_customers(user, audience).select_related("owner").order_by("pk")[:20])
    described = queries.describe_rule(rules.parse_rule(audience.rule)) if audience.kind == "dynamic" else []
    return render(request, "marketing/audience_detail.html", {
        "audience": audience, "count": count, "sample": sample, "described": described,
        "can_change": queries.can_change(user), "can_export": perms.has_perm(user, perms.EXPORT),
        "campaigns": list(audience.campaigns.order_by("-id")[:20])})


@perm_required(CHANGE)
@require_POST
def audience_archive(request, pk: int):
    try:
        services.archive_audience(actor=request.user, audience_id=pk)
        messages.success(request, _("Audience archived."))
    except DomainError as exc:
        for e in _errors(exc):
            messages.error(request, e["message"])
    return redirect("marketing:index")


@perm_required(CHANGE)
def audience_upload(request):
    errors, result, status = [], None, 200
    if request.method == "POST":
        try:
            result = services.audience_from_upload(actor=request.user, name=request.POST.get("name", ""),
                                                   upload=request.FILES.get("file"))
            messages.success(request, _("Fixed list saved: %(n)s customers.") % {"n": result.matched})
            if not result.unmatched_count:
                return redirect("marketing:audience", result.audience.pk)
        except DomainError as exc:
            errors, status = _errors(exc), exc.status
    return render(request, "marketing/audience_upload.html", {"errors": errors, "result": result}, status=status)


@perm_required(CHANGE)
@require_POST
def audience_from_selection(request):
    """'Save as audience' on the customer list (source=customers, the list's query string) and on a score list
    (source=scores: RFM cell, churn list): a fixed list of what the page shows the user now."""
    post = request.POST
    name = post.get("name", "").strip()
    try:
        if post.get("source") == "scores":
            params = ScoreListParams.from_query(post)
            if not name:
                name = _("Score list %(filters)s") % {"filters": params.query() or _("(all)")}
            a = services.audience_from_scores(actor=request.user, name=name[:100], params=params)
        else:
            params = CustomerListParams.from_query(post)
            if not name:
                name = _("Customer list %(filters)s") % {"filters": ", ".join(
                    f"{k}={v}" for k, v in params.filter_dict().items()) or _("(all)")}
            a = services.audience_from_customer_list(actor=request.user, name=name[:100], params=params)
    except DomainError as exc:
        for e in _errors(exc):
            messages.error(request, e["message"])
        if request.htmx:  # reload the list page, which shows the message
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return redirect("marketing:index")
    messages.success(request, _("Saved as an audience: %(n)s customers.") % {"n": a.member_count})
    if request.htmx:  # the button posts the list's filter form through htmx: the browser goes to the audience
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("marketing:audience", args=[a.pk])
        return response
    return redirect("marketing:audience", a.pk)


@perm_required(VIEW)
def audience_export(request, pk: int, fmt: str):
    try:
        export = services.export_audience(actor=request.user, audience_id=pk, fmt=fmt,
                                          headers="codes" if request.GET.get("headers") == "codes" else "labels")
    except DomainError as exc:
        _refuse(exc)
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    return exports.as_response(export)




# ----- campaigns ----------------------------------------------------------------------------------------------------

CAMPAIGN_FIELDS = ("name", "description", "audience_id", "channel", "language", "control_share", "stratify_by",
                   "scheduled_at")


def _campaign_data(post) -> dict:
    data = {k: post.get(k, "").strip() for k in CAMPAIGN_FIELDS if k in post}
    if "control_share" in data:
        try:
            data["control_share"] = float(data["control_share"]) / 100
        except ValueError:
            data["control_share"] = "x"
    variants = []
    for key in services.VARIANT_KEYS:
        texts = {f: post.get(f"{key}_{f}", "") for f in ("subject_zh", "subject_en", "body_zh", "body_en")}
        if any(texts.values()):
            variants.append({"key": key, "weight": post.get(f"{key}_weight", "") or 0, **texts})
    if len(variants) == 1:
        variants[0]["weight"] = 100
    data["variants"] = variants
    return data


@perm_required(CHANGE)
def campaign_new(request):
    errors = []
    if request.method == "POST":
        try:
            c = services.create_campaign(actor=request.user, data=_campaign_data(request.POST))
            messages.success(request, _("Campaign saved as a draft."))
            return redirect("marketing:campaign", c.pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "marketing/campaign_form.html", {
        "errors": errors, "post": request.POST, "audiences": queries.visible_audiences(request.user),
        "channels": Campaign.Channel.choices, "strata": Campaign.Strata.choices, "keys": services.VARIANT_KEYS,
        "fields": content.FIELDS, "selected_audience": request.GET.get("audience", "")},
        status=422 if errors else 200)


@perm_required(VIEW)
def campaign_detail(request, pk: int):
    user = request.user
    campaign = queries.get_campaign_for(user, pk)
    return render(request, "marketing/campaign_detail.html", {
        "campaign": campaign, "variants": list(campaign.variants.order_by("key")),
        "outcomes": queries.campaign_outcomes(user, campaign) if campaign.launched_at else None,
        "messages_sample": queries.message_rows(user, queries.campaign_messages(user, campaign)
                                                .select_related("variant").order_by("id")[:20]),
        "can_change": queries.can_change(user), "can_approve": queries.can_approve(user),
        "srm_alarm": campaign.srm_p_value is not None and campaign.srm_p_value < stats.SRM_P_THRESHOLD,
        "needs_approval": services.needs_approval(campaign.estimated_size or 0),
        "approval_size": settings.MARKETING_APPROVAL_SIZE})


CAMPAIGN_ACTIONS = {
    "submit": lambda user, pk, post: services.submit_campaign(actor=user, campaign_id=pk),
    "approve": lambda user, pk, post: services.approve_campaign(actor=user, campaign_id=pk,
                                                                note=post.get("note", "")),
    "reject": lambda user, pk, post: services.reject_campaign(actor=user, campaign_id=pk, note=post.get("note", "")),
    "launch": lambda user, pk, post: services.launch_campaign(actor=user, campaign_id=pk),
    "cancel": lambda user, pk, post: services.cancel_campaign(actor=user, campaign_id=pk),
}


@perm_required(VIEW)
@require_POST
def campaign_action(request, pk: int, action: str):
    run = CAMPAIGN_ACTIONS.get(action)
    if run is None:
        raise Http404()
    try:
        run(request.user, pk, request.POST)
        messages.success(request, _("Done."))
    except DomainError as exc:
        for e in _errors(exc):
            messages.error(request, e["message"])
    return redirect("marketing:campaign", pk)


@perm_required(VIEW)
def campaign_results(request, pk: int):
    user = request.user
    campaign = queries.get_campaign_for(user, pk)
    try:
        window = min(365, max(1, int(request.GET.get("window", 30))))
    except ValueError:
        window = 30
    res = measurement.results(user, campaign, window_days=window)
    chart = None
    if res is not None and res.over_time:
        chart = {"days": [r["day"] for r in res.over_time], "lift": [round(r["lift"], 2) for r in res.over_time],
                 "low": [None if r["ci_low"] is None else round(r["ci_low"], 2) for r in res.over_time],
                 "high": [None if r["ci_high"] is None else round(r["ci_high"], 2) for r in res.over_time],
                 "labels": {"lift": pgettext("campaign result", "Lift"), "low": _("Lower bound"), "high": _("Upper bound")}}
    return render(request, "marketing/campaign_results.html", {
        "campaign": campaign, "res": res, "window": window, "chart": chart,
        "chart_json": json.dumps(chart, ensure_ascii=False) if chart else "",
        "metric_labels": {"revenue": _("Revenue per customer"), "orders": _("Orders per customer"),
                          "purchased": _("Share who bought")}})
