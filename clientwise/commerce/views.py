"""Commerce pages: orders, products, stores. Thin: parse the request, call queries/services, render.

List views render only their table partial for HTMX requests (filters, paging) and the whole page otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from clientwise.commerce import forms as f
from clientwise.commerce import queries, reference, rules, services
from clientwise.commerce.forms import ProductForm, StoreForm
from clientwise.commerce.models import (
    Branch,
    Brand,
    Channel,
    ExchangeRate,
    Order,
    ProductCategory,
    Region,
    Unit,
)
from clientwise.commerce.schemas import OrderFilterIn
from clientwise.core import permissions as perms
from clientwise.core.decorators import add_domain_error, perm_required
from clientwise.core.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from clientwise.core.params import validate_dropping_bad
from clientwise.core.templatetags.cw import money
from clientwise.customers.queries import get_customer_for

PAGE_SIZE = 25


def _page(request, qs, sort: str):
    try:
        return queries.page(qs, sort=sort, cursor=request.GET.get("cursor") or None, size=PAGE_SIZE)
    except DomainError:
        # A stale or hand-edited cursor: start again from the first page.
        return queries.page(qs, sort=sort, cursor=None, size=PAGE_SIZE)


def parse_order_filters(params) -> tuple[queries.OrderFilters, OrderFilterIn, list[str]]:
    """The API's OrderFilterIn applied to a query string; invalid fields are dropped and named."""
    data = {k: params.get(k) for k in OrderFilterIn.model_fields if params.get(k, "").strip()}
    f = validate_dropping_bad(OrderFilterIn, data)
    bad = sorted(set(data) - f.model_fields_set)
    filters = queries.OrderFilters(q=f.q, date_from=f.date_from, date_to=f.date_to, store=f.store_id,
                                   channel=f.channel_id, status=f.status, customer=f.customer_id,
                                   amount_min=f.amount_min, amount_max=f.amount_max)
    return filters, f, bad


# --- Orders -------------------------------------------------------------------------------------------------------


@perm_required(perms.VIEW_ORDERS)
def order_list(request):
    filters, form, bad = parse_order_filters(request.GET)
    pg = _page(request, queries.order_list(request.user, filters), "-ordered_at")
    ctx = {"page": pg, "orders": pg.items, "f": form, "bad_filters": bad, "filtered": any(
        [filters.q, filters.date_from, filters.date_to, filters.store, filters.channel, filters.status,
         filters.customer, filters.amount_min is not None, filters.amount_max is not None])}
    if request.htmx and not request.htmx.boosted:
        return render(request, "commerce/_order_table.html", ctx)
    ctx.update({
        "stores": queries.stores(active=None).order_by("code"), "channels": queries.channels(),
        "statuses": Order.Status.choices, "today": queries.key_figures(request.user, timezone.localdate()),
        "can_change": perms.has_perm(request.user, perms.CHANGE_ORDERS),
        "can_export": perms.has_perm(request.user, perms.EXPORT),
    })
    return render(request, "commerce/order_list.html", ctx)


@perm_required(perms.VIEW_ORDERS)
def order_detail(request, pk: int):
    order = queries.get_order_for(request.user, pk)
    returned = queries.returned_quantities(order)
    show_cost = queries.can_view_cost(request.user)
    lines = []
    for ln in order.lines.all():
        left = ln.quantity - returned.get(ln.pk, 0)
        lines.append({"line": ln, "returned": returned.get(ln.pk, 0), "left": left,
                      "margin": (rules.to_base(ln.amount, order.fx_rate) - ln.cost)
                      if show_cost and order.fx_rate is not None else None})
    returns = list(order.returns.all())
    returned_amount = sum((r.amount for r in returns), queries.ZERO)
    can_change = perms.has_perm(request.user, perms.CHANGE_ORDERS)
    return render(request, "commerce/order_detail.html", {
        "order": order, "lines": lines, "returns": returns, "returned_amount": returned_amount,
        "net_amount": order.amount - returned_amount if order.status == Order.Status.COMPLETED else queries.ZERO,
        "show_cost": show_cost, "can_change": can_change,
        "can_return": can_change and order.status == Order.Status.COMPLETED and any(x["left"] > 0 for x in lines),
        "margin_rate": (order.margin / order.base_amount * 100) if show_cost and order.base_amount else None,
        "base_currency": rules.base_currency(),
    })


@require_POST
@perm_required(perms.CHANGE_ORDERS)
def order_cancel(request, pk: int):
    try:
        services.cancel_order(actor=request.user, order_id=pk, reason=request.POST.get("reason", ""))
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The order is cancelled and the customer's totals are updated."))
    return redirect("commerce:order_detail", pk=pk)


@require_POST
@perm_required(perms.CHANGE_ORDERS)
def order_return(request, pk: int):
    lines = []
    for key, value in request.POST.items():
        if key.startswith("qty_") and value.strip() not in ("", "0"):
            lines.append({"order_line_id": key[4:], "quantity": value.strip()})
    try:
        ret = services.create_return(actor=request.user, order_id=pk, lines=lines,
                                     reason=request.POST.get("reason", ""))
    except NotFound:
        raise
    except ValidationFailed as exc:
        for err in exc.errors:
            messages.error(request, err.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Return recorded: %(amount)s refunded.") % {"amount": money(ret.amount)})
    return redirect("commerce:order_detail", pk=pk)


ENTRY_ROWS = 6


def _entry_rows(post=None, errors: dict | None = None) -> list[dict]:
    """The order-entry grid rows, from the posted form (or empty, with quantity 1 on the first row)."""
    data = post if post is not None else {"qty_0": "1"}
    return [{"i": i, "sku": data.get(f"sku_{i}", "").strip(), "quantity": data.get(f"qty_{i}", "").strip(),
             "unit_price": data.get(f"price_{i}", "").strip(), "discount": data.get(f"discount_{i}", "").strip(),
             "errors": (errors or {}).get(i, [])} for i in range(ENTRY_ROWS)]


@perm_required(perms.CHANGE_ORDERS)
def order_create(request):
    """Record a sale by hand: pick a customer (search), then products by SKU, quantities, prices, discounts."""
    customer_id = request.GET.get("customer") or request.POST.get("customer_id")
    if not customer_id:
        q = request.GET.get("q", "").strip()
        ctx = {"q": q, "choices": queries.customer_choices(request.user, q) if q else []}
        if request.htmx and not request.htmx.boosted:
            return render(request, "commerce/_customer_choices.html", ctx)
        return render(request, "commerce/order_pick_customer.html", ctx)
    customer = get_customer_for(request.user, customer_id)
    form_errors: list[str] = []
    line_errors: dict[int, list[str]] = {}
    field_errors: dict[str, str] = {}
    post = request.POST if request.method == "POST" else None
    if post is not None:
        lines, index = [], []
        for row in _entry_rows(post):
            if row["sku"]:
                lines.append({"sku": row["sku"], "quantity": row["quantity"], "unit_price": row["unit_price"],
                              "discount": row["discount"]})
                index.append(row["i"])
        try:
            order = services.create_order(
                actor=request.user, customer_id=customer.pk, lines=lines,
                store_id=post.get("store_id") or None, channel_id=post.get("channel_id") or None,
                ordered_at=post.get("ordered_at") or None, number=post.get("number") or None,
                sales_rep_id=request.user.pk if perms.user_role(request.user) == perms.Role.SALES_REP else None)
        except DomainError as exc:
            errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
            for err in errors:
                parts = (err.field or "").split(".")
                if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(index):
                    line_errors.setdefault(index[int(parts[1])], []).append(err.message)
                elif err.field in ("store_id", "channel_id", "ordered_at", "number"):
                    field_errors[err.field] = err.message
                else:
                    form_errors.append(err.message)
        else:
            messages.success(request, _("Order %(number)s recorded: %(amount)s.") % {
                "number": order.number, "amount": money(order.amount, order.currency)})
            return redirect("commerce:order_detail", pk=order.pk)
    channels = queries.channels()
    default_channel = next((str(c.pk) for c in channels if c.kind == "store"), "")
    return render(request, "commerce/order_form.html", {
        "selected_store": (post or {}).get("store_id", ""),
        "selected_channel": post.get("channel_id", "") if post is not None else default_channel,
        "customer": customer, "rows": _entry_rows(post, line_errors), "form_errors": form_errors,
        "field_errors": field_errors, "post": post or {},
        "stores": queries.stores(active=True).order_by("code"), "channels": channels,
        "products": queries.sellable_products(),
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    })


# --- Products -----------------------------------------------------------------------------------------------------


def _product_filters(params) -> queries.ProductFilters:
    def as_int(name):
        try:
            return int(params.get(name) or 0) or None
        except ValueError:
            return None

    active = {"1": True, "0": False}.get(params.get("active", ""))
    return queries.ProductFilters(q=params.get("q", "").strip(), category=as_int("category"),
                                  brand=params.get("brand", "").strip(), active=active)


@perm_required(perms.VIEW_ORDERS)
def product_list(request):
    f = _product_filters(request.GET)
    pg = _page(request, queries.product_list(f), "sku")
    ctx = {"page": pg, "products": pg.items, "f": f, "show_cost": queries.can_view_cost(request.user),
           "can_manage": perms.has_perm(request.user, perms.MANAGE_CATALOG),
           "filtered": any([f.q, f.category, f.brand, f.active is not None])}
    if request.htmx and not request.htmx.boosted:
        return render(request, "commerce/_product_table.html", ctx)
    ctx.update({"categories": queries.categories(), "brands": queries.brands(),
                "active_param": request.GET.get("active", "")})
    return render(request, "commerce/product_list.html", ctx)


@perm_required(perms.VIEW_ORDERS)
def product_detail(request, pk: int):
    product = queries.get_product(pk)
    sales = queries.product_sales(request.user, product, days=30)
    recent = queries.product_recent_lines(request.user, product, days=30, limit=10)
    return render(request, "commerce/product_detail.html", {
        "product": product, "sales": sales, "recent": recent, "show_cost": queries.can_view_cost(request.user),
        "can_manage": perms.has_perm(request.user, perms.MANAGE_CATALOG),
        "margin": product.list_price - product.unit_cost,
    })


@perm_required(perms.MANAGE_CATALOG)
def product_edit(request, pk: int | None = None):
    product = queries.get_product(pk) if pk is not None else None
    if request.method == "POST":
        form = ProductForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                saved = services.save_product(actor=request.user, data=data,
                                              product_id=product.pk if product else None)
            except DomainError as exc:
                errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
                for err in errors:
                    form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                messages.success(request, _("Product saved."))
                return redirect("commerce:product_detail", pk=saved.pk)
    elif product is not None:
        form = ProductForm(initial={
            "sku": product.sku, "name": product.name, "category_id": product.category_id, "brand": product.brand,
            "model": product.model, "list_price": product.list_price, "unit_cost": product.unit_cost,
            "attributes": ProductForm.attributes_text(product.attributes), "active": product.active})
    else:
        form = ProductForm()
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
    return render(request, "commerce/product_form.html", {"form": form, "product": product})


# --- Stores -------------------------------------------------------------------------------------------------------


@perm_required(perms.VIEW_ORDERS)
def store_list(request):
    q = request.GET.get("q", "").strip()
    show = request.GET.get("show", "active")
    qs = queries.stores(active=None if show == "all" else True, q=q)
    groups = queries.stores_by_region(qs)
    ids = [s.pk for _r, branches in groups for _b, stores in branches for s in stores]
    figures = queries.store_month_figures(request.user, ids)
    for region, branches in groups:
        region.month_orders, region.month_revenue = 0, queries.ZERO
        for _branch, stores in branches:
            for s in stores:
                s.month = figures.get(s.pk, {"orders": 0, "revenue": queries.ZERO})
                region.month_orders += s.month["orders"]
                region.month_revenue += s.month["revenue"]
    ctx = {"groups": groups, "q": q, "show": show, "store_count": len(ids),
           "month_start": timezone.localdate().replace(day=1),
           "can_manage": perms.has_perm(request.user, perms.MANAGE_CATALOG)}
    if request.htmx and not request.htmx.boosted:
        return render(request, "commerce/_store_groups.html", ctx)
    return render(request, "commerce/store_list.html", ctx)


@perm_required(perms.VIEW_ORDERS)
def store_detail(request, pk: int):
    store = queries.get_store(pk)
    figures = queries.store_figures(request.user, store)
    recent = queries.store_recent_orders(request.user, store)
    return render(request, "commerce/store_detail.html", {
        "store": store, "fig": figures, "recent": recent,
        "promoters": queries.store_promoters(store),
        "can_manage": perms.has_perm(request.user, perms.MANAGE_CATALOG),
    })


# --- Reference data: categories, brands, regions and branches, channels, units, stores -------------------------
# Everyone with orders.view may read these pages; catalog.manage (administrators) may change them. The services in
# commerce/reference.py validate, write and audit; these views only shape forms and show the services' errors.


@dataclass(frozen=True)
class RefKind:
    key: str
    label: object  # plural, for tabs and titles
    noun: object  # singular, for "New …" and "Edit …"
    model: object
    form: type
    save: object  # reference.save_<noun>(actor=, data=, <noun>_id=)
    delete: object
    id_arg: str
    fields: tuple[str, ...]
    icon: str


def _ref_kinds() -> dict[str, RefKind]:
    return {k.key: k for k in (
        RefKind("categories", gettext_lazy("Categories"), gettext_lazy("category"), ProductCategory, f.CategoryForm,
                reference.save_category, reference.delete_category, "category_id",
                ("code", "name", "parent_id", "replenishable", "cycle_days"), "diagram-3"),
        RefKind("brands", gettext_lazy("Brands"), gettext_lazy("brand"), Brand, f.BrandForm, reference.save_brand,
                reference.delete_brand, "brand_id", ("name", "active"), "award"),
        RefKind("regions", gettext_lazy("Regions and branches"), gettext_lazy("region"), Region, f.RegionForm, reference.save_region,
                reference.delete_region, "region_id", ("code", "name", "team_id"), "geo-alt"),
        RefKind("branches", gettext_lazy("Branches"), gettext_lazy("branch"), Branch, f.BranchForm, reference.save_branch,
                reference.delete_branch, "branch_id", ("code", "name", "region_id", "team_id"), "building"),
        RefKind("channels", gettext_lazy("Channels"), gettext_lazy("channel"), Channel, f.ChannelForm, reference.save_channel,
                reference.delete_channel, "channel_id", ("code", "name", "kind"), "signpost-split"),
        RefKind("units", gettext_lazy("Units"), gettext_lazy("unit"), Unit, f.UnitForm, reference.save_unit, reference.delete_unit,
                "unit_id", ("code", "name", "fractional", "active"), "rulers"),
        RefKind("exchange_rates", gettext_lazy("Exchange rates"), gettext_lazy("exchange rate"), ExchangeRate,
                f.ExchangeRateForm, reference.save_exchange_rate, reference.delete_exchange_rate, "rate_id",
                ("currency", "day", "rate"), "currency-exchange"),
    )}


REF_TABS = ("categories", "brands", "regions", "channels", "units", "exchange_rates")


def _ref_kind(kind: str) -> RefKind:
    spec = _ref_kinds().get(kind)
    if spec is None:
        raise Http404
    return spec


def _ref_rows(kind: str, q: str) -> list:
    text = q.strip().lower()
    if kind == "categories":
        rows = queries.category_tree()
    elif kind == "brands":
        return queries.brand_list(q)
    elif kind == "regions":
        rows = queries.region_list()
        if text:
            rows = [r for r in rows if text in f"{r.code} {r.name}".lower()
                    or any(text in f"{b.code} {b.name}".lower() for b in r.branch_list)]
        return rows
    elif kind == "channels":
        rows = list(Channel.objects.order_by("code"))
    elif kind == "exchange_rates":
        return queries.exchange_rate_list(q)
    else:
        rows = queries.unit_list()
    return [r for r in rows if not text or text in f"{r.code} {r.name}".lower()]


@perm_required(perms.VIEW_ORDERS)
def reference_list(request, kind: str = "categories"):
    spec = _ref_kind(kind)
    if kind == "branches":
        return redirect("commerce:reference_list", kind="regions")
    q = request.GET.get("q", "").strip()
    ctx = {"kind": kind, "spec": spec, "rows": _ref_rows(kind, q), "q": q,
           "can_manage": perms.has_perm(request.user, perms.MANAGE_CATALOG),
           "tabs": [(k, _ref_kinds()[k]) for k in REF_TABS]}
    if kind == "exchange_rates":
        ctx.update(base_currency=rules.base_currency(), waiting=queries.orders_waiting_for_rates())
    if request.htmx and not request.htmx.boosted:
        return render(request, "commerce/_reference_table.html", ctx)
    return render(request, "commerce/reference_list.html", ctx)


def _form_errors(form, exc: DomainError) -> None:
    add_domain_error(form, exc)
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"


@perm_required(perms.MANAGE_CATALOG)
def reference_edit(request, kind: str, pk: int | None = None):
    spec = _ref_kind(kind)
    obj = queries.get_reference(spec.model, pk) if pk is not None else None
    extra = {"exclude_id": obj.pk if obj else None} if kind == "categories" else {}
    if request.method == "POST":
        form = spec.form(request.POST, **extra)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k in spec.fields}
            if kind == "categories" and not data.get("cycle_days"):
                data["cycle_days"] = None
            try:
                saved = spec.save(actor=request.user, data=data, **{spec.id_arg: obj.pk if obj else None})
            except NotFound:
                raise
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("%(name)s saved.") % {"name": str(saved)})
                if getattr(saved, "converted", 0):
                    messages.info(request, ngettext(
                        "%(n)s order waiting for this rate was converted.",
                        "%(n)s orders waiting for this rate were converted.", saved.converted) % {
                        "n": saved.converted})
                return redirect("commerce:reference_list", kind="regions" if kind == "branches" else kind)
        else:
            _form_errors(form, DomainError(ErrorCode.INVALID, _("Check the highlighted fields.")))
    else:
        initial = {}
        if obj is not None:
            initial = {k: getattr(obj, k) for k in spec.fields}
        elif kind == "branches" and request.GET.get("region"):
            initial = {"region_id": request.GET["region"]}
        form = spec.form(initial=initial, **extra)
    return render(request, "commerce/reference_form.html", {
        "form": form, "obj": obj, "kind": kind, "spec": spec,
        "back_kind": "regions" if kind == "branches" else kind})


@require_POST
@perm_required(perms.MANAGE_CATALOG)
def reference_delete(request, kind: str, pk: int):
    spec = _ref_kind(kind)
    obj = queries.get_reference(spec.model, pk)
    try:
        spec.delete(actor=request.user, **{spec.id_arg: obj.pk})
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s deleted.") % {"name": str(obj)})
    return redirect("commerce:reference_list", kind="regions" if kind == "branches" else kind)


STORE_FIELDS = ("code", "name", "branch_id", "province", "city", "district", "urban_rural", "opened_on", "active")


@perm_required(perms.MANAGE_CATALOG)
def store_edit(request, pk: int | None = None):
    store = queries.get_store(pk) if pk is not None else None
    if request.method == "POST":
        form = StoreForm(request.POST)
        if form.is_valid():
            try:
                saved = services.save_store(actor=request.user, data=dict(form.cleaned_data),
                                            store_id=store.pk if store else None)
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Store saved."))
                return redirect("commerce:store_detail", pk=saved.pk)
        else:
            _form_errors(form, DomainError(ErrorCode.INVALID, _("Check the highlighted fields.")))
    elif store is not None:
        form = StoreForm(initial={k: getattr(store, k) for k in STORE_FIELDS})
    else:
        form = StoreForm(initial={"branch_id": request.GET.get("branch") or None, "active": True})
    return render(request, "commerce/store_form.html", {"form": form, "store": store})


@require_POST
@perm_required(perms.MANAGE_CATALOG)
def store_delete(request, pk: int):
    store = queries.get_store(pk)
    try:
        reference.delete_store(actor=request.user, store_id=store.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("commerce:store_detail", pk=store.pk)
    messages.success(request, _("%(name)s deleted.") % {"name": store.name})
    return redirect("commerce:store_list")
