"""Service pages: the agent workspace (phone lookup, my tickets, alerts, knowledge base), tickets, work orders,
reports, configuration, and the public survey page. Thin: parse, call services/queries, render."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clientwise.accounts.models import User
from clientwise.analytics.dashboards import action_for
from clientwise.commerce.queries import customer_orders
from clientwise.core import permissions as perms
from clientwise.core.decorators import add_domain_error, perm_required
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.labels import label_list
from clientwise.core.templatetags.cw import money
from clientwise.customers.queries import get_customer_for
from clientwise.customers.services import audit_pii_view
from clientwise.service import queries, reports, services
from clientwise.service.forms import (
    CONFIG,
    AssignForm,
    AttachmentForm,
    CompleteForm,
    MessageForm,
    SignOffForm,
    StatusForm,
    TicketForm,
    WorkOrderForm,
    config_form,
)
from clientwise.service.models import Priority, Queue, Ticket, TicketType, WorkOrder
from clientwise.service.perms import SERVICE_MANAGE, SERVICE_REPORTS, SERVICE_VIEW, SERVICE_WORK
from clientwise.service.rules import next_visit_window


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Agent workspace --------------------------------------------------------------------------------------------


@perm_required(SERVICE_VIEW)
def index(request):
    user = request.user
    context = {
        "my_tickets": queries.my_tickets(user),
        "unassigned": queries.unassigned_tickets(user),
        "alerts": queries.my_alerts(user),
        "articles": queries.search_articles(request.GET.get("kb", "")) if request.GET.get("kb") else [],
        "kb_q": request.GET.get("kb", ""),
        "sla": reports.sla_summary(user),
        "can_work": perms.has_perm(user, SERVICE_WORK),
        "can_manage": perms.has_perm(user, SERVICE_MANAGE),
        "can_reports": perms.has_perm(user, SERVICE_REPORTS),
    }
    return render(request, "service/index.html", context)


@perm_required(SERVICE_VIEW)
def lookup(request):
    """A call comes in: find the caller by the whole phone number or its last 8 digits. One live match is answered
    with the call screen itself — no redirect round trip while the caller waits; the page shows its own address
    (/service/call/<id>/) in the address bar — several give a short pick list."""
    phone = (request.GET.get("phone") or "").strip()[:40]
    found = queries.phone_lookup(request.user, phone) if phone else []
    live = [c for c in found if c.archived_at is None]
    if len(live) == 1:
        return _call_page(request, queries.call_screen(request.user, live[0].pk, customer=live[0]), phone)
    return render(request, "service/lookup.html", {
        "phone": phone, "found": found[:queries.LOOKUP_LIMIT], "more": len(found) > queries.LOOKUP_LIMIT,
        "can_create": perms.has_perm(request.user, perms.CHANGE_CUSTOMERS)})


@perm_required(SERVICE_VIEW)
def call_screen(request, pk: int):
    """The agent's call screen: the caller with open tickets, recent orders, tier, churn risk, next best action and
    'new ticket', on one screen. A customer the user may not see is a 404, as everywhere."""
    phone = (request.GET.get("phone") or "").strip()[:40]
    return _call_page(request, queries.call_screen(request.user, pk), phone)


def _call_page(request, screen: queries.CallScreen, phone: str):
    """The call screen page (from the lookup or its own address); showing the unmasked phone is audited."""
    if perms.can_view_pii(request.user):
        audit_pii_view(actor=request.user, customer_ids=[screen.customer.pk], context="call_screen")
    address = reverse("service:call", args=[screen.customer.pk]) + ("?" + urlencode({"phone": phone}) if phone else "")
    return render(request, "service/call.html", {"s": screen, "customer": screen.customer, "phone": phone,
                                                  "address": address, **_call_rows(screen)})


def _link(name: str) -> Callable[[int], str]:
    """The URL of `name` for a primary key, reversed once per page rather than once per row."""
    marker = 2_147_483_647
    before, after = reverse(name, args=[marker]).split(str(marker))
    return lambda pk: f"{before}{pk}{after}"


def _when(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return timezone.localtime(value).strftime(fmt) if value else ""


def _call_rows(screen: queries.CallScreen) -> dict:
    """The call screen's lists as plain rows, formatted here once: the page is rendered while a caller waits, and
    each template tag or filter per row (URL, date, money, badge include) costs more than these few lines."""
    ticket_url, work_order_url = _link("service:ticket"), _link("service:work_order")
    sla = {"breached": (_("SLA breached"), "text-bg-danger", "alarm"),
           "warning": (_("SLA due soon"), "text-bg-warning", "hourglass-split")}
    tickets = [{"url": ticket_url(t.pk), "number": t.number, "subject": Truncator(t.subject).chars(48),
                "opened": _when(t.opened_at), "assignee": str(t.assignee) if t.assignee_id else "",
                "status": t.status, "status_label": t.get_status_display(), "priority": t.priority,
                "priority_label": t.get_priority_display(), "sla": sla.get(t.sla_state)} for t in screen.tickets]
    work_orders = [{"url": work_order_url(w.pk), "number": w.number, "kind": w.get_kind_display(),
                    "start": _when(w.window_start), "status": w.get_status_display(), "overdue": w.overdue}
                   for w in screen.work_orders]
    orders = None
    if screen.orders is not None:
        order_url = _link("commerce:order_detail")
        orders = [{"url": order_url(o.pk), "number": o.number,
                   "cancelled": o.get_status_display() if o.status == "cancelled" else "",
                   "date": _when(o.ordered_at, "%Y-%m-%d"),
                   "store": (o.store.name if o.store_id else "") or (o.channel.name if o.channel_id else "") or "—",
                   "amount": money(o.amount, o.currency)} for o in screen.orders]
    return {"ticket_rows": tickets, "work_order_rows": work_orders, "order_rows": orders}


@perm_required(SERVICE_VIEW)
def kb(request):
    """Knowledge-base search (the workspace swaps this partial in as the agent types)."""
    q = request.GET.get("kb", "")
    context = {"articles": queries.search_articles(q) if q.strip() else [], "kb_q": q}
    if request.htmx:
        return render(request, "service/_kb_results.html", context)
    return render(request, "service/kb.html", context)


# --- Tickets ----------------------------------------------------------------------------------------------------


def _ticket_filters(request) -> queries.TicketFilters:
    g = request.GET
    status = g.get("status", "active")
    valid_status = {"", "active", *Ticket.Status.values}
    assignee = g.get("assignee", "")
    return queries.TicketFilters(
        status=status if status in valid_status else "active",
        type=g.get("type") if g.get("type") in TicketType.values else "",
        priority=g.get("priority") if g.get("priority") in Priority.values else "",
        queue=_int(g.get("queue")), customer=_int(g.get("customer")),
        assignee=request.user.pk if assignee == "me" else (0 if assignee == "none" else _int(assignee)),
        sla=g.get("sla") if g.get("sla") in ("warning", "breached") else "", q=g.get("q", "")[:20])


@perm_required(SERVICE_VIEW)
def ticket_list(request):
    f = _ticket_filters(request)
    sort = request.GET.get("sort", "-opened")
    try:
        page = queries.ticket_page(request.user, f, sort=sort, cursor=request.GET.get("cursor") or None)
    except DomainError:
        page = queries.ticket_page(request.user, f, sort=sort)
    context = {"page": page, "f": f, "sort": sort, "statuses": Ticket.Status.choices, "types": TicketType.choices,
               "priorities": Priority.choices, "queues": Queue.objects.filter(active=True),
               "assignee": request.GET.get("assignee", ""), "now": timezone.now(),
               "can_work": perms.has_perm(request.user, SERVICE_WORK)}
    if request.htmx:
        return render(request, "service/_ticket_table.html", context)
    return render(request, "service/ticket_list.html", context)


@perm_required(SERVICE_WORK)
@require_http_methods(["GET", "POST"])
def ticket_new(request):
    customer_id = request.POST.get("customer") or request.GET.get("customer")
    customer = get_customer_for(request.user, customer_id)
    orders = customer_orders(customer.pk, limit=20)
    products = {line.product for o in orders for line in o.lines.all()} if orders else set()
    form = TicketForm(request.POST or None, initial={"customer": customer.pk}, orders=orders,
                      products=sorted(products, key=lambda p: p.name))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            ticket = services.create_ticket(
                actor=request.user, customer_id=customer.pk, type=d["type"], channel=d["channel"],
                subject=d["subject"], description=d["description"], category_id=d["category"].pk if d["category"]
                else None, priority=d["priority"], order_id=d["order"], product_id=d["product"])
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Ticket %(number)s created and routed: %(note)s") % {
                "number": ticket.number, "note": ticket.routing_note})
            return redirect("service:ticket", pk=ticket.pk)
    facts = services.customer_facts(customer.pk)
    return render(request, "service/ticket_form.html", {"form": form, "customer": customer, "facts": facts})


def _ticket_context(request, ticket: Ticket, **forms) -> dict:
    user = request.user
    agents = [u for u in User.objects.filter(is_active=True).exclude(role="").order_by("username")
              if perms.has_perm(u, SERVICE_WORK)]
    facts = services.customer_facts(ticket.customer_id)

    return {
        "ticket": ticket, "customer": ticket.customer,
        "messages_": list(ticket.messages.select_related("author")),
        "attachments": list(ticket.attachments.all()),
        "events": list(ticket.sla_events.select_related("notified")),
        "work_orders": list(ticket.work_orders.select_related("technician")),
        "surveys": list(ticket.surveys.all()),
        "facts": facts, "action": action_for(facts.next_action) if facts.next_action else None,
        "message_form": forms.get("message_form") or MessageForm(),
        "status_form": forms.get("status_form") or StatusForm(initial={"status": "resolved"}),
        "assign_form": forms.get("assign_form") or AssignForm(agents=agents, initial={"queue": ticket.queue_id}),
        "attach_form": AttachmentForm(),
        "canned": queries.canned_replies(ticket.category_id),
        "articles": queries.search_articles("", category_id=ticket.category_id) if ticket.category_id else [],
        "can_work": perms.has_perm(user, SERVICE_WORK) and ticket.status != Ticket.Status.CLOSED,
        "now": timezone.now(),
        "next_statuses": [(s, Ticket.Status(s).label) for s in services.TRANSITIONS[ticket.status]],
        "canned_map": {str(c.pk): c.body for c in queries.canned_replies(ticket.category_id)},
    }


@perm_required(SERVICE_VIEW)
def ticket_detail(request, pk: int):
    ticket = queries.get_ticket_for(request.user, pk)
    return render(request, "service/ticket_detail.html", _ticket_context(request, ticket))


@perm_required(SERVICE_WORK)
@require_POST
def ticket_action(request, pk: int, action: str):
    """One POST endpoint per action on a ticket: message, status, assign, escalate, attach."""
    user = request.user
    ticket = queries.get_ticket_for(user, pk)
    form = None
    try:
        if action == "message":
            form = MessageForm(request.POST)
            if form.is_valid():
                services.add_message(actor=user, ticket_id=ticket.pk, kind=form.cleaned_data["kind"],
                                     body=form.cleaned_data["body"])
                messages.success(request, _("Message saved."))
                return redirect("service:ticket", pk=ticket.pk)
            return render(request, "service/ticket_detail.html", _ticket_context(request, ticket, message_form=form),
                          status=422)
        if action == "status":
            form = StatusForm(request.POST)
            if form.is_valid():
                d = form.cleaned_data
                services.change_status(actor=user, ticket_id=ticket.pk, status=d["status"],
                                       resolution=d["resolution"],
                                       root_cause_id=d["root_cause"].pk if d["root_cause"] else None)
                messages.success(request, _("Status changed."))
                return redirect("service:ticket", pk=ticket.pk)
            return render(request, "service/ticket_detail.html", _ticket_context(request, ticket, status_form=form),
                          status=422)
        if action == "assign":
            queue_id = _int(request.POST.get("queue"))
            assignee_id = _int(request.POST.get("assignee"))
            services.assign_ticket(actor=user, ticket_id=ticket.pk, queue_id=queue_id, assignee_id=assignee_id)
            messages.success(request, _("Ticket reassigned."))
        elif action == "escalate":
            services.escalate_ticket(actor=user, ticket_id=ticket.pk, reason=request.POST.get("reason", ""))
            messages.success(request, _("Ticket escalated."))
        elif action == "attach":
            upload = request.FILES.get("file")
            if upload is None:
                messages.error(request, _("Choose a file."))
            else:
                services.add_attachment(actor=user, ticket_id=ticket.pk, upload=upload)
                messages.success(request, _("File attached."))
        else:
            raise Http404
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        if form is not None:
            add_domain_error(form, exc)
            key = "message_form" if action == "message" else "status_form"
            return render(request, "service/ticket_detail.html", _ticket_context(request, ticket, **{key: form}),
                          status=exc.status)
        messages.error(request, exc.message)
    return redirect("service:ticket", pk=ticket.pk)


@perm_required(SERVICE_VIEW)
def attachment(request, pk: int, attachment_id: int):
    """Download an attachment: only for users who may see the ticket; never served as a static file."""
    ticket = queries.get_ticket_for(request.user, pk)
    att = ticket.attachments.filter(pk=attachment_id).first()
    if att is None:
        raise Http404
    try:
        handle = att.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=att.name, content_type=att.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Work orders ------------------------------------------------------------------------------------------------


@perm_required(SERVICE_VIEW)
def work_order_list(request):
    status = request.GET.get("status", "active")
    status = status if status in {"", "active", *WorkOrder.Status.values} else "active"
    try:
        page = queries.work_order_page(request.user, status=status, cursor=request.GET.get("cursor") or None)
    except DomainError:
        page = queries.work_order_page(request.user, status=status)
    return render(request, "service/work_order_list.html", {
        "page": page, "status": status, "statuses": WorkOrder.Status.choices,
        "today": timezone.localdate().isoformat()})


@perm_required(SERVICE_WORK)
@require_http_methods(["GET", "POST"])
def work_order_new(request):
    src = request.POST or request.GET
    customer = get_customer_for(request.user, src.get("customer"))
    ticket = None
    if _int(src.get("ticket")):
        ticket = queries.get_ticket_for(request.user, src.get("ticket"))
    start, end = next_visit_window()
    initial = {"customer": customer.pk, "ticket": ticket.pk if ticket else None, "city": customer.city,
               "kind": "repair", "window_start": timezone.localtime(start), "window_end": timezone.localtime(end),
               "skill": ticket.category.skill if ticket and ticket.category_id else "",
               "rural": customer.urban_rural == "rural"}
    form = WorkOrderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            wo = services.create_work_order(
                actor=request.user, customer_id=customer.pk, ticket_id=ticket.pk if ticket else None,
                kind=d["kind"], address=d["address"], city=d["city"], rural=d["rural"],
                window_start=d["window_start"], window_end=d["window_end"], skill=d["skill"], notes=d["notes"])
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Work order %(number)s scheduled.") % {"number": wo.number})
            return redirect("service:work_order", pk=wo.pk)
    return render(request, "service/work_order_form.html", {"form": form, "customer": customer, "ticket": ticket})


@perm_required(SERVICE_VIEW)
def work_order_detail(request, pk: int):
    wo = queries.get_work_order_for(request.user, pk)
    return render(request, "service/work_order_detail.html", {
        "wo": wo, "parts": list(wo.parts.all()), "complete_form": CompleteForm(), "signoff_form": SignOffForm(),
        "can_work": perms.has_perm(request.user, SERVICE_WORK)})


@perm_required(SERVICE_WORK)
@require_POST
def work_order_action(request, pk: int, action: str):
    user = request.user
    wo = queries.get_work_order_for(user, pk)
    try:
        if action == "assign":
            services.assign_technician(actor=user, work_order_id=wo.pk,
                                       technician_id=_int(request.POST.get("technician")))
        elif action == "start":
            services.start_work_order(actor=user, work_order_id=wo.pk)
        elif action == "complete":
            form = CompleteForm(request.POST)
            if not form.is_valid():
                raise DomainError(ErrorCode.INVALID, "; ".join(e for errs in form.errors.values() for e in errs))
            d = form.cleaned_data
            parts = [{"description": d["part"], "quantity": d["quantity"] or 1, "unit_price": d["unit_price"] or 0}]
            services.complete_work_order(actor=user, work_order_id=wo.pk, report=d["report"], parts=parts)
        elif action == "signoff":
            services.sign_off_work_order(actor=user, work_order_id=wo.pk, signed_by=request.POST.get("signed_by", ""))
        elif action == "cancel":
            services.cancel_work_order(actor=user, work_order_id=wo.pk, reason=request.POST.get("reason", ""))
        else:
            raise Http404
        messages.success(request, _("Work order updated."))
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    return redirect("service:work_order", pk=wo.pk)


# --- Reports ----------------------------------------------------------------------------------------------------


@perm_required(SERVICE_REPORTS)
def report(request):
    user = request.user
    by_score = reports.repurchase_by_score(user)
    overview = reports.satisfaction_overview(user)
    context = {
        "overview": overview, "index_gap": reports.index_gap(overview), "sla": reports.sla_summary(user),
        "by_score": by_score, "by_nps": reports.repurchase_by_score(user, score="nps"),
        "top_box": reports.top_box_ratio(by_score), "recovery": reports.complaint_recovery(user),
        "attributes": reports.attribute_scores(user),
        "by_agent": reports.satisfaction_by(user, "agent"), "by_product": reports.satisfaction_by(user, "product"),
        "by_store": reports.satisfaction_by(user, "store"),
        "by_customer": reports.satisfaction_by(user, "customer", limit=10),
        "by_type": reports.tickets_by(user, "type"), "by_cause": reports.tickets_by(user, "root_cause"),
        "chart": {"scores": [r["score"] for r in by_score],
                             "rates": [round(100 * r["rate"], 1) if r["rate"] is not None else None for r in by_score],
                             "surveys": [r["surveys"] for r in by_score],
                             "labels": {"rate": _("Bought again (%)"), "surveys": _("Answered surveys"),
                                        "score": _("Satisfaction score")}},
        "recent": list(queries.visible_surveys(user).filter(answered_at__isnull=False)
                       .select_related("customer", "agent").order_by("-answered_at", "-id")[:10]),
    }
    return render(request, "service/reports.html", context)


# --- Configuration ----------------------------------------------------------------------------------------------


# Columns that hold what an administrator typed as identifiers or search words (queue codes, article keywords):
# shown as typed, marked so the page tests do not take them for untranslated codes.
CODE_COLUMNS = {"code", "keywords"}


@perm_required(SERVICE_MANAGE)
def settings_index(request):
    sections = []
    for kind, (model, title, _fields, columns) in CONFIG.items():
        rows = list(model.objects.all()[:200])
        labels = [model._meta.get_field(c).verbose_name for c in columns]
        sections.append({"kind": kind, "title": title, "labels": labels,
                         "rows": [(r, [(_display(r, c), c in CODE_COLUMNS) for c in columns]) for r in rows]})
    return render(request, "service/settings.html", {"sections": sections})


def _display(obj, field: str) -> str:
    display = getattr(obj, f"get_{field}_display", None)
    if display is not None:
        return str(display())
    value = getattr(obj, field)
    if field in ("skill", "skills"):
        return label_list("service.skill", value or "")
    if isinstance(value, bool):
        return "✓" if value else "—"
    return "" if value is None else str(value)


@perm_required(SERVICE_MANAGE)
@require_http_methods(["GET", "POST"])
def config_edit(request, kind: str, pk: int | None = None):
    if kind not in CONFIG:
        raise Http404
    model, title, fields, _columns = CONFIG[kind]
    instance = None
    if pk is not None:
        instance = model.objects.filter(pk=pk).first()
        if instance is None:
            raise Http404
    form_class = config_form(model, fields)
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST":
        if request.POST.get("delete") and instance is not None:
            try:
                services.delete_config(actor=request.user, obj=instance)
            except DomainError as exc:
                if exc.status == 403:
                    raise DjangoPermissionDenied from None
                messages.error(request, exc.message)
                return redirect("service:config_edit", kind=kind, pk=pk)
            messages.success(request, _("Deleted."))
            return redirect(reverse("service:settings") + f"#{kind}")
        if form.is_valid():
            try:
                services.save_config(actor=request.user, form=form)
            except DomainError as exc:
                if exc.status == 403:
                    raise DjangoPermissionDenied from None
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect(reverse("service:settings") + f"#{kind}")
    return render(request, "service/config_form.html", {"form": form, "title": title, "kind": kind,
                                                        "instance": instance})


@perm_required(SERVICE_MANAGE)
@require_POST
def weights(request):
    """The survey attribute weights, set together from the reports page."""
    data = {key.removeprefix("w_"): value for key, value in request.POST.items() if key.startswith("w_")}
    try:
        services.set_attribute_weights(actor=request.user, weights=data)
        messages.success(request, _("Weights saved. New answers use them; earlier answers keep theirs."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("service:report") + "#attributes")


# --- Public survey ----------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def survey_answer(request, token: str):
    """The customer's answer page behind the signed link (no sign-in)."""
    try:
        survey = services.survey_from_token(token)
    except DomainError:
        return render(request, "service/survey_public.html", {"invalid": True}, status=404)
    attributes = queries.active_attributes()
    errors = {}
    done = survey.answered_at is not None
    if request.method == "POST" and not done:
        scores = {a.code: request.POST.get(f"a_{a.code}") for a in attributes if request.POST.get(f"a_{a.code}")}
        try:
            services.answer_survey(token=token, csat=request.POST.get("csat"), nps=request.POST.get("nps"),
                                   scores=scores, comment=request.POST.get("comment", ""))
            done = True
        except DomainError as exc:
            for err in getattr(exc, "errors", [exc]):
                errors[err.field or "general"] = err.message
    return render(request, "service/survey_public.html", {
        "survey": survey, "attributes": attributes, "done": done, "errors": errors, "post": request.POST,
        "csat_range": range(1, 6), "nps_range": range(0, 11), "token": token}, status=422 if errors else 200)


@perm_required(SERVICE_VIEW)
def survey_link(request, pk: int):
    """Staff view of a survey: its answers, or the link to send while it is unanswered."""
    survey = queries.get_survey_for(request.user, pk)
    link = request.build_absolute_uri(reverse("service:survey_answer", args=[services.survey_token(survey)]))
    return render(request, "service/survey_detail.html", {
        "survey": survey, "answers": list(survey.answers.select_related("attribute")), "link": link,
        "can_send": perms.has_perm(request.user, SERVICE_WORK) and survey.answered_at is None})

