"""Sales pages: my day, leads, the kanban board and list, opportunities, forecast and funnel, key accounts,
ownership transfer, settings, and the public lead form. Thin: every rule is in services, every read in queries."""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clientwise.commerce.queries import can_view_orders, customer_choices
from clientwise.core.decorators import perm_required
from clientwise.core.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from clientwise.customers.queries import get_customer_for, owner_choices, team_choices, visible_customers
from clientwise.dataio import services as imports
from clientwise.dataio.models import QuarantinedRow
from clientwise.sales import presentation, queries, services
from clientwise.sales.models import (
    AccountContact,
    AccountGoal,
    Activity,
    CostToServe,
    KeyAccount,
    Lead,
    Opportunity,
    ProductLine,
    ScoringRule,
    WebForm,
)
from clientwise.sales.models import AssignmentRule as Rule
from clientwise.sales.perms import CHANGE_SALES, MANAGE_SALES, VIEW_SALES

VIEW, CHANGE, MANAGE = VIEW_SALES, CHANGE_SALES, MANAGE_SALES


def _refuse(exc: DomainError) -> None:
    """A record the user may not see is a 404 and a refusal a 403, as in the API: never a flash message or a form
    error (only a business "no" is shown on the page)."""
    if isinstance(exc, NotFound):
        raise Http404() from None
    if not isinstance(exc, ValidationFailed) and exc.status == 403:
        raise PermissionDenied(exc.message) from None


def _errors(exc: DomainError) -> list[dict]:
    _refuse(exc)
    errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
    return [{"field": e.field or "", "message": e.message} for e in errors]


def _flash_error(request, exc: DomainError) -> None:
    for e in _errors(exc):
        messages.error(request, e["message"])


def _back(request, fallback: str):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(fallback)


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --- My day ----------------------------------------------------------------------------------------------------------


@perm_required(VIEW)
def index(request):
    """The rep's day: what to do today, what is late, the leads and customers worth calling."""
    day = queries.my_day(request.user)
    return render(request, "sales/my_day.html", {"day": day, "can_change": queries.can_change(request.user),
                                                  "now": timezone.now(), "kinds": Activity.Kind.choices,
                                                  "outcomes": Activity.Outcome.choices})


@perm_required(VIEW)
@require_POST
def mentions_read(request):
    services.mark_mentions_read(actor=request.user)
    return redirect("sales:index")


# --- Leads -------------------------------------------------------------------------------------------------------------

LEAD_FIELDS = ("name", "company", "mobile", "email", "province", "city", "product_line", "estimated_amount", "message",
               "owner_id")


@perm_required(VIEW)
def lead_list(request):
    status = request.GET.get("status", "")
    qs = queries.visible_leads(request.user).select_related("owner")
    if status in Lead.Status.values:
        qs = qs.filter(status=status)
    elif not status:
        qs = qs.filter(status__in=[Lead.Status.NEW, Lead.Status.WORKING])
    mine = request.GET.get("mine") == "1"
    if mine:
        qs = qs.filter(owner_id=request.user.pk)
    leads = list(qs.order_by("-score", "-id")[:200])
    return render(request, "sales/leads.html", {
        "leads": leads, "status": status, "mine": mine, "statuses": Lead.Status.choices,
        "can_change": queries.can_change(request.user), "can_manage": queries.can_manage(request.user)})


@perm_required(CHANGE)
def lead_new(request):
    errors, values = [], {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in LEAD_FIELDS}
        try:
            lead = services.create_lead(actor=request.user, data={k: v for k, v in values.items() if v},
                                        channel=Lead.Channel.MANUAL)
            messages.success(request, _("Lead saved."))
            return redirect("sales:lead", lead.pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "sales/lead_form.html", {
        "errors": errors, "values": values, "product_lines": ProductLine.choices,
        "owners": owner_choices(request.user)}, status=422 if errors else 200)


@perm_required(CHANGE)
def lead_import(request):
    """Upload a file of leads (CSV in any common encoding, Excel, JSON lines): the import engine's "leads" kind
    (sales/imports.py) reads it, maps its columns by their names and runs it at once; rows with errors are
    listed, the others are kept."""
    result, errors = None, []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors.append(_("Choose a file."))
        else:
            try:
                job = imports.create_job(actor=request.user, kind="leads", upload=upload,
                                         source=request.POST.get("source", "").strip() or "import")
                if job.total_rows is not None and job.total_rows > services.LEAD_IMPORT_MAX_ROWS:
                    raise DomainError(ErrorCode.INVALID, _("At most %(n)d rows at a time.")
                                      % {"n": services.LEAD_IMPORT_MAX_ROWS}, "file")
                job = imports.run_import(job_id=job.pk)
                rejected = [{"row": q.row_number, "errors": q.errors or [{"message": q.message, "field": q.field}]}
                            for q in QuarantinedRow.objects.filter(job=job).order_by("row_number")]
                result = {"created": job.created, "updated": job.updated, "rejected": rejected}
            except DomainError as exc:
                errors.extend(e["message"] for e in _errors(exc))
    return render(request, "sales/lead_import.html", {"result": result, "errors": errors,
                                                       "max_rows": services.LEAD_IMPORT_MAX_ROWS})


@perm_required(VIEW)
def lead_detail(request, pk: int):
    lead = queries.get_lead_for(request.user, pk)
    dup_ids = [d["customer_id"] for d in lead.possible_duplicates or []]
    visible = set(visible_customers(request.user).filter(pk__in=dup_ids).values_list("pk", flat=True))
    return render(request, "sales/lead_detail.html", {
        "lead": lead, "score_reasons": presentation.score_reasons(lead),
        "duplicates": [d for d in lead.possible_duplicates or [] if d["customer_id"] in visible],
        "activities": list(lead.activities.select_related("assignee").order_by("done_at", "due_at", "id")),
        "notes": list(lead.notes.select_related("author")), "can_change": queries.can_change(request.user),
        "pipelines": queries.pipelines(), "default_close": timezone.localdate() + dt.timedelta(days=30),
        "outcomes": Activity.Outcome.choices, "kinds": Activity.Kind.choices, "now": timezone.now()})


@perm_required(CHANGE)
@require_POST
def lead_convert(request, pk: int):
    post = request.POST
    draft = {"name": post.get("opp_name", "").strip(), "amount": post.get("amount", "").strip(),
             "expected_close": post.get("expected_close", "").strip(),
             "pipeline_id": _int_or_none(post.get("pipeline_id"))}
    try:
        lead = services.convert_lead(actor=request.user, lead_id=pk,
                                     customer_id=_int_or_none(post.get("customer_id")),
                                     create_opportunity=post.get("create_opportunity") == "1",
                                     opportunity={k: v for k, v in draft.items() if v not in (None, "")})
    except DomainError as exc:
        _flash_error(request, exc)
        return redirect("sales:lead", pk)
    messages.success(request, _("Lead converted."))
    if lead.opportunity_id:
        return redirect("sales:opportunity", lead.opportunity_id)
    return redirect("customers:detail", lead.customer_id)


@perm_required(CHANGE)
@require_POST
def lead_status(request, pk: int):
    try:
        services.update_lead(actor=request.user, lead_id=pk, data={
            "status": request.POST.get("status", ""), "disqualified_reason": request.POST.get("reason", "")})
    except DomainError as exc:
        _flash_error(request, exc)
    return redirect("sales:lead", pk)


# --- Board and opportunities ----------------------------------------------------------------------------------------------


def _filters(request) -> queries.OpportunityFilters:
    g = request.GET
    return queries.OpportunityFilters(q=g.get("q", "").strip()[:100], owner=_int_or_none(g.get("owner")),
                                      status=g.get("status", "") if g.get("status") in Opportunity.Status.values
                                      else "", stage=_int_or_none(g.get("stage")))


def _board_context(request, pipeline):
    f = _filters(request)
    return {"pipeline": pipeline, "columns": queries.board(request.user, pipeline, f), "filters": f,
            "lost_reasons": Opportunity.LostReason.choices, "can_change": queries.can_change(request.user),
            "query": request.GET.urlencode()}


@perm_required(VIEW)
def board(request):
    try:
        pipeline = queries.get_pipeline(_int_or_none(request.GET.get("pipeline")))
    except NotFound:
        raise Http404 from None
    ctx = _board_context(request, pipeline)
    if request.htmx and request.htmx.target == "sales-board":
        return render(request, "sales/_board.html", ctx)
    ctx.update({"pipelines": queries.pipelines(), "owners": _filter_choices(owner_choices(request.user))})
    return render(request, "sales/board.html", ctx)


@perm_required(CHANGE)
@require_POST
def opportunity_move(request, pk: int):
    """Drag and drop (HTMX) or the card's stage menu (plain form): move, then show the board again."""
    error = None
    try:
        opp = services.move_opportunity(actor=request.user, opportunity_id=pk,
                                        stage_id=request.POST.get("stage_id"),
                                        lost_reason=request.POST.get("lost_reason", ""),
                                        lost_note=request.POST.get("lost_note", "").strip())
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        error = " ".join(e["message"] for e in _errors(exc))
        opp = None
    if request.htmx:
        pipeline = opp.pipeline if opp else queries.get_opportunity_for(request.user, pk).pipeline
        ctx = _board_context(request, pipeline)
        ctx["board_error"] = error
        ctx["moved_id"] = pk
        return render(request, "sales/_board.html", ctx, status=422 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Moved to %(stage)s.") % {"stage": opp.stage.name})
    return _back(request, reverse("sales:board"))


@perm_required(VIEW)
def opportunity_list(request):
    f = _filters(request)
    qs = queries.opportunity_list(request.user, f).order_by("expected_close", "id")
    rows = list(qs[:300])
    return render(request, "sales/opportunities.html", {
        "rows": rows, "filters": f, "owners": _filter_choices(owner_choices(request.user)),
        "statuses": Opportunity.Status.choices,
        "truncated": len(rows) == 300, "can_change": queries.can_change(request.user)})


@perm_required(CHANGE)
def pick_customer(request):
    """Find the customer first (for a new opportunity or key account)."""
    then = request.GET.get("then", "opportunity")
    q = request.GET.get("q", "").strip()
    ctx = {"q": q, "choices": customer_choices(request.user, q) if q else [], "then": then}
    if request.htmx and request.htmx.target == "customer-choices":
        return render(request, "sales/_customer_choices.html", ctx)
    return render(request, "sales/pick_customer.html", ctx)


@perm_required(CHANGE)
def opportunity_new(request):
    customer_id = request.GET.get("customer") or request.POST.get("customer_id")
    if not customer_id:
        return redirect(reverse("sales:pick_customer") + "?then=opportunity")
    customer = get_customer_for(request.user, customer_id)
    errors, values = [], {"expected_close": (timezone.localdate() + dt.timedelta(days=30)).isoformat()}
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in (
            "name", "amount", "expected_close", "pipeline_id", "next_step", "next_step_date", "owner_id")}
        data = {k: v for k, v in values.items() if v}
        data["customer_id"] = customer.pk
        data["product_lines"] = request.POST.getlist("product_lines")
        try:
            opp = services.create_opportunity(actor=request.user, data=data)
            messages.success(request, _("Opportunity created."))
            return redirect("sales:opportunity", opp.pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "sales/opportunity_form.html", {
        "customer": customer, "errors": errors, "values": values, "pipelines": queries.pipelines(),
        "product_lines": ProductLine.choices, "owners": owner_choices(request.user),
        "selected_lines": request.POST.getlist("product_lines")}, status=422 if errors else 200)


@perm_required(VIEW)
def opportunity_detail(request, pk: int):
    opp = queries.get_opportunity_for(request.user, pk)
    errors = []
    if request.method == "POST":
        if not queries.can_change(request.user):
            raise PermissionDenied
        data = {k: request.POST.get(k, "").strip() for k in (
            "name", "amount", "expected_close", "probability", "next_step", "next_step_date")}
        data["product_lines"] = request.POST.getlist("product_lines")
        try:
            services.update_opportunity(actor=request.user, opportunity_id=pk, data=data)
            messages.success(request, _("Saved."))
            return redirect("sales:opportunity", pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "sales/opportunity_detail.html", {
        "opp": opp, "history": queries.stage_history(opp), "stages": list(opp.pipeline.stages.all()),
        "activities": list(opp.activities.select_related("assignee").order_by("done_at", "due_at", "id")),
        "notes": list(opp.notes.select_related("author")), "errors": errors,
        "lost_reasons": Opportunity.LostReason.choices, "product_lines": ProductLine.choices,
        "can_change": queries.can_change(request.user), "outcomes": Activity.Outcome.choices,
        "kinds": Activity.Kind.choices, "now": timezone.now()}, status=422 if errors else 200)


# --- Activities and notes -------------------------------------------------------------------------------------------------


@perm_required(CHANGE)
@require_POST
def activity_new(request):
    post = request.POST
    data = {k: post.get(k, "").strip() for k in ("kind", "subject", "notes", "due_at", "remind_at", "outcome",
                                                 "follow_up_at", "customer_id", "lead_id", "opportunity_id",
                                                 "assignee_id")}
    try:
        services.create_activity(actor=request.user, data={k: v for k, v in data.items() if v})
        messages.success(request, _("Saved."))
    except DomainError as exc:
        _flash_error(request, exc)
    return _back(request, reverse("sales:index"))


@perm_required(CHANGE)
@require_POST
def activity_done(request, pk: int):
    try:
        services.complete_activity(actor=request.user, activity_id=pk, outcome=request.POST.get("outcome", ""),
                                   notes=request.POST.get("notes", "").strip(),
                                   follow_up_at=request.POST.get("follow_up_at", "").strip() or None)
        messages.success(request, _("Marked done."))
    except DomainError as exc:
        _flash_error(request, exc)
    return _back(request, reverse("sales:index"))


@perm_required(CHANGE)
@require_POST
def note_new(request):
    post = request.POST
    try:
        services.add_note(actor=request.user, body=post.get("body", ""),
                          customer_id=_int_or_none(post.get("customer_id")),
                          lead_id=_int_or_none(post.get("lead_id")),
                          opportunity_id=_int_or_none(post.get("opportunity_id")))
        messages.success(request, _("Note added."))
    except DomainError as exc:
        _flash_error(request, exc)
    return _back(request, reverse("sales:index"))


# --- Forecast and funnel --------------------------------------------------------------------------------------------------


def _f(value) -> float:
    return round(float(value), 2) if value is not None else 0.0


@perm_required(VIEW)
def forecast(request):
    user = request.user
    try:
        months = min(max(int(request.GET.get("months", 6)), 1), 24)
    except ValueError:
        months = 6
    owner = _int_or_none(request.GET.get("owner"))
    team = _int_or_none(request.GET.get("team"))
    try:
        pipeline = queries.get_pipeline(_int_or_none(request.GET.get("pipeline")))
    except NotFound:
        raise Http404 from None
    # The window starts this month ("6 months" is this month and the five ahead); `back` adds the last 3 months
    # (the quarter's wins and attainment) when asked for, and says so in the menu.
    back = 3 if request.GET.get("back") == "3" else 0
    start = timezone.localdate().replace(day=1)
    for _month in range(back):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    fc = queries.forecast(user, start=start, months=months + back, owner=owner, team=team)
    fn = queries.funnel(user, pipeline, owner=owner)
    charts = {
        "months": [r["label"] for r in fc["by_month"]],
        "weighted": [_f(r["weighted"]) for r in fc["by_month"]],
        "won": [_f(r["won"]) for r in fc["by_month"]],
        # A month nobody set a quota for has none (a gap in the line), not a quota of 0 drawn as a cliff.
        "quota": [_f(r["quota"]) if r["quota"] else None for r in fc["by_month"]],
        "funnel": [{"name": r["stage"].name, "value": r["reached"]} for r in fn["stages"]],
        "labels": {"weighted": _("Weighted pipeline"), "won": _("Won"), "quota": _("Quota"),
                   "reached": _("Opportunities that reached the stage")},
        "currency": "¥" if settings.CURRENCY == "CNY" else settings.CURRENCY + " ",
    }
    return render(request, "sales/forecast.html", {
        "fc": fc, "fn": fn, "charts": charts, "months": months, "back": back, "owner": owner, "team": team,
        "owners": _filter_choices(owner_choices(user)), "teams": _filter_choices(team_choices(user)),
        "pipelines": queries.pipelines(),
        "pipeline": pipeline, "can_manage": queries.can_manage(user),
        "quota_month": timezone.localdate().replace(day=1).isoformat()})


def _filter_choices(items: list) -> list:
    """What a filter menu offers: nothing when there is only one thing to choose (a sales rep's owners are
    themselves, their teams their own), so the menu and its "All owners / All teams" are left out."""
    return items if len(items) > 1 else []


@perm_required(MANAGE)
@require_POST
def quota_set(request):
    try:
        services.set_quota(actor=request.user, user_id=request.POST.get("user_id"), month=request.POST.get("month"),
                           amount=request.POST.get("amount"))
        messages.success(request, _("Quota saved."))
    except DomainError as exc:
        _flash_error(request, exc)
    return redirect("sales:forecast")


# --- Key accounts -----------------------------------------------------------------------------------------------------------


@perm_required(VIEW)
def account_list(request):
    accounts = list(queries.visible_key_accounts(request.user).select_related("customer", "owner")
                    .order_by("customer__name", "id")[:200])
    figures = queries.key_accounts_figures(request.user, accounts)
    rows = [{"account": a, "figures": figures[a.pk]} for a in accounts]
    return render(request, "sales/accounts.html", {"rows": rows, "can_change": queries.can_change(request.user)})


@perm_required(CHANGE)
@require_POST
def account_new(request):
    try:
        account = services.create_key_account(actor=request.user, customer_id=request.POST.get("customer_id"),
                                              relationship_stage=request.POST.get("relationship_stage", "vendor"))
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        _flash_error(request, exc)
        return _back(request, reverse("sales:accounts"))
    return redirect("sales:account", account.pk)


@perm_required(VIEW)
def account_detail(request, pk: int):
    account = queries.get_key_account_for(request.user, pk)
    figures = queries.key_account_figures(request.user, account)
    chart = {"periods": [w["period"].strftime("%Y-%m") for w in figures["wallet"]],
             "share": [round(w["share"] * 100, 1) if w["share"] is not None else None for w in figures["wallet"]],
             "ours": [_f(w["our_volume"]) for w in figures["wallet"]],
             "total": [_f(w["total_demand"]) for w in figures["wallet"]],
             "labels": {"share": _("Share of wallet (%)"), "ours": _("Our volume"), "total": _("Total demand")}}

    return render(request, "sales/account_detail.html", {
        "account": account, "figures": figures, "chart": chart, "goal_statuses": AccountGoal.Status.choices,
        "history": list(account.relationship_changes.select_related("actor")),
        "goals": list(account.goals.all()), "tree": queries.org_chart(account),
        "contacts": list(account.contacts.all()), "stages": KeyAccount.RelationshipStage.choices,
        "cost_categories": CostToServe.Category.choices, "roles": AccountContact.Role.choices,
        "influences": AccountContact.Influence.choices, "can_change": queries.can_change(request.user),
        "can_orders": can_view_orders(request.user), "this_month": timezone.localdate().replace(day=1).isoformat(),
        "opportunities": list(queries.visible_opportunities(request.user).filter(customer_id=account.customer_id)
                              .select_related("stage").order_by("-created_at")[:10])})


def _account_action(request, pk: int, call) -> HttpResponse:
    try:
        call()
        messages.success(request, _("Saved."))
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        _flash_error(request, exc)
    return redirect("sales:account", pk)


@perm_required(CHANGE)
@require_POST
def account_stage(request, pk: int):
    p = request.POST
    return _account_action(request, pk, lambda: services.change_relationship_stage(
        actor=request.user, account_id=pk, stage=p.get("stage", ""), note=p.get("note", ""), on=p.get("on") or None))


@perm_required(CHANGE)
@require_POST
def account_wallet(request, pk: int):
    p = request.POST
    return _account_action(request, pk, lambda: services.record_wallet_share(
        actor=request.user, account_id=pk, period=p.get("period"), our_volume=p.get("our_volume"),
        total_demand=p.get("total_demand"), source="entered"))


@perm_required(CHANGE)
@require_POST
def account_cost(request, pk: int):
    p = request.POST
    return _account_action(request, pk, lambda: services.add_cost_to_serve(
        actor=request.user, account_id=pk, period=p.get("period"), category=p.get("category", ""),
        amount=p.get("amount")))


@perm_required(CHANGE)
@require_POST
def account_goal(request, pk: int):
    p = request.POST
    return _account_action(request, pk, lambda: services.add_account_goal(actor=request.user, account_id=pk, data={
        k: p.get(k, "").strip() for k in ("title", "target", "due", "plan_note")}))


@perm_required(CHANGE)
@require_POST
def account_goal_status(request, pk: int, goal_id: int):
    return _account_action(request, pk, lambda: services.set_goal_status(
        actor=request.user, goal_id=goal_id, status=request.POST.get("status", "")))


@perm_required(CHANGE)
@require_POST
def account_contact(request, pk: int):
    p = request.POST
    return _account_action(request, pk, lambda: services.add_account_contact(actor=request.user, account_id=pk, data={
        k: p.get(k, "").strip() for k in ("name", "title", "role", "influence", "reports_to_id")}))


# --- Ownership transfer and settings ------------------------------------------------------------------------------------------


@perm_required(MANAGE)
def transfer(request):
    user = request.user
    people = owner_choices(user)
    errors, result, values = [], None, {}
    if request.method == "POST":
        values = {"from_user_id": request.POST.get("from_user_id", ""),
                  "to_user_ids": request.POST.getlist("to_user_ids"), "reason": request.POST.get("reason", "")}
        try:
            result = services.transfer_ownership(actor=user, from_user_id=values["from_user_id"],
                                                 to_user_ids=values["to_user_ids"], reason=values["reason"])
            messages.success(request, _("Handed over. Nothing is left with the previous owner."))
            return redirect(reverse("sales:transfer") + f"?done={result.pk}")
        except DomainError as exc:
            errors = _errors(exc)
    User = get_user_model()
    done = None
    if request.GET.get("done"):
        done = next((t for t in queries.transfers(user) if str(t.pk) == request.GET["done"]), None)
    history = queries.transfers(user)
    names = {u.pk: str(u) for u in User.objects.filter(
        pk__in={uid for t in history for uid in t.to_user_ids})}
    for t in history:
        t.to_names = [names.get(uid, "—") for uid in t.to_user_ids]
    selected = _int_or_none(request.GET.get("from") or values.get("from_user_id"))
    return render(request, "sales/transfer.html", {
        "people": people, "errors": errors, "values": values, "history": history, "done": done,
        "selected": selected, "leftovers": queries.leftovers(selected) if selected else None},
        status=422 if errors else 200)


@perm_required(MANAGE)
def settings_page(request):
    return render(request, "sales/settings.html", {
        "forms": list(WebForm.objects.order_by("name")), "rules": list(Rule.objects.prefetch_related("members")),
        "scoring": [{"text": presentation.rule_text(r.field, r.value), "points": r.points}
                    for r in ScoringRule.objects.all()], "people": owner_choices(request.user),
        "conditions": Rule.Condition.choices, "fields": ScoringRule.Field.choices,
        "product_lines": ProductLine.choices, "pipelines": queries.pipelines()})


@perm_required(MANAGE)
@require_POST
def settings_action(request, what: str):
    p = request.POST
    try:
        if what == "form":
            services.create_web_form(actor=request.user, name=p.get("name", ""), product_line=p.get("product_line", ""),
                                     thank_you=p.get("thank_you", ""))
        elif what == "rule":
            services.save_assignment_rule(actor=request.user, data={
                "name": p.get("name", ""), "condition": p.get("condition", "any"), "value": p.get("value", ""),
                "member_ids": p.getlist("member_ids"), "position": p.get("position") or 0})
        elif what == "pipeline":
            services.create_pipeline(actor=request.user, name=p.get("name", ""), stages=[
                *[_stage_line(line) for line in p.get("open_stages", "").splitlines() if line.strip()],
                {"name": p.get("won_name", ""), "kind": "won"}, {"name": p.get("lost_name", ""), "kind": "lost"}])
        elif what == "scoring":
            services.save_scoring_rule(actor=request.user, data={"field": p.get("field", ""), "value": p.get("value", ""),
                                                                 "points": p.get("points")})
        else:
            raise Http404
        messages.success(request, _("Saved."))
    except DomainError as exc:
        _flash_error(request, exc)
    return redirect("sales:settings")


def _stage_line(line: str) -> dict:
    """One line of the new-pipeline form: "Name, probability" (a Chinese comma works too)."""
    name, sep, probability = line.replace("，", ",").rpartition(",")
    if not sep:
        return {"name": line.strip(), "probability": "", "kind": "open"}
    return {"name": name.strip(), "probability": probability.strip().rstrip("%"), "kind": "open"}


@perm_required(MANAGE)
@require_POST
def pipeline_save(request, pk: int):
    """The stage editor of one pipeline: rows of (id, name, probability, position, kind), removal boxes, blank
    rows for new open stages; open stages are put in the order of their position numbers."""
    p = request.POST
    removed = set(p.getlist("stage_remove"))
    rows = []
    for i, (sid, name, probability, position, kind) in enumerate(zip(
            p.getlist("stage_id"), p.getlist("stage_name"), p.getlist("stage_probability"),
            p.getlist("stage_position"), p.getlist("stage_kind"), strict=False)):
        if (sid and sid in removed) or (not sid and not name.strip()):
            continue
        try:
            order = float(position)
        except ValueError:
            order = float(i)
        rows.append((order, i, {"id": _int_or_none(sid), "name": name, "probability": probability or 0,
                                "kind": kind or "open"}))
    rows.sort(key=lambda r: (r[0], r[1]))
    try:
        services.update_pipeline(actor=request.user, pipeline_id=pk, name=p.get("name", ""),
                                 stages=[r[2] for r in rows])
        messages.success(request, _("Saved."))
    except DomainError as exc:
        _flash_error(request, exc)
    return redirect(reverse("sales:settings") + "#pipelines")


# --- The public lead form ------------------------------------------------------------------------------------------------------


def _client(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@csrf_exempt
def webform(request, token: str):
    """A "contact sales" form anyone can open and post without signing in. The form's secret token in the URL
    stands in for CSRF; submissions are limited per address; a hidden field catches bots. Accepts a browser
    form post or JSON (for a website's own form)."""
    form = WebForm.objects.filter(token=token[:40], active=True).first()
    if form is None:
        raise Http404
    wants_json = request.content_type == "application/json"
    if request.method == "POST":
        if wants_json:
            try:
                data = json.loads(request.body or b"{}")
                if not isinstance(data, dict):
                    raise ValueError
            except ValueError:
                return JsonResponse({"code": "invalid", "message": "Send a JSON object.", "field": None}, status=400)
        else:
            data = request.POST.dict()
        try:
            services.submit_web_form(token=token, data=data, client=_client(request))
        except DomainError as exc:
            if wants_json:
                return JsonResponse(exc.as_dict(), status=exc.status)
            return render(request, "sales/webform.html", {"form": form, "errors": _errors(exc), "values": data,
                                                          "product_lines": ProductLine.choices}, status=exc.status)
        if wants_json:
            return JsonResponse({"status": "received"}, status=201)
        return render(request, "sales/webform.html", {"form": form, "done": True})
    if request.method != "GET":
        return HttpResponse(status=405)
    return render(request, "sales/webform.html", {"form": form, "values": {}, "product_lines": ProductLine.choices})
