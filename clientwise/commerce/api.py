"""JSON API for commerce: parse, call queries/services, return schemas. No business rules here."""

from __future__ import annotations

from django.conf import settings
from ninja import Query, Router, Status

from clientwise.commerce import queries, services
from clientwise.commerce.models import Order, Product, Store
from clientwise.commerce.schemas import (
    CancelIn,
    CategoryOut,
    ChannelOut,
    OrderFilterIn,
    OrderIn,
    OrderOut,
    OrderPage,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    ReturnIn,
    ReturnOut,
    StoreIn,
    StoreOut,
    StorePage,
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
        "line_count": o.line_count,
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
            "quantity": ln.quantity, "unit_price": ln.unit_price, "discount": ln.discount, "amount": ln.amount,
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
