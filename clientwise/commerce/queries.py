"""Reads shared by commerce pages, the API, the customer 360 and the home page.

Order visibility follows customer visibility: a user sees an order when they may see its customer
(`customers.scope.CustomerScope`). The catalog (products, categories, stores, channels) is visible to every
user with orders.view.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, F, Max, Min, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Lower, TruncDate
from django.utils import timezone

from clientwise.commerce import rules
from clientwise.commerce.models import (
    COUNTED,
    Branch,
    Brand,
    Channel,
    ExchangeRate,
    Order,
    OrderLine,
    Product,
    ProductCategory,
    Promoter,
    Region,
    Return,
    ReturnLine,
    Store,
    Unit,
)
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode, NotFound
from clientwise.core.pagination import _decode, keyset_page
from clientwise.core.queries import get_visible
from clientwise.customers.queries import search_q, visible_customers
from clientwise.customers.scope import restrict_by_customer

PREFIX_END = "\U0010ffff"
ZERO = Decimal("0.00")


def can_view_orders(user) -> bool:
    return perms.has_perm(user, perms.VIEW_ORDERS)


def can_view_cost(user) -> bool:
    """Whether the user may see unit costs, order cost and margin."""
    return perms.has_perm(user, perms.VIEW_COSTS)


def visible_orders(user) -> QuerySet[Order]:
    """Orders whose customer `user` may see; nothing without orders.view."""
    if not can_view_orders(user):
        return Order.objects.none()
    return restrict_by_customer(Order.objects.all(), user)


def get_order_for(user, pk) -> Order:
    """The order with customer, store, channel, people, lines (with products) and returns; NotFound when
    missing or not visible."""
    return get_visible(
        visible_orders(user)
        .select_related("customer", "store", "store__branch", "channel", "sales_rep", "promoter")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product", "product__category",
                                                                        "product__unit")),
            Prefetch("returns", queryset=Return.objects.order_by("-returned_at", "-id").prefetch_related(
                Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line__product")))),
        ),
        pk,
    )


def returned_quantities(order: Order) -> dict[int, Decimal]:
    """Units already returned per order line id (uses the prefetched returns when present)."""
    out: dict[int, Decimal] = {}
    for ret in order.returns.all():
        for rl in ret.lines.all():
            out[rl.order_line_id] = out.get(rl.order_line_id, 0) + rl.quantity
    return out


def customer_orders(customer_id: int, limit: int = 20) -> list[Order]:
    """A customer's latest orders, newest first, with store and channel (the caller checked visibility)."""
    return list(
        Order.objects.filter(customer_id=customer_id)
        .select_related("store", "channel")
        .order_by("-ordered_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class OrderFilters:
    """The order list filters, parsed once for pages and the API (see schemas.OrderFilterIn)."""

    q: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    store: int | None = None
    channel: int | None = None
    status: str = ""
    customer: int | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day as aware datetimes."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def filter_orders(qs: QuerySet[Order], f: OrderFilters, user) -> QuerySet[Order]:
    if f.date_from:
        qs = qs.filter(ordered_at__gte=day_bounds(f.date_from)[0])
    if f.date_to:
        qs = qs.filter(ordered_at__lt=day_bounds(f.date_to)[1])
    if f.store:
        qs = qs.filter(store_id=f.store)
    if f.channel:
        qs = qs.filter(channel_id=f.channel)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.customer:
        qs = qs.filter(customer_id=f.customer)
    if f.amount_min is not None:
        qs = qs.filter(amount__gte=f.amount_min)
    if f.amount_max is not None:
        qs = qs.filter(amount__lte=f.amount_max)
    text = (f.q or "").strip()
    if text:
        # An order number prefix (as a range, so the unique index serves it) or a customer match.
        cond = Q(number__gte=text, number__lt=text + PREFIX_END)
        if text.upper() != text:
            upper = text.upper()
            cond |= Q(number__gte=upper, number__lt=upper + PREFIX_END)
        customer_cond = search_q(text)
        if customer_cond is not None:
            cond |= Q(customer_id__in=visible_customers(user).filter(customer_cond).values("pk"))
        qs = qs.filter(cond)
    return qs


def order_list(user, f: OrderFilters) -> QuerySet[Order]:
    """Visible orders matching the filters, with what a list row shows; callers paginate (keyset)."""
    return filter_orders(visible_orders(user), f, user).select_related("customer", "store", "channel")


# --- Catalog ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFilters:
    q: str = ""
    category: int | None = None
    brand: str = ""
    active: bool | None = None


def product_list(f: ProductFilters) -> QuerySet[Product]:
    qs = Product.objects.select_related("category")
    if f.category:
        # The category and its direct children (categories are shallow: group → category).
        qs = qs.filter(Q(category_id=f.category) | Q(category__parent_id=f.category))
    if f.brand:
        qs = qs.filter(brand=f.brand)
    if f.active is not None:
        qs = qs.filter(active=f.active)
    text = (f.q or "").strip()
    if text:
        qs = qs.filter(Q(sku__gte=text, sku__lt=text + PREFIX_END) | Q(name__icontains=text)
                       | Q(model__icontains=text))
    return qs


def get_product(pk) -> Product:
    try:
        return Product.objects.select_related("category").get(pk=int(pk))
    except (TypeError, ValueError, Product.DoesNotExist):
        raise NotFound() from None


def categories() -> list[ProductCategory]:
    return list(ProductCategory.objects.select_related("parent").order_by("code"))


def brands() -> list[str]:
    return list(Product.objects.exclude(brand="").order_by("brand").values_list("brand", flat=True).distinct())


def channels() -> list[Channel]:
    return list(Channel.objects.order_by("code"))


def stores(*, active: bool | None = None, branch: int | None = None, region: int | None = None,
           q: str = "") -> QuerySet[Store]:
    qs = Store.objects.select_related("branch", "branch__region")
    if active is not None:
        qs = qs.filter(active=active)
    if branch:
        qs = qs.filter(branch_id=branch)
    if region:
        qs = qs.filter(branch__region_id=region)
    text = (q or "").strip()
    if text:
        qs = qs.filter(Q(code__gte=text, code__lt=text + PREFIX_END) | Q(name__icontains=text)
                       | Q(city__icontains=text))
    return qs


def get_store(pk) -> Store:
    try:
        return Store.objects.select_related("branch", "branch__region").get(pk=int(pk))
    except (TypeError, ValueError, Store.DoesNotExist):
        raise NotFound() from None


def stores_by_region(qs: QuerySet[Store]) -> list[tuple[Region, list[tuple[Branch, list[Store]]]]]:
    """Stores grouped as [(region, [(branch, [store, …]), …]), …], regions and branches by code."""
    grouped: OrderedDict = OrderedDict()
    for store in qs.order_by("branch__region__code", "branch__code", "code"):
        branch = store.branch
        region = branch.region
        grouped.setdefault(region.pk, (region, OrderedDict()))[1].setdefault(branch.pk, (branch, []))[1].append(store)
    return [(region, list(branches.values())) for region, branches in grouped.values()]


def store_month_figures(user, store_ids: list[int], *, today: dt.date | None = None) -> dict[int, dict]:
    """Per store: completed orders and revenue this calendar month, in the user's scope (one grouped query)."""
    today = today or timezone.localdate()
    start = day_bounds(today.replace(day=1))[0]
    rows = (visible_orders(user).filter(COUNTED, store_id__in=store_ids, ordered_at__gte=start)
            .values("store_id").annotate(orders=Count("id"), revenue=Sum("base_amount")).order_by())
    return {r["store_id"]: {"orders": r["orders"], "revenue": r["revenue"] or ZERO} for r in rows}


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def store_figures(user, store: Store, *, today: dt.date | None = None) -> dict:
    """This month and last month for one store, in the user's scope."""
    today = today or timezone.localdate()
    this_start = month_start(today)
    last_start = month_start(this_start - dt.timedelta(days=1))
    qs = visible_orders(user).filter(COUNTED, store_id=store.pk)

    def window(start: dt.date, end: dt.date | None) -> dict:
        rows = qs.filter(ordered_at__gte=day_bounds(start)[0])
        if end is not None:
            rows = rows.filter(ordered_at__lt=day_bounds(end)[0])
        agg = rows.aggregate(orders=Count("id"), revenue=Sum("base_amount"),
                             customers=Count("customer_id", distinct=True))
        revenue = agg["revenue"] or ZERO
        return {"orders": agg["orders"], "revenue": revenue, "customers": agg["customers"],
                "aov": (revenue / agg["orders"]).quantize(Decimal("0.01")) if agg["orders"] else ZERO}

    return {"this_month": window(this_start, None), "last_month": window(last_start, this_start),
            "month_start": this_start}


def key_figures(user, day: dt.date | None = None, *, until: dt.time | None = None) -> dict:
    """One day's figures in the user's scope, for the home page.

    orders: completed orders that day; revenue: their amount; average_order_value: revenue / orders;
    active_customers: distinct customers who ordered; new_customers: those whose first purchase was that day;
    returns: the amount refunded that day. Every query is bounded by the day's ordered_at/returned_at range;
    `until` (a local time of day) ends the range there, so a partial day compares like for like.
    """
    day = day or timezone.localdate()
    start, end = day_bounds(day)
    if until is not None:
        end = min(end, timezone.make_aware(dt.datetime.combine(day, until)))
    empty = {"day": day, "orders": 0, "revenue": ZERO, "average_order_value": ZERO, "new_customers": 0,
             "active_customers": 0, "returns": ZERO, "currency": rules.base_currency()}
    if not can_view_orders(user):
        return empty
    todays = visible_orders(user).filter(COUNTED, ordered_at__gte=start, ordered_at__lt=end)
    agg = todays.aggregate(orders=Count("id"), revenue=Sum("base_amount"),
                           customers=Count("customer_id", distinct=True))
    revenue = agg["revenue"] or ZERO
    new = visible_customers(user).filter(pk__in=todays.values("customer_id"), stats__first_order_at__gte=start,
                                         stats__first_order_at__lt=end).count() if agg["orders"] else 0
    returns_qs = Return.objects.filter(returned_at__gte=start, returned_at__lt=end)
    returns_qs = restrict_by_customer(returns_qs, user)
    returns = returns_qs.aggregate(s=Sum("base_amount"))["s"] or ZERO

    return {
        **empty,
        "orders": agg["orders"],
        "revenue": revenue,
        "average_order_value": (revenue / agg["orders"]).quantize(Decimal("0.01")) if agg["orders"] else ZERO,
        "active_customers": agg["customers"],
        "new_customers": new,
        "returns": returns,
        "currency": rules.base_currency(),
    }


def page(qs: QuerySet, *, sort: str, cursor: str | None, size: int = 25):
    """keyset_page, with a tampered or foreign cursor answered as 400 invalid_cursor instead of a crash."""
    if cursor:
        state = _decode(cursor)
        value = state.get("v")
        bad = not isinstance(state.get("id"), int) or isinstance(state.get("id"), bool)
        if sort.lstrip("-") != "id" and not isinstance(value, str):
            bad = True
        if bad:
            raise DomainError(ErrorCode.INVALID_CURSOR, "The page cursor is not valid.", "cursor")
    try:
        return keyset_page(qs, sort=sort, cursor=cursor or None, size=size)
    except (ValidationError, ValueError, TypeError, OverflowError):
        raise DomainError(ErrorCode.INVALID_CURSOR, "The page cursor is not valid.", "cursor") from None


def product_sales(user, product: Product, *, days: int = 30) -> dict:
    """Units, revenue and orders of one product over the last `days` days, in the user's scope."""
    since = timezone.now() - dt.timedelta(days=days)
    figures = (OrderLine.objects.filter(product_id=product.pk, order__ordered_at__gte=since,
                                        order__status=Order.Status.COMPLETED, order__fx_rate__isnull=False,
                                        order__in=visible_orders(user))
               .aggregate(units=Sum("quantity"), revenue=Sum(F("amount") * F("order__fx_rate"),
                                                             output_field=DecimalField(max_digits=24, decimal_places=10)),
                          orders=Count("order_id", distinct=True)))
    if figures["revenue"] is not None:  # lines in the base currency at their order's rate
        figures["revenue"] = Decimal(figures["revenue"]).quantize(Decimal("0.01"))
    return figures


def store_recent_orders(user, store: Store, *, limit: int = 15) -> list[Order]:
    return list(visible_orders(user).filter(store_id=store.pk).select_related("customer", "channel")
                .order_by("-ordered_at", "-id")[:limit])


def store_promoters(store: Store) -> list:
    return list(Promoter.objects.filter(store=store).order_by("name"))


def product_recent_lines(user, product: Product, *, days: int = 30, limit: int = 10) -> list[OrderLine]:
    """The latest order lines of a product within `days`, in the user's scope (driven by the order time index)."""
    since = timezone.now() - dt.timedelta(days=days)
    return list(OrderLine.objects.filter(product_id=product.pk, order__ordered_at__gte=since,
                                         order__in=visible_orders(user))
                .select_related("order", "order__customer", "order__store")
                .order_by("-order__ordered_at", "-id")[:limit])


def customer_choices(user, q: str, *, limit: int = 10) -> list:
    """Visible, non-archived customers matching a search (name, pinyin, phone, member no.) for pickers."""
    cond = search_q(q)
    if cond is None:
        return []
    return list(visible_customers(user).filter(cond, archived_at__isnull=True).select_related("stats")
                .order_by("name", "id")[:limit])


def sellable_products(*, limit: int = 1000) -> list[Product]:
    """Active products for order entry (SKU, name, list price), by SKU."""
    return list(Product.objects.filter(active=True).only("id", "sku", "name", "list_price").order_by("sku")[:limit])


def revenue_by_day(user, *, days: int = 30, end: dt.date | None = None) -> dict[str, list]:
    """Revenue and order count per local day for the last `days` days (including `end`), zero-filled (the home
    page's trend, registered as core.extensions home source "trend")."""
    end = end or timezone.localdate()
    first = end - dt.timedelta(days=days - 1)
    start, _ = day_bounds(first)
    _, stop = day_bounds(end)
    rows = (visible_orders(user).filter(COUNTED, ordered_at__gte=start, ordered_at__lt=stop)
            .annotate(day=TruncDate("ordered_at", tzinfo=timezone.get_current_timezone()))
            .values("day").annotate(revenue=Sum("base_amount"), orders=Count("id")).order_by("day"))
    by_day = {row["day"]: row for row in rows}
    labels, revenue, orders = [], [], []
    for i in range(days):
        d = first + dt.timedelta(days=i)
        row = by_day.get(d)
        labels.append(d.isoformat())
        revenue.append(str((row["revenue"] or ZERO) if row else ZERO))
        orders.append(row["orders"] if row else 0)
    # The last day is still going on when it is today: the chart draws it apart instead of as a drop.
    partial = end == timezone.localdate()
    return {"days": labels, "revenue": revenue, "orders": orders, "partial_last": partial,
            "until": timezone.localtime().strftime("%H:%M") if partial else None}


def store_cities() -> list[str]:
    """Distinct store cities, sorted (for city filter menus in other apps)."""
    return sorted(set(Store.objects.exclude(city="").values_list("city", flat=True)))


# --- Reference data (the pages and API of commerce/reference.py) -------------------------------------------------


def _counts(qs, field: str) -> dict:
    return dict(qs.values(field).annotate(n=Count("id")).order_by().values_list(field, "n"))


def category_tree() -> list[ProductCategory]:
    """Every category in tree order (each parent followed by its children, by code), with `depth`,
    `product_count` and `child_count` set; three queries however deep the tree."""
    rows = list(ProductCategory.objects.order_by("code"))
    products = _counts(Product.objects.all(), "category_id")
    children: dict[int | None, list[ProductCategory]] = {}
    for c in rows:
        children.setdefault(c.parent_id, []).append(c)
    out: list[ProductCategory] = []

    def walk(parent_id, depth: int) -> None:
        for c in children.get(parent_id, []):
            c.depth, c.product_count, c.child_count = depth, products.get(c.pk, 0), len(children.get(c.pk, []))
            out.append(c)
            walk(c.pk, depth + 1)

    walk(None, 0)
    listed = {c.pk for c in out}
    for c in rows:  # only rows in a cycle written around the services are not reached from a root
        if c.pk not in listed:
            c.depth, c.product_count, c.child_count = 0, products.get(c.pk, 0), len(children.get(c.pk, []))
            out.append(c)
    return out


def brand_list(q: str = "") -> list[Brand]:
    """Brands by name with `product_count` (products whose brand text is the brand's name, ignoring case)."""
    qs = Brand.objects.order_by("name")
    if q.strip():
        qs = qs.filter(name__icontains=q.strip())
    counts = _counts(Product.objects.annotate(key=Lower("brand")).exclude(brand=""), "key")
    out = list(qs)
    for b in out:
        b.product_count = counts.get(b.name.lower(), 0)
    return out


def region_list() -> list[Region]:
    """Regions by code with their branches (by code), `branch_count` and each branch's `store_count`."""
    stores = _counts(Store.objects.all(), "branch_id")
    regions = list(Region.objects.order_by("code").prefetch_related(
        Prefetch("branches", queryset=Branch.objects.order_by("code"))))
    for r in regions:
        r.branch_list = list(r.branches.all())
        r.branch_count = len(r.branch_list)
        r.store_count = 0
        for b in r.branch_list:
            b.store_count = stores.get(b.pk, 0)
            r.store_count += b.store_count
    return regions


def branch_list(region: int | None = None) -> list[Branch]:
    qs = Branch.objects.select_related("region").order_by("code")
    return list(qs.filter(region_id=region) if region else qs)


def unit_list() -> list[Unit]:
    products = _counts(Product.objects.exclude(unit=None), "unit_id")
    units = list(Unit.objects.order_by("code"))
    for u in units:
        u.product_count = products.get(u.pk, 0)
    return units


def get_reference(model, pk):
    """One reference row (category, brand, region, branch, channel, unit) or NotFound."""
    try:
        return model.objects.get(pk=int(pk))
    except (TypeError, ValueError, model.DoesNotExist):
        raise NotFound() from None


# --- exchange rates ---------------------------------------------------------------------------------------------


class RateBook:
    """The exchange rates of some currencies, read once (a few rows per currency and day), answering the rate of
    an order's currency on its local calendar day by commerce.rules.rate_on: 1 for the base currency, None when the
    currency has no rate for that day (the order waits for one)."""

    def __init__(self, currencies=None):
        self.base = rules.base_currency()
        self.valid_days = rules.rate_valid_days()
        wanted = None if currencies is None else sorted({c for c in currencies if c and c != self.base})
        self.table: dict[str, tuple[list, list]] = {}
        if wanted == []:
            return
        qs = ExchangeRate.objects.order_by("currency", "day")
        if wanted is not None:
            qs = qs.filter(currency__in=wanted)
        for currency, day, rate in qs.values_list("currency", "day", "rate"):
            days, rates = self.table.setdefault(currency, ([], []))
            days.append(day)
            rates.append(rate)

    def rate(self, currency: str, day: dt.date) -> Decimal | None:
        if currency == self.base:
            return Decimal(1)
        found = self.table.get(currency)
        return None if found is None else rules.rate_on(found[0], found[1], day, self.valid_days)

    def rate_at(self, currency: str, moment: dt.datetime) -> Decimal | None:
        """The rate for an order placed at `moment` (its local calendar day)."""
        if currency == self.base:
            return Decimal(1)
        return self.rate(currency, timezone.localtime(moment).date())


def exchange_rate_list(q: str = "") -> list[ExchangeRate]:
    """Every exchange rate, by currency and newest day first; `q` filters by currency code."""
    qs = ExchangeRate.objects.order_by("currency", "-day")
    text = q.strip().upper()
    if text:
        qs = qs.filter(currency__contains=text)
    return list(qs)


def orders_waiting_for_rates() -> list[dict]:
    """Per currency, the orders stored without an exchange rate for their day: how many and their first and last
    order time (the rates page lists them; they are in no total until a rate converts them)."""
    return list(Order.objects.filter(fx_rate__isnull=True).values("currency")
                .annotate(orders=Count("id"), first=Min("ordered_at"), last=Max("ordered_at")).order_by("currency"))
