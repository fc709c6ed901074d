"""Commerce operations: orders, cancellations, returns, and catalog/store administration.

These functions are the only code that writes commerce rows. Pages, the API, imports and the demo generator
call them. Each takes keyword-only arguments with the acting user, checks the permission and the customer's
visibility, validates everything before writing, and writes in one transaction: the rows, the customer's
totals (through `customers.services.apply_purchase_totals`), a timeline row and an audit row.

Re-import semantics: an order whose (source, external_id) already exists is not created again; the existing
order is returned (with `was_created = False`) when it belongs to the same customer and the actor can see it,
otherwise the call fails with 409 `duplicate`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from clientwise.accounts.models import User
from clientwise.commerce import rules
from clientwise.commerce.errors import CommerceErrorCode
from clientwise.commerce.models import (
    COUNTED,
    Branch,
    Channel,
    Order,
    OrderLine,
    Product,
    ProductCategory,
    Promoter,
    Return,
    ReturnLine,
    Store,
)
from clientwise.commerce.queries import RateBook
from clientwise.core import permissions as perms
from clientwise.core.audit import audit, diff, snapshot
from clientwise.core.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from clientwise.core.normalize import parse_amount, parse_date
from clientwise.customers.errors import CustomersErrorCode
from clientwise.customers.events import record_event
from clientwise.customers.queries import get_customer_for
from clientwise.customers.services import (
    apply_purchase_totals,
    apply_purchase_totals_bulk,
    store_purchase_totals,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Clocks of tills and phones drift; an order a few minutes "in the future" is a clock, not a mistake.
FUTURE_SKEW = dt.timedelta(minutes=5)
MAX_LINES = 500
MAX_QUANTITY = 1_000_000
NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]{0,39}$")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")


def _error(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(code, message, field)


def format_amount(value: Decimal, currency: str = "CNY") -> str:
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}.get(currency, currency + " ")
    return f"{symbol}{value:,.2f}"


def _aware(value: Any, field: str) -> dt.datetime:
    """A timezone-aware datetime from a datetime, a date, or an ISO string (naive means local time)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is None:
            parsed = dt.datetime.combine(parse_date(text, field=field), dt.time(12, 0))
        value = parsed
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12, 0))
    if not isinstance(value, dt.datetime):
        raise _error(ErrorCode.INVALID_DATE, _("Not a date and time."), field)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _int(value: Any, field: str, errors: list[DomainError], *, label: str) -> int | None:
    """A positive whole number, or an error appended (bools and 1.5 are refused)."""
    if isinstance(value, bool) or value in (None, ""):
        errors.append(_error(ErrorCode.REQUIRED if value in (None, "") else ErrorCode.INVALID,
                             _("%(label)s must be a whole number greater than zero.") % {"label": label}, field))
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value() or number <= 0:
        errors.append(_error(ErrorCode.INVALID, _("%(label)s must be a whole number greater than zero.") % {
            "label": label}, field))
        return None
    if number > MAX_QUANTITY:
        errors.append(_error(ErrorCode.INVALID, _("%(label)s is too large.") % {"label": label}, field))
        return None
    return int(number)


def _parsed(parse, value: Any, field: str, errors: list[DomainError]):
    """parse(text, field), or None with its error appended (bools are refused)."""
    if isinstance(value, bool):
        errors.append(_error(ErrorCode.INVALID, _("Not a number."), field))
        return None
    try:
        return parse(str(value), field)
    except DomainError as exc:
        errors.append(exc)
        return None


def _quantity(value: Any, field: str, errors: list[DomainError], *, allow_zero: bool = False) -> Decimal | None:
    """A line quantity (commerce.rules.parse_quantity), greater than zero unless `allow_zero`."""
    if value in (None, ""):
        errors.append(_error(ErrorCode.REQUIRED, _("Quantity is required."), field))
        return None
    number = _parsed(rules.parse_quantity, value, field, errors)
    if number is not None and not number and not allow_zero:
        errors.append(_error(ErrorCode.INVALID, _("Quantity must be greater than zero."), field))
        return None
    return number


def _amount(value: Any, field: str, errors: list[DomainError]) -> Decimal | None:
    if isinstance(value, bool):
        errors.append(_error(ErrorCode.INVALID_AMOUNT, _("Not an amount."), field))
        return None
    try:
        amount = parse_amount(value, field=field)
    except DomainError as exc:
        errors.append(exc)
        return None
    if amount < 0:
        errors.append(_error(ErrorCode.INVALID_AMOUNT, _("An amount cannot be negative."), field))
        return None
    return amount


def _ref_id(value: Any, field: str, errors: list[DomainError]) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors.append(_error(ErrorCode.INVALID, _("Not a valid reference."), field))
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors.append(_error(ErrorCode.INVALID, _("Not a valid reference."), field))
        return None


def generate_order_number(at: dt.datetime | None = None) -> str:
    """SO-20261125-7F3A2C: the local date and six random hex digits (16 million per day)."""
    local = timezone.localtime(at or timezone.now())
    for _attempt in range(5):
        number = f"SO-{local:%Y%m%d}-{secrets.token_hex(3).upper()}"
        if not Order.objects.filter(number=number).exists():
            return number
    raise DomainError(ErrorCode.CONFLICT, _("Could not generate an order number; try again."), "number")


def _clean_lines(lines: Any) -> tuple[list[dict[str, Any]], list[DomainError]]:
    """Resolve products and parse every line; all errors are collected, with fields like lines.1.quantity."""
    errors: list[DomainError] = []
    if not isinstance(lines, list | tuple) or not lines:
        return [], [_error(ErrorCode.REQUIRED, _("An order needs at least one line."), "lines")]
    if len(lines) > MAX_LINES:
        return [], [_error(ErrorCode.INVALID, _("An order has at most %(n)s lines.") % {"n": MAX_LINES}, "lines")]
    ids, skus = set(), set()
    for raw in lines:
        if isinstance(raw, dict):
            pid = raw.get("product_id")
            if pid not in (None, "") and not isinstance(pid, bool):
                with contextlib.suppress(TypeError, ValueError):
                    ids.add(int(pid))
            elif raw.get("sku"):
                skus.add(str(raw["sku"]).strip())
    products = Product.objects.select_related("unit")
    by_id = {p.pk: p for p in products.filter(pk__in=ids)} if ids else {}
    by_sku = {p.sku: p for p in products.filter(sku__in=skus)} if skus else {}
    clean: list[dict[str, Any]] = []
    for i, raw in enumerate(lines):
        prefix = f"lines.{i}"
        if not isinstance(raw, dict):
            errors.append(_error(ErrorCode.INVALID, _("A line must be an object."), prefix))
            continue
        line_errors: list[DomainError] = []
        product = None
        pid = raw.get("product_id")
        if pid not in (None, ""):
            ref = _ref_id(pid, f"{prefix}.product_id", line_errors)
            product = by_id.get(ref) if ref is not None else None
            if ref is not None and product is None:
                line_errors.append(_error(ErrorCode.UNKNOWN_REFERENCE, _("No such product: %(value)s.") % {
                    "value": pid}, f"{prefix}.product_id"))
        elif raw.get("sku"):
            sku = str(raw["sku"]).strip()
            product = by_sku.get(sku)
            if product is None:
                line_errors.append(_error(ErrorCode.UNKNOWN_REFERENCE, _("No product with SKU %(value)s.") % {
                    "value": sku}, f"{prefix}.sku"))
        else:
            line_errors.append(_error(ErrorCode.REQUIRED, _("Give a product id or a SKU."), f"{prefix}.product_id"))
        if product is not None and not product.active:
            line_errors.append(_error(CommerceErrorCode.INACTIVE_PRODUCT, _("%(name)s is no longer sold.") % {
                "name": product.name}, f"{prefix}.product_id"))
        fractional = bool(product is not None and product.unit_id and product.unit.fractional)
        quantity = _quantity(raw.get("quantity"), f"{prefix}.quantity", line_errors)
        price_raw = raw.get("unit_price")
        unit_price = None
        if price_raw not in (None, ""):
            unit_price = _parsed(rules.parse_unit_price, price_raw, f"{prefix}.unit_price", line_errors)
        amount_raw = raw.get("amount")
        amount = None if amount_raw in (None, "") else _amount(amount_raw, f"{prefix}.amount", line_errors)
        discounts = {}
        for kind in rules.DISCOUNT_KINDS:
            key = f"{kind}_discount"
            value = raw.get(key)
            if kind == "promotion" and value in (None, ""):
                key, value = "discount", raw.get("discount")  # a discount without a kind is a promotion
            discounts[kind] = ZERO if value in (None, "") else _amount(value, f"{prefix}.{key}", line_errors)
        if line_errors or product is None or quantity is None:
            errors.extend(line_errors)
            continue
        try:
            priced = rules.price_line(
                quantity=quantity, unit_price=unit_price, amount=amount, list_price=product.list_price,
                unit_cost=product.unit_cost, fractional=fractional,
                basis=rules.BASIS_AMOUNT if amount is not None else rules.BASIS_UNIT_PRICE, **discounts)
        except DomainError as exc:
            errors.append(_error(exc.code, exc.message, f"{prefix}.{exc.field}"))
            continue
        clean.append({"product": product, "priced": priced})
    return clean, errors


def order_line(*, order_id: int, customer_id: int, product_id: int, priced: rules.PricedLine) -> OrderLine:
    """The OrderLine row of a priced line."""
    return OrderLine(order_id=order_id, customer_id=customer_id, product_id=product_id, quantity=priced.quantity,
                     unit_price=priced.unit_price, promotion_discount=priced.promotion,
                     coupon_discount=priced.coupon, loyalty_discount=priced.loyalty, manual_discount=priced.manual,
                     discount=priced.discount, amount=priced.amount, cost=priced.cost)


def payload_quantity(quantity: Decimal) -> int | float:
    """A quantity as the purchase timeline row's JSON holds it: a whole number, or a number with its decimals."""
    if not isinstance(quantity, Decimal):
        return quantity
    return int(quantity) if quantity == quantity.to_integral_value() else float(quantity)


def _order_subject(order: Order) -> str:
    return _("Order %(number)s · %(amount)s") % {
        "number": order.number, "amount": format_amount(order.amount, order.currency)}


def create_order(*, actor, customer_id: int, lines: list[dict[str, Any]], store_id: int | None = None,
                 channel_id: int | None = None, channel_code: str | None = None, sales_rep_id: int | None = None,
                 promoter_id: int | None = None, ordered_at: dt.datetime | None = None, number: str | None = None,
                 source: str = "", external_id: str | None = None, currency: str | None = None) -> Order:
    """Record a purchase: the order, its lines, the customer's totals, a timeline row and an audit row.

    Preconditions: the actor has orders.change and can see the customer (404 otherwise). Nothing is written
    unless every field and every line is valid (422 with all errors). A duplicate order number is 409.
    Lines are priced by `commerce.rules.price_line`: amount = quantity × unit price − discounts (a missing unit
    price means the product's list price), or, when a line gives its amount, that amount with the unit price
    derived. A quantity of 0 (a void line, which imports may keep) is refused here. The currency defaults to settings.CURRENCY.
    """
    perms.require(actor, perms.CHANGE_ORDERS)
    source = (source or "").strip()[:40]
    external_id = (str(external_id).strip()[:100] or None) if external_id is not None else None
    customer = get_customer_for(actor, customer_id)
    if external_id is not None:
        existing = Order.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            return _existing_import(actor, existing, customer.pk)
    if customer.is_archived:
        raise _error(CustomersErrorCode.CUSTOMER_ARCHIVED, _("This customer is archived; restore it first."),
                        "customer_id")

    errors: list[DomainError] = []
    clean_lines, line_errors = _clean_lines(lines)
    errors.extend(line_errors)
    store = channel = promoter = sales_rep = None
    ref = _ref_id(store_id, "store_id", errors)
    if ref is not None:
        store = Store.objects.filter(pk=ref).first()
        if store is None:
            errors.append(_error(ErrorCode.UNKNOWN_REFERENCE, _("No such store."), "store_id"))
    ref = _ref_id(channel_id, "channel_id", errors)
    if ref is not None:
        channel = Channel.objects.filter(pk=ref).first()
        if channel is None:
            errors.append(_error(ErrorCode.UNKNOWN_REFERENCE, _("No such channel."), "channel_id"))
    elif channel_code:
        channel = Channel.objects.filter(code=str(channel_code).strip()).first()
        if channel is None:
            errors.append(_error(ErrorCode.UNKNOWN_REFERENCE, _("No channel with code %(value)s.") % {
                "value": channel_code}, "channel_code"))
    ref = _ref_id(promoter_id, "promoter_id", errors)
    if ref is not None:
        promoter = Promoter.objects.filter(pk=ref).first()
        if promoter is None:
            errors.append(_error(ErrorCode.UNKNOWN_REFERENCE, _("No such promoter."), "promoter_id"))
    ref = _ref_id(sales_rep_id, "sales_rep_id", errors)
    if ref is not None:
        sales_rep = User.objects.filter(pk=ref, is_active=True).first()
        if sales_rep is None:
            errors.append(_error(ErrorCode.UNKNOWN_REFERENCE, _("No such sales rep."), "sales_rep_id"))
    now = timezone.now()
    if ordered_at in (None, ""):
        ordered_at = now
    else:
        try:
            ordered_at = _aware(ordered_at, "ordered_at")
        except DomainError as exc:
            errors.append(exc)
            ordered_at = None
        if ordered_at is not None and ordered_at > now + FUTURE_SKEW:
            errors.append(_error(ErrorCode.INVALID_DATE, _("An order cannot be in the future."), "ordered_at"))
        elif ordered_at is not None and ordered_at.year < 1990:
            errors.append(_error(ErrorCode.INVALID_DATE, _("The order date is out of range."), "ordered_at"))
    try:
        currency = rules.clean_currency(currency)
    except DomainError as exc:
        errors.append(exc)
    if number not in (None, ""):
        number = str(number).strip()
        if not NUMBER_RE.match(number):
            errors.append(_error(ErrorCode.INVALID, _(
                "An order number has up to 40 letters, digits and - _ . /."), "number"))
    else:
        number = None
    if errors:
        raise ValidationFailed(errors)
    if number is not None and Order.objects.filter(number=number).exists():
        raise _error(ErrorCode.DUPLICATE, _("Order number %(value)s already exists.") % {"value": number}, "number")

    priced = [ln["priced"] for ln in clean_lines]
    subtotal = sum((p.gross for p in priced), ZERO)
    discount = sum((p.discount for p in priced), ZERO)
    amount = sum((p.amount for p in priced), ZERO)
    cost = sum((p.cost for p in priced), ZERO)
    # The rate of the order's day, captured now; without one the order is stored waiting for a rate, in no total.
    fx_rate = RateBook([currency]).rate_at(currency, ordered_at)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                number=number or generate_order_number(ordered_at), customer_id=customer.pk, store=store,
                channel=channel, sales_rep=sales_rep, promoter=promoter, ordered_at=ordered_at,
                currency=currency, subtotal=subtotal, discount=discount, amount=amount, cost=cost,
                fx_rate=fx_rate, base_amount=rules.to_base(amount, fx_rate),
                line_count=len(clean_lines), source=source, external_id=external_id,
            )
            OrderLine.objects.bulk_create([
                order_line(order_id=order.pk, customer_id=customer.pk, product_id=ln["product"].pk, priced=ln["priced"])
                for ln in clean_lines
            ])
            if fx_rate is not None:
                apply_purchase_totals(customer_id=customer.pk, orders=1, revenue=order.base_amount,
                                      ordered_at=ordered_at)
            record_event(
                customer_id=customer.pk, kind="purchase", actor=actor, subject=_order_subject(order),
                payload={
                    "number": order.number, "amount": amount, "currency": currency, "line_count": len(clean_lines),
                    "store": store.name if store else "", "channel": channel.code if channel else "",
                    "lines": [{"sku": ln["product"].sku, "name": ln["product"].name,
                               "quantity": payload_quantity(ln["priced"].quantity), "amount": ln["priced"].amount}
                              for ln in clean_lines[:20]],
                },
                occurred_at=ordered_at, ref_type="order", ref_id=order.pk,
            )
            audit(actor=actor, action="order.create", obj=order, customer_id=customer.pk,
                  after={**snapshot(order), "lines": [
                      {"product_id": ln["product"].pk, "quantity": ln["priced"].quantity,
                       "unit_price": ln["priced"].unit_price, "discount": ln["priced"].discount,
                       "amount": ln["priced"].amount} for ln in clean_lines]})
    except IntegrityError:
        # A racing request took the number or the (source, external_id) between our check and the insert.
        if external_id is not None:
            existing = Order.objects.filter(source=source, external_id=external_id).first()
            if existing is not None:
                return _existing_import(actor, existing, customer.pk)
        raise _error(ErrorCode.DUPLICATE, _("An order with this number already exists."), "number") from None
    order.was_created = True
    return order


def _existing_import(actor, existing: Order, customer_id: int) -> Order:
    if existing.customer_id != customer_id:
        raise _error(ErrorCode.DUPLICATE, _(
            "An order with this source and external id exists for another customer."), "external_id")
    existing.was_created = False
    return existing


def _locked_order(actor, order_id: Any) -> Order:
    """The order (row-locked on PostgreSQL) if the actor can see its customer; NotFound otherwise."""
    try:
        pk = int(order_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    order = Order.objects.select_for_update().filter(pk=pk).first()
    if order is None:
        raise NotFound()
    get_customer_for(actor, order.customer_id)
    return order


def returned_amount(order: Order) -> Decimal:
    return Return.objects.filter(order=order).aggregate(s=Sum("amount"))["s"] or ZERO


def returned_base_amount(order: Order) -> Decimal:
    """What was refunded on the order, in the base currency."""
    return Return.objects.filter(order=order).aggregate(s=Sum("base_amount"))["s"] or ZERO


def cancel_order(*, actor, order_id: int, reason: str) -> Order:
    """Cancel a completed order: the customer's order count drops by one and revenue by what is still kept
    (the amount minus anything already returned). Cancelling twice is 409."""
    perms.require(actor, perms.CHANGE_ORDERS)
    reason = (reason or "").strip()
    with transaction.atomic():
        order = _locked_order(actor, order_id)
        if not reason:
            raise ValidationFailed([_error(ErrorCode.REQUIRED, _("Give a reason for the cancellation."), "reason")])
        if len(reason) > 200:
            raise ValidationFailed([_error(ErrorCode.INVALID, _("The reason is longer than 200 characters."),
                                           "reason")])
        if order.status == Order.Status.CANCELLED:
            raise _error(CommerceErrorCode.ORDER_CANCELLED, _("This order is already cancelled."))
        kept = order.amount - returned_amount(order)
        order.status = Order.Status.CANCELLED
        order.save(update_fields=["status", "updated_at"])
        if order.fx_rate is not None:  # an order waiting for a rate was in no total
            remaining = Order.objects.filter(COUNTED, customer_id=order.customer_id).aggregate(
                first=Min("ordered_at"), last=Max("ordered_at"))
            apply_purchase_totals(customer_id=order.customer_id, orders=-1,
                                  revenue=-(order.base_amount - returned_base_amount(order)),
                                  purchase_window=(remaining["first"], remaining["last"]))
        record_event(customer_id=order.customer_id, kind="purchase", actor=actor,
                     subject=_("Order %(number)s cancelled · %(amount)s") % {
                         "number": order.number, "amount": format_amount(kept, order.currency)},
                     body=reason, payload={"number": order.number, "cancelled": True, "revenue_change": -kept,
                                           "reason": reason},
                     ref_type="order", ref_id=order.pk)
        audit(actor=actor, action="order.cancel", obj=order, customer_id=order.customer_id,
              before={"status": Order.Status.COMPLETED}, after={"status": order.status},
              detail={"reason": reason, "revenue_change": -kept})
    return order


def create_return(*, actor, order_id: int, lines: list[dict[str, Any]], reason: str = "",
                  returned_at: dt.datetime | None = None, source: str = "", external_id: str | None = None) -> Return:
    """Take goods back. Each line's refund is its share of the line amount (quantity returned / bought);
    returning the last units of a line refunds exactly what is left, so refunds add up to the cent.
    Cannot return more than bought minus already returned (422 over_return). Revenue drops; the order count
    does not."""
    perms.require(actor, perms.CHANGE_ORDERS)
    reason = (reason or "").strip()
    with transaction.atomic():
        order = _locked_order(actor, order_id)
        if order.status == Order.Status.CANCELLED:
            raise _error(CommerceErrorCode.ORDER_CANCELLED, _("A cancelled order cannot take returns."))
        errors: list[DomainError] = []
        if len(reason) > 200:
            errors.append(_error(ErrorCode.INVALID, _("The reason is longer than 200 characters."), "reason"))
        now = timezone.now()
        if returned_at in (None, ""):
            returned_at = now
        else:
            try:
                returned_at = _aware(returned_at, "returned_at")
            except DomainError as exc:
                errors.append(exc)
                returned_at = None
            if returned_at is not None and returned_at > now + FUTURE_SKEW:
                errors.append(_error(ErrorCode.INVALID_DATE, _("A return cannot be in the future."), "returned_at"))
            elif returned_at is not None and returned_at < order.ordered_at:
                errors.append(_error(ErrorCode.INVALID_DATE, _("A return cannot be before the order."),
                                     "returned_at"))
        order_lines = {ln.pk: ln for ln in OrderLine.objects.filter(order=order).select_related("product__unit")}
        already: dict[int, int] = {}
        already_amount: dict[int, Decimal] = {}
        for row in (ReturnLine.objects.filter(order_line_id__in=list(order_lines)).values("order_line_id")
                    .annotate(q=Sum("quantity"), a=Sum("amount")).order_by()):
            already[row["order_line_id"]] = row["q"]
            already_amount[row["order_line_id"]] = row["a"]
        picked: list[tuple[OrderLine, int, Decimal]] = []
        seen: set[int] = set()
        if not isinstance(lines, list | tuple) or not lines:
            errors.append(_error(ErrorCode.REQUIRED, _("Choose at least one line to return."), "lines"))
            lines = []
        for i, raw in enumerate(lines):
            prefix = f"lines.{i}"
            if not isinstance(raw, dict):
                errors.append(_error(ErrorCode.INVALID, _("A line must be an object."), prefix))
                continue
            ref = _ref_id(raw.get("order_line_id"), f"{prefix}.order_line_id", errors)
            if ref is None:
                if raw.get("order_line_id") in (None, ""):
                    errors.append(_error(ErrorCode.REQUIRED, _("Choose the order line."), f"{prefix}.order_line_id"))
                continue
            line = order_lines.get(ref)
            if line is None:
                errors.append(_error(ErrorCode.UNKNOWN_REFERENCE, _("That line is not on this order."),
                                     f"{prefix}.order_line_id"))
                continue
            if ref in seen:
                errors.append(_error(ErrorCode.DUPLICATE, _("The same line is listed twice."),
                                     f"{prefix}.order_line_id"))
                continue
            seen.add(ref)
            quantity = _quantity(raw.get("quantity"), f"{prefix}.quantity", errors)
            if quantity is None:
                continue
            if quantity != quantity.to_integral_value() and not (line.product.unit_id and line.product.unit.fractional):
                errors.append(_error(CommerceErrorCode.FRACTIONAL_QUANTITY, _(
                    "This product is sold in whole units; %(quantity)s is a fraction.") % {
                    "quantity": f"{quantity.normalize():f}"}, f"{prefix}.quantity"))
                continue
            left = line.quantity - (already.get(ref) or 0)
            if quantity > left:
                errors.append(_error(CommerceErrorCode.OVER_RETURN, _(
                    "Only %(left)s of %(name)s can still be returned.") % {"left": f"{left.normalize():f}",
                                                                       "name": line.product.name},
                    f"{prefix}.quantity"))
                continue
            if quantity == left:
                refund = line.amount - (already_amount.get(ref) or ZERO)
            else:
                refund = (line.amount * quantity / line.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
            picked.append((line, quantity, refund))
        if errors:
            raise ValidationFailed(errors)
        total = sum((refund for _line, _q, refund in picked), ZERO)
        ret = Return.objects.create(order=order, customer_id=order.customer_id, returned_at=returned_at, amount=total,
                                    base_amount=rules.to_base(total, order.fx_rate),
                                    reason=reason, source=(source or "")[:40],
                                    external_id=(str(external_id)[:100] if external_id else None))
        ReturnLine.objects.bulk_create([ReturnLine(ret=ret, order_line=line, quantity=q, amount=refund)
                                        for line, q, refund in picked])
        if ret.base_amount is not None:
            apply_purchase_totals(customer_id=order.customer_id, orders=0, revenue=-ret.base_amount)
        record_event(customer_id=order.customer_id, kind="return", actor=actor,
                     subject=_("Return on %(number)s · %(amount)s") % {
                         "number": order.number, "amount": format_amount(total, order.currency)},
                     body=reason,
                     payload={"number": order.number, "amount": total, "reason": reason,
                              "lines": [{"sku": line.product.sku, "name": line.product.name,
                                         "quantity": payload_quantity(q), "amount": refund}
                                        for line, q, refund in picked]},
                     occurred_at=returned_at, ref_type="return", ref_id=ret.pk)
        audit(actor=actor, action="return.create", obj=ret, customer_id=order.customer_id,
              after={**snapshot(ret), "lines": [{"order_line_id": line.pk, "quantity": q, "amount": refund}
                                                 for line, q, refund in picked]})
    return ret


# --- Catalog and store administration --------------------------------------------------------------------------


def _text(data: dict, key: str, errors: list[DomainError], *, max_length: int, required: bool = False,
          label: str = "") -> str | None:
    """A trimmed string field; None when the key is absent (a PATCH leaves it alone)."""
    if key not in data:
        if required:
            errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": label}, key))
        return None
    value = data[key]
    value = "" if value is None else str(value).strip()
    if required and not value:
        errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": label}, key))
        return None
    if len(value) > max_length:
        errors.append(_error(ErrorCode.INVALID, _("%(label)s is longer than %(n)s characters.") % {
            "label": label, "n": max_length}, key))
        return None
    return value


def _code(data: dict, key: str, errors: list[DomainError], *, max_length: int, required: bool, label: str):
    value = _text(data, key, errors, max_length=max_length, required=required, label=label)
    if value and not CODE_RE.match(value):
        errors.append(_error(ErrorCode.INVALID, _("%(label)s may use letters, digits and - _ . only.") % {
            "label": label}, key))
        return None
    return value


def _bool(data: dict, key: str, errors: list[DomainError]) -> bool | None:
    if key not in data or data[key] is None:
        return None
    value = data[key]
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    errors.append(_error(ErrorCode.INVALID, _("Must be yes or no."), key))
    return None


def _unique(model, field: str, value, instance, label: str) -> None:
    if value and model.objects.filter(**{field: value}).exclude(pk=getattr(instance, "pk", None)).exists():
        raise _error(ErrorCode.DUPLICATE, _("%(label)s %(value)s is already used.") % {
            "label": label, "value": value}, field)


def _save_with_audit(actor, obj, before: dict | None, action: str) -> None:
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise _error(ErrorCode.DUPLICATE, _("A record with this code or external id already exists.")) from None
    after = snapshot(obj)
    if before is None:
        audit(actor=actor, action=action, obj=obj, after=after)
    else:
        old, new = diff(before, after)
        audit(actor=actor, action=action, obj=obj, before=old, after=new)


def _fk(model, data: dict, key: str, errors: list[DomainError], *, required: bool, label: str):
    """Resolve `key` (an id) to a row of `model`; returns (present, row)."""
    if key not in data:
        if required:
            errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": label}, key))
        return False, None
    ref = _ref_id(data[key], key, errors)
    if ref is None:
        if required and data[key] in (None, ""):
            errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": label}, key))
        return True, None
    row = model.objects.filter(pk=ref).first()
    if row is None:
        errors.append(_error(ErrorCode.UNKNOWN_REFERENCE, _("No such %(label)s.") % {"label": label}, key))
    return True, row


def save_product(*, actor, data: dict[str, Any], product_id: int | None = None) -> Product:
    """Create a product (product_id None) or change the fields present in `data`.

    Fields: sku, name, category_id, brand, model, attributes (object), list_price, unit_cost, active.
    """
    perms.require(actor, perms.MANAGE_CATALOG)
    product = None
    if product_id is not None:
        product = Product.objects.filter(pk=product_id).first()
        if product is None:
            raise NotFound()
    creating = product is None
    errors: list[DomainError] = []
    sku = _code(data, "sku", errors, max_length=40, required=creating, label=_("SKU"))
    name = _text(data, "name", errors, max_length=200, required=creating, label=_("Name"))
    if not creating and "sku" in data and not sku and not errors:
        errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": _("SKU")}, "sku"))
    if not creating and "name" in data and not name and not any(e.field == "name" for e in errors):
        errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": _("Name")}, "name"))
    has_cat, category = _fk(ProductCategory, data, "category_id", errors, required=creating, label=_("category"))
    brand = _text(data, "brand", errors, max_length=60, label=_("Brand"))
    model_name = _text(data, "model", errors, max_length=60, label=_("Model"))
    attributes = data.get("attributes")
    if "attributes" in data:
        if attributes is None:
            attributes = {}
        if not isinstance(attributes, dict) or not all(isinstance(k, str) for k in attributes):
            errors.append(_error(ErrorCode.INVALID, _("Attributes must be an object of names and values."),
                                 "attributes"))
        elif any(not isinstance(v, str | int | float | bool) and v is not None for v in attributes.values()):
            errors.append(_error(ErrorCode.INVALID, _("Attribute values must be text, numbers or yes/no."),
                                 "attributes"))
    prices = {}
    for key in ("list_price", "unit_cost"):
        if key in data:
            value = data[key]
            prices[key] = ZERO if value in (None, "") else _amount(value, key, errors)
    active = _bool(data, "active", errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if creating:
            product = Product()
        before = None if creating else snapshot(product)
        if sku:
            _unique(Product, "sku", sku, product, _("SKU"))
            product.sku = sku
        if name:
            product.name = name
        if has_cat and category is not None:
            product.category = category
        if brand:
            from clientwise.commerce.reference import (  # local: reference imports this module
                brand_key,
                ensure_brands,
            )

            # The brand text takes the spelling of its Brand row (created when the name is new).
            brand = ensure_brands([brand], source=str(data.get("source") or ""))[0][brand_key(brand)].name
        if brand is not None:
            product.brand = brand
        if model_name is not None:
            product.model = model_name
        if "attributes" in data:
            product.attributes = attributes
        for key, value in prices.items():
            setattr(product, key, value)
        if active is not None:
            product.active = active
        if creating:
            product.source = str(data.get("source") or "")[:40]
            product.external_id = str(data["external_id"])[:100] if data.get("external_id") else None
        _save_with_audit(actor, product, before, "product.create" if creating else "product.update")
    return product


STORE_TEXT = {"province": 40, "city": 60, "district": 60}


def save_store(*, actor, data: dict[str, Any], store_id: int | None = None) -> Store:
    """Create or change a store: code, name, branch_id, province, city, district, urban_rural, opened_on,
    active."""
    perms.require(actor, perms.MANAGE_CATALOG)
    store = None
    if store_id is not None:
        store = Store.objects.filter(pk=store_id).first()
        if store is None:
            raise NotFound()
    creating = store is None
    errors: list[DomainError] = []
    code = _code(data, "code", errors, max_length=20, required=creating, label=_("Code"))
    name = _text(data, "name", errors, max_length=100, required=creating, label=_("Name"))
    has_branch, branch = _fk(Branch, data, "branch_id", errors, required=creating, label=_("branch"))
    texts = {k: _text(data, k, errors, max_length=n, label=k) for k, n in STORE_TEXT.items()}
    urban = _text(data, "urban_rural", errors, max_length=5, label="urban_rural")
    if urban not in (None, "", "urban", "rural"):
        errors.append(_error(ErrorCode.INVALID, _("Urban or rural must be “urban” or “rural”."), "urban_rural"))
    opened_on = None
    if data.get("opened_on") not in (None, ""):
        try:
            opened_on = parse_date(data["opened_on"], field="opened_on")
        except DomainError as exc:
            errors.append(exc)
    active = _bool(data, "active", errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if creating:
            store = Store()
        before = None if creating else snapshot(store)
        if code:
            _unique(Store, "code", code, store, _("Code"))
            store.code = code
        if name:
            store.name = name
        if has_branch and branch is not None:
            store.branch = branch
        for key, value in texts.items():
            if value is not None:
                setattr(store, key, value)
        if urban is not None:
            store.urban_rural = urban
        if "opened_on" in data:
            store.opened_on = opened_on
        if active is not None:
            store.active = active
        if creating:
            store.source = str(data.get("source") or "")[:40]
            store.external_id = str(data["external_id"])[:100] if data.get("external_id") else None
        _save_with_audit(actor, store, before, "store.create" if creating else "store.update")
    return store


def save_promoter(*, actor, data: dict[str, Any]) -> Promoter:
    """Create an in-store promoter (name, store_id, user_id)."""
    perms.require(actor, perms.MANAGE_CATALOG)
    errors: list[DomainError] = []
    name = _text(data, "name", errors, max_length=100, required=True, label=_("Name"))
    _present, store = _fk(Store, data, "store_id", errors, required=False, label=_("store"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        promoter = Promoter(name=name, store=store, user_id=data.get("user_id") or None)
        _save_with_audit(actor, promoter, None, "promoter.create")
    return promoter


# ---------------------------------------------------------------------------------------------------------------
# Merging customers (called by customers.services.merge_customers / unmerge_customers inside their transaction)


def reassign_customer(*, from_ids: list[int], to_id: int) -> dict[str, dict[str, list[int]]]:
    """Move every order, order line and return of the customers `from_ids` to customer `to_id`.

    Returns what moved, per table and original customer ({"orders": {"17": [ids]}, ...}), so an unmerge can
    move exactly those rows back with `restore_customer_rows`. No permission check: the caller (the merge
    service) has checked the actor and holds the transaction.
    """
    moved: dict[str, dict[str, list[int]]] = {"orders": {}, "order_lines": {}, "returns": {}}
    for cid in from_ids:
        order_ids = list(Order.objects.filter(customer_id=cid).values_list("id", flat=True))
        line_ids = list(OrderLine.objects.filter(customer_id=cid).values_list("id", flat=True))
        return_ids = list(Return.objects.filter(customer_id=cid).values_list("id", flat=True))
        for key, ids in (("orders", order_ids), ("order_lines", line_ids), ("returns", return_ids)):
            if ids:
                moved[key][str(cid)] = ids
    Order.objects.filter(customer_id__in=from_ids).update(customer_id=to_id)
    OrderLine.objects.filter(customer_id__in=from_ids).update(customer_id=to_id)
    Return.objects.filter(customer_id__in=from_ids).update(customer_id=to_id)
    return moved


def restore_customer_rows(*, moved: dict[str, dict[str, list[int]]]) -> None:
    """Undo `reassign_customer`: move the recorded rows back to their original customers."""
    models = {"orders": Order, "order_lines": OrderLine, "returns": Return}
    for key, per_customer in moved.items():
        model = models.get(key)
        if model is None:
            continue
        for cid, ids in per_customer.items():
            for start in range(0, len(ids), 500):
                model.objects.filter(pk__in=ids[start:start + 500]).update(customer_id=int(cid))


def merge_move(from_ids: list[int], to_id: int) -> dict[str, Any]:
    """Commerce's part of a customer merge (customers.services MERGE_PARTICIPANTS): orders, lines and returns move
    to the survivor; the record says which moved, with counts for the merge's summary."""
    moved: dict[str, Any] = reassign_customer(from_ids=from_ids, to_id=to_id)
    moved["counts"] = {"orders": sum(len(v) for v in moved["orders"].values()),
                       "returns": sum(len(v) for v in moved["returns"].values())}
    return moved


def merge_restore(record: dict[str, Any]) -> None:
    restore_customer_rows(moved={k: v for k, v in record.items() if k != "counts"})


def merge_refresh(customer_ids: list[int]) -> None:
    """Recompute the purchase totals of customers whose orders moved in a merge or an unmerge."""
    for cid in customer_ids:
        n, revenue, first, last = purchase_totals(customer_id=cid)
        store_purchase_totals(customer_id=cid, orders=n, revenue=revenue, first_order_at=first, last_order_at=last)


def purchase_totals(*, customer_id: int) -> tuple[int, Decimal, dt.datetime | None, dt.datetime | None]:
    """A customer's totals recomputed from the rows, by the same rules the order services keep them: the counted
    orders (completed and converted to the base currency, models.COUNTED) count; revenue is their amounts in the
    base currency less what was returned on them (in the base currency too)."""
    counted = Order.objects.filter(COUNTED, customer_id=customer_id)
    agg = counted.aggregate(n=Count("id"), s=Sum("base_amount"), first=Min("ordered_at"), last=Max("ordered_at"))
    returned = Return.objects.filter(customer_id=customer_id, order__status=Order.Status.COMPLETED,
                                     order__fx_rate__isnull=False).aggregate(s=Sum("base_amount"))["s"] or ZERO
    return agg["n"] or 0, (agg["s"] or ZERO) - returned, agg["first"], agg["last"]


def convert_waiting_orders(*, currency: str) -> int:
    """Convert the orders of `currency` stored without an exchange rate whose day now has one (a rate was entered
    or imported): each takes the rate of its day (fx_rate, base_amount, and its returns' base_amount) and, when
    completed, joins its customer's totals (one order, its amount less its returns, its purchase time). Call
    inside the caller's transaction (commerce.reference.save_exchange_rate). Returns how many were converted."""
    waiting = list(Order.objects.filter(currency=currency, fx_rate__isnull=True)
                   .values_list("id", "customer_id", "ordered_at", "amount", "status"))
    if not waiting:
        return 0
    book = RateBook([currency])
    converted: list[Order] = []
    deltas: dict[int, list] = {}
    for pk, customer_id, ordered_at, amount, status in waiting:
        rate = book.rate_at(currency, ordered_at)
        if rate is None:
            continue
        converted.append(Order(pk=pk, fx_rate=rate, base_amount=rules.to_base(amount, rate)))
        if status == Order.Status.COMPLETED:
            d = deltas.setdefault(customer_id, [0, ZERO, ordered_at, ordered_at])
            d[0] += 1
            d[1] += converted[-1].base_amount
            d[2], d[3] = min(d[2], ordered_at), max(d[3], ordered_at)
    if not converted:
        return 0
    Order.objects.bulk_update(converted, ["fx_rate", "base_amount"], batch_size=500)
    rate_of = {o.pk: o.fx_rate for o in converted}
    status_of = {pk: (customer_id, status) for pk, customer_id, _at, _a, status in waiting}
    returns = list(Return.objects.filter(order_id__in=list(rate_of)).only("id", "order_id", "amount"))
    for ret in returns:
        ret.base_amount = rules.to_base(ret.amount, rate_of[ret.order_id])
        customer_id, status = status_of[ret.order_id]
        if status == Order.Status.COMPLETED:
            deltas[customer_id][1] -= ret.base_amount
    Return.objects.bulk_update(returns, ["base_amount"], batch_size=500)
    apply_purchase_totals_bulk(deltas={k: tuple(d) for k, d in deltas.items()})
    return len(converted)
