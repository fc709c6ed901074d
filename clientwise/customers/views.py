"""Customer pages: list (HTMX table), the customer 360 page with its HTMX cards, forms and the
custom-attribute admin. Views are thin: they parse, call queries/services and render."""

from __future__ import annotations

import functools
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clientwise.accounts.models import Team
from clientwise.core import extensions, labels
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, NotFound, PermissionDenied
from clientwise.core.masking import mask_id_number
from clientwise.customers import queries, services
from clientwise.customers.filters import CustomerListParams
from clientwise.customers.forms import (
    AttributeForm,
    ConsentForm,
    ContactPointEditForm,
    ContactPointForm,
    CustomerForm,
    InteractionForm,
    apply_domain_errors,
)
from clientwise.customers.models import (
    Consent,
    ContactPoint,
    CustomAttribute,
    Customer,
    CustomerShare,
    Interaction,
    Tag,
)

TIMELINE_PAGE = 20


def customer_view(view):
    """Signed-in users with the customers.view right (403 without it, before any record is looked up); a business
    'no' becomes 403 and an invisible record 404, as in the API."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not perms.has_perm(request.user, perms.VIEW_CUSTOMERS):
            raise DjangoPermissionDenied()
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404() from None
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except DomainError as exc:
            if exc.status == 403:
                raise DjangoPermissionDenied(exc.message) from None
            raise

    return login_required(wrapper)


def _is_partial(request) -> bool:
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


# ----- list -----------------------------------------------------------------------------------------------------


@customer_view
def customer_list(request):
    user = request.user
    perms.require(user, perms.VIEW_CUSTOMERS)
    params = CustomerListParams.from_query(request.GET)
    try:
        page = queries.customer_page(user, params.to_filters(), sort=params.sort, cursor=params.cursor,
                                     size=params.size)
    except DomainError:
        params = params.model_copy(update={"cursor": None})
        page = queries.customer_page(user, params.to_filters(), sort=params.sort, size=params.size)
    pii = perms.can_view_pii(user)
    if pii and page.items:
        services.audit_pii_view(actor=user, customer_ids=[c.pk for c in page.items], context="customer_list")
    context = {
        "page": page,
        # The total the list stands for, bounded (queries.COUNT_CAP): exact up to 10,000, "more than" past it.
        "count": queries.customer_count(user, params.to_filters()) if page.items else None,
        "params": params,
        "filtered": bool(params.filter_dict().keys() - {"sort"}),
        "can_export": perms.has_perm(user, perms.EXPORT),
        "can_change": perms.has_perm(user, perms.CHANGE_CUSTOMERS),
    }
    if _is_partial(request):
        return render(request, "customers/_table.html", context)
    cities = queries.cities_for(user)
    if params.city and params.city not in cities:
        cities = sorted([*cities, params.city])
    context.update({
        "statuses": Customer.Status.choices,
        "kinds": Customer.Kind.choices,
        "cities": cities,
        # A menu with one person to pick (a sales rep: themselves) offers nothing: left out (issue 15).
        "owners": owners if len(owners := queries.owner_choices(user)) > 1 else [],
        "tags": list(Tag.objects.all()[:300]),
    })
    return render(request, "customers/list.html", context)


def _timeline_context(request, customer, *, form=None, cursor=None):
    kind = request.GET.get("kind", "") if request.method == "GET" else ""
    kinds = [kind] if kind in Interaction.Kind.values else None
    page = queries.timeline_page(customer, kinds=kinds, cursor=cursor, size=TIMELINE_PAGE)
    pii = perms.can_view_pii(request.user)
    for row in page.items:
        row.shown_payload = queries.mask_record(row.payload or {}, pii=pii)
    return {
        "customer": customer,
        "timeline": page,
        "timeline_kind": kind if kinds else "",
        "timeline_kinds": Interaction.Kind.choices,
        "interaction_form": form or InteractionForm(),
        "can_change": perms.has_perm(request.user, perms.CHANGE_CUSTOMERS),
    }


def _contacts_context(request, customer, *, add_form=None, edit_form=None, editing=None):
    return {
        "customer": customer,
        "contacts": list(ContactPoint.objects.filter(customer_id=customer.pk)),
        "contact_form": add_form or ContactPointForm(),
        "contact_form_open": add_form is not None,
        "edit_form": edit_form,
        "editing": editing,
        "can_change": perms.has_perm(request.user, perms.CHANGE_CUSTOMERS),
        "can_reveal": not perms.can_view_pii(request.user) and services.may_reveal_contact(request.user, customer),
        "revealable_kinds": services.REVEALABLE_KINDS,
    }


def _consent_cell(purpose: str, consent, status_labels) -> dict:
    """One cell of the consent grid, worked out once here rather than in the template (it has 30-odd cells)."""
    status = consent.status if consent else ""
    if consent:
        shown = str(status_labels.get(status, status))
        source = labels.label("source", consent.source)
        title = f"{shown} · {consent.decided_at:%Y-%m-%d}" + (f" · {source}" if source else "")
    else:
        shown, title = str(_("Not asked")), ""
    return {"purpose": purpose, "status": status, "shown": shown, "title": title,
            "next": "withdrawn" if status == "granted" else "granted",
            "icon": {"granted": "check-lg", "withdrawn": "x-lg"}.get(status, "dash")}


def _consents_context(request, customer, *, error=None):
    decided = {(c.channel, c.purpose): c for c in Consent.objects.filter(customer_id=customer.pk)}
    status_labels = dict(Consent.Status.choices)
    rows = [(value, label, [_consent_cell(p, decided.get((value, p)), status_labels)
                            for p, _label in Consent.Purpose.choices])
            for value, label in Consent.Channel.choices]
    return {
        "customer": customer,
        "consent_rows": rows,
        "purposes": Consent.Purpose.choices,
        "consent_error": error,
        "can_change": perms.has_perm(request.user, perms.CHANGE_CUSTOMERS),
    }


def _audit_rows(customer, pii: bool):
    rows = []
    for entry in queries.customer_audit(customer):
        rows.append({"entry": entry, "before": queries.mask_record(entry.before, pii=pii),
                     "after": queries.mask_record(entry.after, pii=pii)})
    return rows


@customer_view
def customer_detail(request, pk: int):
    user = request.user
    perms.require(user, perms.VIEW_CUSTOMERS)
    customer = queries.get_customer_for(user, pk)
    pii = perms.can_view_pii(user)
    if pii:
        services.audit_pii_view(actor=user, customer_ids=[customer.pk], context="customer_360")
    attributes = list(CustomAttribute.objects.all())
    custom_values = [(a, (customer.custom or {}).get(a.key)) for a in attributes if a.key in (customer.custom or {})]
    can_change = perms.has_perm(user, perms.CHANGE_CUSTOMERS)
    context = {
        "customer": customer,
        "tags": list(customer.tags.all()),
        "id_number_shown": customer.id_number if pii else mask_id_number(customer.id_number),
        "aov": (customer.revenue / customer.order_count).quantize(Decimal("0.01")) if customer.order_count else None,
        "custom_values": custom_values,
        "audit_rows": _audit_rows(customer, pii) if perms.has_perm(user, perms.VIEW_AUDIT) else None,
        "org_contacts": queries.organization_contacts(customer, user),
        "shares": list(CustomerShare.objects.filter(customer_id=customer.pk).select_related("team")),
        "share_teams": list(Team.objects.filter(kind=Team.Kind.TEAM).order_by("name")) if can_change else [],
        "can_change": can_change,
        "can_archive": perms.has_perm(user, perms.ARCHIVE_CUSTOMERS),
        "can_audit": perms.has_perm(user, perms.VIEW_AUDIT),
        "panels": extensions.customer_panels(user, customer),
    }
    # Orders, scores, data quality and merge notices come from the apps that own them (core.extensions).
    context.update(extensions.customer_context(user, customer))
    context.update(_timeline_context(request, customer))
    context.update(_contacts_context(request, customer))
    context.update(_consents_context(request, customer))
    return render(request, "customers/detail.html", context)


def _back(customer_id: int):
    return redirect("customers:detail", pk=customer_id)


@customer_view
@require_http_methods(["GET"])
def customer_timeline(request, pk: int):
    """The timeline card (kind filter), or with ?cursor= only the next rows for "load more"."""
    perms.require(request.user, perms.VIEW_CUSTOMERS)
    customer = queries.get_customer_for(request.user, pk)
    cursor = request.GET.get("cursor") or None
    try:
        context = _timeline_context(request, customer, cursor=cursor)
    except DomainError:
        context = _timeline_context(request, customer)
        cursor = None
    template = "customers/_timeline_items.html" if cursor else "customers/_timeline.html"
    return render(request, template, context)


@customer_view
@require_http_methods(["GET"])
def interaction_form(request, pk: int):
    """The empty "log interaction" form, fetched when the user opens it (the 360 page does not render it)."""
    perms.require(request.user, perms.CHANGE_CUSTOMERS)
    customer = queries.get_customer_for(request.user, pk)
    return render(request, "customers/_interaction_form.html", {"customer": customer,
                                                               "interaction_form": InteractionForm()})


@customer_view
@require_http_methods(["GET"])
def contact_form(request, pk: int):
    """The empty "add contact point" form, fetched when the user opens it."""
    perms.require(request.user, perms.CHANGE_CUSTOMERS)
    customer = queries.get_customer_for(request.user, pk)
    return render(request, "customers/_contact_form.html", {"customer": customer, "contact_form": ContactPointForm()})


@customer_view
@require_POST
def interaction_add(request, pk: int):
    user = request.user
    customer = queries.get_customer_for(user, pk)
    form = InteractionForm(request.POST)
    saved = False
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.log_interaction(actor=user, customer_id=customer.pk, kind=d["kind"], subject=d["subject"],
                                     body=d["body"], direction=d["direction"] or "", occurred_at=d["occurred_at"])
            saved = True
        except DomainError as exc:
            if exc.status == 403:
                raise
            apply_domain_errors(form, exc)
    if not _is_partial(request):
        if not saved:
            messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
        return _back(customer.pk)
    context = _timeline_context(request, customer, form=None if saved else form)
    context["interaction_form_open"] = not saved
    return render(request, "customers/_timeline.html", context)


@customer_view
@require_http_methods(["GET", "POST"])
def contact_add(request, pk: int):
    """GET: the contact card as it is (cancel an edit); POST: add a contact point."""
    user = request.user
    perms.require(user, perms.VIEW_CUSTOMERS)
    customer = queries.get_customer_for(user, pk)
    if request.method == "GET":
        return render(request, "customers/_contacts.html", _contacts_context(request, customer))
    form = ContactPointForm(request.POST)
    saved = False
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.add_contact_point(actor=user, customer_id=customer.pk, kind=d["kind"], value=d["value"],
                                       label=d["label"], is_primary=d["is_primary"] or None,
                                       **{k: d[k] for k in ("province", "city", "district", "postal_code")})
            saved = True
        except DomainError as exc:
            if exc.status == 403:
                raise
            apply_domain_errors(form, exc)
    if not _is_partial(request):
        if not saved:
            messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
        return _back(customer.pk)
    return render(request, "customers/_contacts.html",
                  _contacts_context(request, customer, add_form=None if saved else form))


@customer_view
@require_http_methods(["GET", "POST"])
def contact_edit(request, pk: int, cp_id: int):
    user = request.user
    customer = queries.get_customer_for(user, pk)
    cp = ContactPoint.objects.filter(customer_id=customer.pk, pk=cp_id).first()
    if cp is None:
        raise Http404()
    if request.method == "GET":
        perms.require(user, perms.CHANGE_CUSTOMERS)
        form = ContactPointEditForm(initial={f: getattr(cp, f) for f in (
            "value", "label", "province", "city", "district", "postal_code", "is_primary", "status")})
        if not perms.can_view_pii(user):
            form.initial["value"] = ""
        return render(request, "customers/_contacts.html",
                      _contacts_context(request, customer, edit_form=form, editing=cp.pk))
    form = ContactPointEditForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        if not data.get("value"):
            data.pop("value")  # an empty value keeps the current one (users without view_pii see it masked)
        try:
            services.update_contact_point(actor=user, customer_id=customer.pk, contact_id=cp.pk, data=data)
        except DomainError as exc:
            if exc.status == 403:
                raise
            apply_domain_errors(form, exc)
    if not _is_partial(request):
        return _back(customer.pk)
    if form.errors:
        return render(request, "customers/_contacts.html",
                      _contacts_context(request, customer, edit_form=form, editing=cp.pk))
    return render(request, "customers/_contacts.html", _contacts_context(request, customer))


@customer_view
@require_POST
def contact_reveal(request, pk: int, cp_id: int):
    """The unmasked value of one contact point, for its owner or a colleague working with the customer now
    (services.reveal_contact: audited, rate-limited); a phone number comes as a tel: link."""
    try:
        contact = services.reveal_contact(actor=request.user, customer_id=pk, contact_id=cp_id)
    except DomainError as exc:
        if exc.status == 429:
            return HttpResponse(exc.message, status=429)
        raise
    return render(request, "customers/_contact_value.html", {"cp": contact, "revealed": True})


@customer_view
@require_POST
def contact_primary(request, pk: int, cp_id: int):
    customer = queries.get_customer_for(request.user, pk)
    services.update_contact_point(actor=request.user, customer_id=customer.pk, contact_id=cp_id,
                                  data={"is_primary": True})
    if not _is_partial(request):
        return _back(customer.pk)
    return render(request, "customers/_contacts.html", _contacts_context(request, customer))


@customer_view
@require_POST
def contact_delete(request, pk: int, cp_id: int):
    customer = queries.get_customer_for(request.user, pk)
    services.remove_contact_point(actor=request.user, customer_id=customer.pk, contact_id=cp_id)
    if not _is_partial(request):
        return _back(customer.pk)
    return render(request, "customers/_contacts.html", _contacts_context(request, customer))


@customer_view
@require_POST
def consent_set(request, pk: int):
    customer = queries.get_customer_for(request.user, pk)
    form = ConsentForm(request.POST)
    error = None
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.set_consent(actor=request.user, customer_id=customer.pk, channel=d["channel"],
                                 purpose=d["purpose"], status=d["status"], source="staff")
        except DomainError as exc:
            if exc.status == 403:
                raise
            error = exc.message
    else:
        error = _("Choose a channel, a purpose and a decision.")
    if not _is_partial(request):
        if error:
            messages.error(request, error)
        return _back(customer.pk)
    return render(request, "customers/_consents.html", _consents_context(request, customer, error=error))


@customer_view
@require_POST
def customer_archive(request, pk: int, restore: bool = False):
    customer = services.archive_customer(actor=request.user, customer_id=pk, restore=restore)
    messages.success(request, _("Customer restored.") if restore else _("Customer archived."))
    return _back(customer.pk)


@customer_view
@require_POST
def customer_share(request, pk: int):
    try:
        team_id = int(request.POST.get("team", ""))
    except ValueError:
        messages.error(request, _("Choose a team."))
        return _back(pk)
    unshare = request.POST.get("unshare") == "1"
    try:
        services.share_customer(actor=request.user, customer_id=pk, team_id=team_id, unshare=unshare)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
        return _back(pk)
    messages.success(request, _("No longer shared with that team.") if unshare else _("Shared with the team."))
    return _back(pk)


# ----- create and edit -----------------------------------------------------------------------------------------------


def _form_kwargs(user, customer=None):
    owners = queries.owner_choices(user)
    teams = queries.team_choices(user)
    orgs = queries.organizations_for(user)
    if customer is not None:
        # Keep the current values selectable even when they are outside the user's menus.
        if customer.owner_id and all(u.pk != customer.owner_id for u in owners):
            owners.append(customer.owner)
        if customer.team_id and all(t.pk != customer.team_id for t in teams):
            teams.append(customer.team)
        if customer.organization_id and all(o.pk != customer.organization_id for o in orgs):
            orgs.append(customer.organization)
        orgs = [o for o in orgs if o.pk != customer.pk]
    return {"owners": owners, "teams": teams, "organizations": orgs,
            "attributes": list(CustomAttribute.objects.all())}


@customer_view
@require_http_methods(["GET", "POST"])
def customer_create(request):
    user = request.user
    perms.require(user, perms.CHANGE_CUSTOMERS)
    kwargs = _form_kwargs(user)
    if request.method == "POST":
        form = CustomerForm(request.POST, creating=True, **kwargs)
        duplicates = []
        if form.is_valid() and not request.POST.get("confirm_duplicates"):
            # One entry point, one record: point at a likely existing customer before creating a second one.
            duplicates = queries.likely_duplicates(
                name=form.cleaned_data.get("name") or "", mobile=form.cleaned_data.get("mobile") or "",
                email=form.cleaned_data.get("email") or "", birth_date=form.cleaned_data.get("birth_date"),
                user=user)
        if duplicates:
            return render(request, "customers/form.html", {"form": form, "creating": True, "duplicates": duplicates})
        if form.is_valid():
            try:
                customer = services.create_customer(actor=user, data=form.service_data(),
                                                    mobile=form.cleaned_data.get("mobile") or "",
                                                    email=form.cleaned_data.get("email") or "",
                                                    tags=form.tag_names())
            except DomainError as exc:
                if exc.status == 403 and exc.field is None:
                    raise
                apply_domain_errors(form, exc)
            else:
                messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
                return redirect("customers:detail", pk=customer.pk)
    else:
        initial = {"owner": user.pk, "team": user.team_id}
        if request.GET.get("organization"):
            initial.update(organization=request.GET["organization"], kind=Customer.Kind.PERSON)
        form = CustomerForm(initial=initial, creating=True, **kwargs)
    return render(request, "customers/form.html", {"form": form, "creating": True})


@customer_view
@require_http_methods(["GET", "POST"])
def customer_edit(request, pk: int):
    user = request.user
    perms.require(user, perms.CHANGE_CUSTOMERS)
    customer = queries.get_customer_for(user, pk)
    kwargs = _form_kwargs(user, customer)
    if request.method == "POST":
        form = CustomerForm(request.POST, creating=False, **kwargs)
        if form.is_valid():
            data = form.service_data()
            if not perms.can_view_pii(user) and not data.get("id_number"):
                data.pop("id_number")  # the field was shown empty (masked); leaving it empty keeps the value
            try:
                services.update_customer(actor=user, customer_id=customer.pk, data=data, tags=form.tag_names())
            except DomainError as exc:
                if exc.status == 403 and exc.field is None:
                    raise
                apply_domain_errors(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("customers:detail", pk=customer.pk)
    else:
        form = CustomerForm(initial=CustomerForm.initial_for(customer), creating=False, **kwargs)
        if not perms.can_view_pii(user):
            form.initial["id_number"] = ""
            form.fields["id_number"].widget.attrs["placeholder"] = mask_id_number(customer.id_number)
    return render(request, "customers/form.html", {"form": form, "creating": False, "customer": customer})


# ----- custom attribute admin ------------------------------------------------------------------------------------------


@customer_view
def attribute_list(request):
    perms.require(request.user, perms.MANAGE_ATTRIBUTES)
    return render(request, "customers/attribute_list.html", {"attributes": CustomAttribute.objects.all()})


@customer_view
@require_http_methods(["GET", "POST"])
def attribute_edit(request, attr_id: int | None = None):
    perms.require(request.user, perms.MANAGE_ATTRIBUTES)
    attr = None
    if attr_id is not None:
        attr = CustomAttribute.objects.filter(pk=attr_id).first()
        if attr is None:
            raise Http404()
    if request.method == "POST":
        form = AttributeForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.define_attribute(actor=request.user, key=d["key"], label=d["label"], type=d["type"],
                                          choices=(d["choices"] or "").splitlines(), required=d["required"],
                                          help_text=d["help_text"], position=d["position"] or 0,
                                          attribute_id=attr.pk if attr else None)
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                apply_domain_errors(form, exc)
            else:
                messages.success(request, _("Custom field saved."))
                return HttpResponseRedirect(reverse("customers:attribute_list"))
    elif attr is not None:
        form = AttributeForm(initial={"key": attr.key, "label": attr.label, "type": attr.type,
                                      "choices": "\n".join(map(str, attr.choices)), "required": attr.required,
                                      "help_text": attr.help_text, "position": attr.position})
    else:
        form = AttributeForm()
    return render(request, "customers/attribute_form.html", {"form": form, "attribute": attr})


@customer_view
@require_POST
def attribute_delete(request, attr_id: int):
    services.delete_attribute(actor=request.user, attribute_id=attr_id)
    messages.success(request, _("Custom field deleted."))
    return HttpResponseRedirect(reverse("customers:attribute_list"))
