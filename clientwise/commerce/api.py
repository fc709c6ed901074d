"""JSON API for commerce: parse, call queries/services, return schemas. No business rules here."""

from __future__ import annotations

from django.conf import settings
from ninja import Query, Router, Status

from clientwise.commerce import queries, reference, rules, services
from clientwise.commerce.models import (
    Branch,
    Brand,
    Channel,
    ExchangeRate,
    Order,
    Product,
    ProductCategory,
    Region,
    Store,
    Unit,
)
from clientwise.commerce.schemas import (
    BranchIn,
    BranchOut,
    BranchPatch,
    BrandIn,
    BrandOut,
    BrandPatch,
    CancelIn,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    ChannelIn,
    ChannelOut,
    ChannelPatch,
    ExchangeRateIn,
    ExchangeRateOut,
    ExchangeRatePatch,
    OrderFilterIn,
    OrderIn,
    OrderOut,
    OrderPage,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    RegionIn,
    RegionOut,
    RegionPatch,
    ReturnIn,
    ReturnOut,
    StoreIn,
    StoreOut,
    StorePage,
    StorePatch,
    UnitIn,
    UnitOut,
    UnitPatch,
)
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.customers.queries import get_customer_for

router = Router(tags=["commerce"])
MAX_PAGE = 200


def _size(limit: int) -> int:
    if limit < 1 or limit > MAX_PAGE:
        raise DomainError(ErrorCode.INVALID, f"limit must be between 1 and {MAX_PAGE}.", "limit", status=422)
    return limit


def product_out(p: Product, *, show_cost: bool) -> dict:
    return {
        "id": p.pk, "sku": p.sku, "name": p.name, "category_id": p.category_id, "category_name": p.category.name,
        "brand": p.brand, "model": p.model, "attributes": p.attributes or {}, "list_price": p.list_price,
        "unit_cost": p.unit_cost if show_cost else None, "currency": settings.CURRENCY, "active": p.active,
        "source": p.source, "external_id": p.external_id,
    }


def store_out(s: Store) -> dict:
    return {
        "id": s.pk, "code": s.code, "name": s.name, "branch_id": s.branch_id, "branch_name": s.branch.name,
        "region_id": s.branch.region_id, "region_name": s.branch.region.name, "province": s.province,
        "city": s.city, "district": s.district, "urban_rural": s.urban_rural, "opened_on": s.opened_on,
        "active": s.active,
    }


def order_summary(o: Order) -> dict:
    return {
        "id": o.pk, "number": o.number, "customer_id": o.customer_id, "customer_name": o.customer.name,
        "store_id": o.store_id, "store_name": o.store.name if o.store else None, "channel_id": o.channel_id,
        "channel_code": o.channel.code if o.channel else None, "ordered_at": o.ordered_at, "status": o.status,
        "currency": o.currency, "subtotal": o.subtotal, "discount": o.discount, "amount": o.amount,
        "fx_rate": o.fx_rate, "base_amount": o.base_amount, "base_currency": rules.base_currency(),
        "line_count": o.line_count, "missing_lines": o.missing_lines,
    }


def return_out(r, currency: str) -> dict:
    return {"id": r.pk, "order_id": r.order_id, "customer_id": r.customer_id, "returned_at": r.returned_at,
            "amount": r.amount, "currency": currency, "reason": r.reason,
            "lines": [{"order_line_id": rl.order_line_id, "quantity": rl.quantity, "amount": rl.amount}
                      for rl in r.lines.all()]}


def order_out(o: Order, user) -> dict:
    show_cost = queries.can_view_cost(user)
    returned = queries.returned_quantities(o)
    returns = list(o.returns.all())
    returned_amount = sum((r.amount for r in returns), queries.ZERO)
    return {
        **order_summary(o),
        "sales_rep_id": o.sales_rep_id, "promoter_id": o.promoter_id,
        "cost": o.cost if show_cost else None, "margin": o.margin if show_cost else None,
        "returned_amount": returned_amount, "source": o.source, "external_id": o.external_id,
        "lines": [{
            "id": ln.pk, "product_id": ln.product_id, "sku": ln.product.sku, "product_name": ln.product.name,
            "quantity": ln.quantity, "unit_price": ln.unit_price, "promotion_discount": ln.promotion_discount,
            "coupon_discount": ln.coupon_discount, "loyalty_discount": ln.loyalty_discount,
            "manual_discount": ln.manual_discount, "discount": ln.discount, "amount": ln.amount,
            "cost": ln.cost if show_cost else None, "returned_quantity": returned.get(ln.pk, 0),
        } for ln in o.lines.all()],
        "returns": [return_out(r, o.currency) for r in returns],
    }


def _require_view(request) -> None:
    perms.require(request.user, perms.VIEW_ORDERS)


# --- Catalog ------------------------------------------------------------------------------------------------------


@router.get("/products", response=ProductPage)
def list_products(request, q: str = "", category_id: int | None = None, brand: str = "",
                  active: bool | None = None, cursor: str | None = None, limit: int = 50):
    """Products by SKU; filter by category (with its sub-categories), brand, active and a SKU/name search."""
    _require_view(request)
    qs = queries.product_list(queries.ProductFilters(q=q, category=category_id, brand=brand, active=active))
    pg = queries.page(qs, sort="sku", cursor=cursor, size=_size(limit))
    show_cost = queries.can_view_cost(request.user)
    return {"items": [product_out(p, show_cost=show_cost) for p in pg.items], "next_cursor": pg.next_cursor,
            "prev_cursor": pg.prev_cursor}


@router.post("/products", response={201: ProductOut})
def create_product(request, payload: ProductIn):
    product = services.save_product(actor=request.user, data=payload.dict())
    return Status(201, product_out(queries.get_product(product.pk), show_cost=queries.can_view_cost(request.user)))


@router.get("/products/{product_id}", response=ProductOut)
def get_product(request, product_id: int):
    _require_view(request)
    return product_out(queries.get_product(product_id), show_cost=queries.can_view_cost(request.user))


@router.patch("/products/{product_id}", response=ProductOut)
def patch_product(request, product_id: int, payload: ProductPatch):
    data = payload.dict(exclude_unset=True)
    services.save_product(actor=request.user, data=data, product_id=product_id)
    return product_out(queries.get_product(product_id), show_cost=queries.can_view_cost(request.user))


@router.get("/product-categories", response=list[CategoryOut])
def list_categories(request):
    _require_view(request)
    return queries.categories()


# --- Reference data: categories, brands, regions, branches, channels, units (commerce/reference.py) -------------
# Reading needs orders.view; writing catalog.manage. A delete answers 409 `in_use` while something refers to the row.


@router.post("/product-categories", response={201: CategoryOut})
def create_category(request, payload: CategoryIn):
    return Status(201, reference.save_category(actor=request.user, data=payload.model_dump()))


@router.get("/product-categories/{category_id}", response=CategoryOut)
def get_category(request, category_id: int):
    _require_view(request)
    return queries.get_reference(ProductCategory, category_id)


@router.patch("/product-categories/{category_id}", response=CategoryOut)
def patch_category(request, category_id: int, payload: CategoryPatch):
    return reference.save_category(actor=request.user, data=payload.model_dump(exclude_unset=True),
                                   category_id=category_id)


@router.delete("/product-categories/{category_id}", response={204: None})
def delete_category(request, category_id: int):
    reference.delete_category(actor=request.user, category_id=category_id)
    return Status(204, None)


def brand_out(brand: Brand) -> dict:
    count = getattr(brand, "product_count", None)
    if count is None:
        count = Product.objects.filter(brand__iexact=brand.name).count()
    return {"id": brand.pk, "name": brand.name, "active": brand.active, "product_count": count}


@router.get("/brands", response=list[BrandOut])
def list_brands(request, q: str = ""):
    """Brands by name, with how many products carry each."""
    _require_view(request)
    return [brand_out(b) for b in queries.brand_list(q)]


@router.post("/brands", response={201: BrandOut})
def create_brand(request, payload: BrandIn):
    return Status(201, brand_out(reference.save_brand(actor=request.user, data=payload.model_dump())))


@router.get("/brands/{brand_id}", response=BrandOut)
def get_brand(request, brand_id: int):
    _require_view(request)
    return brand_out(queries.get_reference(Brand, brand_id))


@router.patch("/brands/{brand_id}", response=BrandOut)
def patch_brand(request, brand_id: int, payload: BrandPatch):
    return brand_out(reference.save_brand(actor=request.user, data=payload.model_dump(exclude_unset=True),
                                          brand_id=brand_id))


@router.delete("/brands/{brand_id}", response={204: None})
def delete_brand(request, brand_id: int):
    reference.delete_brand(actor=request.user, brand_id=brand_id)
    return Status(204, None)


@router.get("/regions", response=list[RegionOut])
def list_regions(request):
    _require_view(request)
    return list(Region.objects.order_by("code"))


@router.post("/regions", response={201: RegionOut})
def create_region(request, payload: RegionIn):
    return Status(201, reference.save_region(actor=request.user, data=payload.model_dump()))


@router.get("/regions/{region_id}", response=RegionOut)
def get_region(request, region_id: int):
    _require_view(request)
    return queries.get_reference(Region, region_id)


@router.patch("/regions/{region_id}", response=RegionOut)
def patch_region(request, region_id: int, payload: RegionPatch):
    return reference.save_region(actor=request.user, data=payload.model_dump(exclude_unset=True), region_id=region_id)


@router.delete("/regions/{region_id}", response={204: None})
def delete_region(request, region_id: int):
    reference.delete_region(actor=request.user, region_id=region_id)
    return Status(204, None)


@router.get("/branches", response=list[BranchOut])
def list_branches(request, region_id: int | None = None):
    _require_view(request)
    return queries.branch_list(region_id)


@router.post("/branches", response={201: BranchOut})
def create_branch(request, payload: BranchIn):
    return Status(201, reference.save_branch(actor=request.user, data=payload.model_dump()))


@router.get("/branches/{branch_id}", response=BranchOut)
def get_branch(request, branch_id: int):
    _require_view(request)
    return queries.get_reference(Branch, branch_id)


@router.patch("/branches/{branch_id}", response=BranchOut)
def patch_branch(request, branch_id: int, payload: BranchPatch):
    return reference.save_branch(actor=request.user, data=payload.model_dump(exclude_unset=True), branch_id=branch_id)


@router.delete("/branches/{branch_id}", response={204: None})
def delete_branch(request, branch_id: int):
    reference.delete_branch(actor=request.user, branch_id=branch_id)
    return Status(204, None)


@router.post("/channels", response={201: ChannelOut})
def create_channel(request, payload: ChannelIn):
    return Status(201, reference.save_channel(actor=request.user, data=payload.model_dump()))


@router.get("/channels/{channel_id}", response=ChannelOut)
def get_channel(request, channel_id: int):
    _require_view(request)
    return queries.get_reference(Channel, channel_id)


@router.patch("/channels/{channel_id}", response=ChannelOut)
def patch_channel(request, channel_id: int, payload: ChannelPatch):
    return reference.save_channel(actor=request.user, data=payload.model_dump(exclude_unset=True),
                                  channel_id=channel_id)


@router.delete("/channels/{channel_id}", response={204: None})
def delete_channel(request, channel_id: int):
    reference.delete_channel(actor=request.user, channel_id=channel_id)
    return Status(204, None)


@router.get("/units", response=list[UnitOut])
def list_units(request):
    _require_view(request)
    return queries.unit_list()


@router.post("/units", response={201: UnitOut})
def create_unit(request, payload: UnitIn):
    return Status(201, reference.save_unit(actor=request.user, data=payload.model_dump()))


@router.get("/units/{unit_id}", response=UnitOut)
def get_unit(request, unit_id: int):
    _require_view(request)
    return queries.get_reference(Unit, unit_id)


@router.patch("/units/{unit_id}", response=UnitOut)
def patch_unit(request, unit_id: int, payload: UnitPatch):
    return reference.save_unit(actor=request.user, data=payload.model_dump(exclude_unset=True), unit_id=unit_id)


@router.delete("/units/{unit_id}", response={204: None})
def delete_unit(request, unit_id: int):
    reference.delete_unit(actor=request.user, unit_id=unit_id)
    return Status(204, None)


@router.get("/stores", response=StorePage)
def list_stores(request, q: str = "", branch_id: int | None = None, region_id: int | None = None,
                active: bool | None = None, cursor: str | None = None, limit: int = 100):
    _require_view(request)
    qs = queries.stores(active=active, branch=branch_id, region=region_id, q=q)
    pg = queries.page(qs, sort="code", cursor=cursor, size=_size(limit))
    return {"items": [store_out(s) for s in pg.items], "next_cursor": pg.next_cursor,
            "prev_cursor": pg.prev_cursor}


@router.post("/stores", response={201: StoreOut})
def create_store(request, payload: StoreIn):
    store = services.save_store(actor=request.user, data=payload.dict())
    return Status(201, store_out(queries.get_store(store.pk)))


@router.get("/stores/{store_id}", response=StoreOut)
def get_store(request, store_id: int):
    _require_view(request)
    return store_out(queries.get_store(store_id))


@router.patch("/stores/{store_id}", response=StoreOut)
def patch_store(request, store_id: int, payload: StorePatch):
    """Change a store; `active: false` closes it (a store with orders is closed, not deleted)."""
    services.save_store(actor=request.user, data=payload.model_dump(exclude_unset=True), store_id=store_id)
    return store_out(queries.get_store(store_id))


@router.delete("/stores/{store_id}", response={204: None})
def delete_store(request, store_id: int):
    reference.delete_store(actor=request.user, store_id=store_id)
    return Status(204, None)


@router.get("/channels", response=list[ChannelOut])
def list_channels(request):
    _require_view(request)
    return queries.channels()


# --- Orders -------------------------------------------------------------------------------------------------------


def _filters(f: OrderFilterIn) -> queries.OrderFilters:
    return queries.OrderFilters(q=f.q, date_from=f.date_from, date_to=f.date_to, store=f.store_id,
                                channel=f.channel_id, status=f.status, customer=f.customer_id,
                                amount_min=f.amount_min, amount_max=f.amount_max)


@router.get("/orders", response=OrderPage)
def list_orders(request, filters: Query[OrderFilterIn], cursor: str | None = None, limit: int = 50):
    """Visible orders, newest first. Filters: q (order number prefix or customer), date range, store, channel,
    status, customer and amount range."""
    _require_view(request)
    pg = queries.page(queries.order_list(request.user, _filters(filters)), sort="-ordered_at", cursor=cursor,
                      size=_size(limit))
    return {"items": [order_summary(o) for o in pg.items], "next_cursor": pg.next_cursor,
            "prev_cursor": pg.prev_cursor}


@router.post("/orders", response={200: OrderOut, 201: OrderOut})
def create_order(request, payload: OrderIn):
    """Record an order. 201 with the order; 200 with the existing order when (source, external_id) was
    already imported for this customer. Send `Idempotency-Key` to make retries safe."""
    data = payload.dict()
    lines = data.pop("lines")
    order = services.create_order(actor=request.user, lines=lines, **data)
    status = 201 if getattr(order, "was_created", True) else 200
    return Status(status, order_out(queries.get_order_for(request.user, order.pk), request.user))


@router.get("/orders/{order_id}", response=OrderOut)
def get_order(request, order_id: int):
    _require_view(request)
    return order_out(queries.get_order_for(request.user, order_id), request.user)


@router.post("/orders/{order_id}/cancel", response=OrderOut)
def cancel_order(request, order_id: int, payload: CancelIn):
    services.cancel_order(actor=request.user, order_id=order_id, reason=payload.reason)
    return order_out(queries.get_order_for(request.user, order_id), request.user)


@router.post("/orders/{order_id}/returns", response={201: ReturnOut})
def create_return(request, order_id: int, payload: ReturnIn):
    data = payload.dict()
    ret = services.create_return(actor=request.user, order_id=order_id, **data)
    order = queries.get_order_for(request.user, order_id)
    return Status(201, return_out(next(r for r in order.returns.all() if r.pk == ret.pk), order.currency))


@router.get("/customers/{customer_id}/orders", response=OrderPage)
def list_customer_orders(request, customer_id: int, cursor: str | None = None, limit: int = 20):
    """A customer's orders, newest first (404 when the customer is not visible)."""
    _require_view(request)
    customer = get_customer_for(request.user, customer_id)
    qs = Order.objects.filter(customer_id=customer.pk).select_related("customer", "store", "channel")
    pg = queries.page(qs, sort="-ordered_at", cursor=cursor, size=_size(limit))
    return {"items": [order_summary(o) for o in pg.items], "next_cursor": pg.next_cursor,
            "prev_cursor": pg.prev_cursor}


# --- Exchange rates (commerce/reference.py; docs/reference-data.md) ---------------------------------------------


def rate_out(row: ExchangeRate) -> dict:
    return {"id": row.pk, "currency": row.currency, "day": row.day, "rate": row.rate,
            "base_currency": rules.base_currency(), "converted": getattr(row, "converted", 0)}


@router.get("/exchange-rates", response=list[ExchangeRateOut])
def list_exchange_rates(request, currency: str = ""):
    """Every exchange rate, by currency and newest day first (`currency` filters by code)."""
    _require_view(request)
    return [rate_out(r) for r in queries.exchange_rate_list(currency)]


@router.post("/exchange-rates", response={201: ExchangeRateOut})
def create_exchange_rate(request, payload: ExchangeRateIn):
    """Add a rate; orders of the currency waiting for a rate for their day are converted (`converted`)."""
    return Status(201, rate_out(reference.save_exchange_rate(actor=request.user, data=payload.model_dump())))


@router.get("/exchange-rates/{rate_id}", response=ExchangeRateOut)
def get_exchange_rate(request, rate_id: int):
    _require_view(request)
    return rate_out(queries.get_reference(ExchangeRate, rate_id))


@router.patch("/exchange-rates/{rate_id}", response=ExchangeRateOut)
def patch_exchange_rate(request, rate_id: int, payload: ExchangeRatePatch):
    """Change a rate. Orders already converted keep the rate they were converted at."""
    return rate_out(reference.save_exchange_rate(actor=request.user, data=payload.model_dump(exclude_unset=True),
                                                 rate_id=rate_id))


@router.delete("/exchange-rates/{rate_id}", response={204: None})
def delete_exchange_rate(request, rate_id: int):
    reference.delete_exchange_rate(actor=request.user, rate_id=rate_id)
    return Status(204, None)
