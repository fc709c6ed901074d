"""The per-row order handler as it was before the column-wise one (kept as the reference the tests compare the
column-wise handler with: same outcomes, same errors in the same order, same stored rows)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.core import permissions as perms
from clientwise.core.bulk import inserter, reserve_ids
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.dataio import validation as v
from clientwise.dataio.handlers import (
    CENT,
    ORDER_FIELDS,
    ORDER_LINE_FIELDS,
    ORDER_REQUIRED,
    ZERO,
    CustomerRefs,
    Handler,
    ImportErrorCode,
    Row,
    _in,
    _money,
    plan_for,
    run_plan,
)


class ReferenceOrderHandler(Handler):
    """One row per order line; rows with the same order number form one order and must be adjacent.

    An order goes in whole or not at all: when one line is invalid, its other lines are quarantined too (code
    order_incomplete), so the fixed error file replays the complete order. An order already imported (same
    source and external id, or the same number) is `unchanged` when its line count and amount match, and
    rejected as order_conflict otherwise: imports never rewrite recorded sales."""

    kind = "orders"
    perm = perms.CHANGE_ORDERS

    def __init__(self, *, job, actor):
        super().__init__(job=job, actor=actor)
        self.refs = CustomerRefs(self)
        self._products: dict[str, Any] = {}
        self._stores: dict[str, Any] = {}
        self._channels: dict[str, Any] | None = None
        self.zone = {}  # ordered_at's time zone, set per batch
        self.plan_head = plan_for(self.mapping, [("external_id", v.text, {"max_length": 100})])
        self.plan_tail = plan_for(self.mapping, [
            ("store", v.text, {"max_length": 20}), ("channel", v.text, {"max_length": 20}),
            ("ordered_at", v.moment, self.zone), ("sku", v.text, {"max_length": 40}),
            ("quantity", v.quantity, {}), ("unit_price", v.amount, {}), ("discount", v.amount, {}),
            ("amount", v.amount, {})])

    def can_split(self, previous: Row, following: Row) -> bool:
        return previous.values.get("number") != following.values.get("number")

    def clean_row(self, row: Row) -> None:
        values, clean, errors = row.values, row.clean, row.errors
        for name, label in ORDER_REQUIRED:
            if not values.get(name):
                self.require(row, name, label)
        number = values.get("number", "")
        if number and not v.NUMBER_RE.match(number):
            errors.append(DomainError(ErrorCode.INVALID, _(
                "An order number has up to 40 letters, digits and - _ . /."), "number"))
        elif number:
            clean["number"] = number
        run_plan(self.plan_head, values, clean, errors)
        if self.refs.given(row):
            run_plan(self.refs.plan, values, clean, errors)
        run_plan(self.plan_tail, values, clean, errors)
        currency = (values.get("currency") or "CNY").upper()
        if currency not in ("CNY", "USD", "EUR", "HKD"):
            errors.append(DomainError(ErrorCode.INVALID, _("Unknown currency %(value)s.") % {"value": currency},
                                      "currency"))
        clean["currency"] = currency

    def process(self, rows: list[Row]) -> None:
        from clientwise.commerce.models import Channel, Order, OrderLine, Product, Store
        from clientwise.customers.services import apply_purchase_totals_bulk, record_events_bulk

        self.zone["zone"] = timezone.get_current_timezone_name()
        clean_row = self.clean_row
        for row in rows:
            if not row.errors:
                clean_row(row)
        self.refs.resolve([r for r in rows if not r.errors])
        ok = [r for r in rows if not r.errors]
        # Products, stores and channels are few and read-only here: cached for the whole job.
        products = self._products
        missing = {r.clean["sku"] for r in ok} - set(products)
        products.update({p.sku: p for p in _in(Product.objects.all(), "sku", missing)})
        stores = self._stores
        store_codes = {r.clean["store"] for r in ok if r.clean.get("store")} - set(stores)
        stores.update({s.code: s for s in _in(Store.objects.all(), "code", store_codes)})
        for s in _in(Store.objects.filter(source=self.source), "external_id", store_codes - set(stores)):
            stores[s.external_id] = s
        if self._channels is None:
            self._channels = {ch.code: ch for ch in Channel.objects.all()}
        channels = self._channels
        for row in ok:
            product = products.get(row.clean["sku"])
            if product is None:
                row.errors.append(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No product with SKU %(value)s.") % {
                    "value": row.clean["sku"]}, "sku"))
            elif not product.active:
                row.errors.append(DomainError(ImportErrorCode.INACTIVE_PRODUCT, _("%(name)s is no longer sold.") % {
                    "name": product.name}, "sku"))
            if row.clean.get("store") and row.clean["store"] not in stores:
                row.errors.append(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No store with code %(value)s.") % {
                    "value": row.clean["store"]}, "store"))
            if row.clean.get("channel") and row.clean["channel"] not in channels:
                row.errors.append(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No channel with code %(value)s.") % {
                    "value": row.clean["channel"]}, "channel"))
            if row.errors:
                continue
            unit_price = row.clean.get("unit_price", product.list_price)
            discount = row.clean.get("discount", ZERO)
            gross = (unit_price * row.clean["quantity"]).quantize(CENT)
            if discount > gross:
                row.errors.append(DomainError(ImportErrorCode.DISCOUNT_TOO_LARGE, _(
                    "The discount (%(discount)s) is larger than quantity × unit price (%(gross)s).") % {
                    "discount": f"{discount:.2f}", "gross": f"{gross:.2f}"}, "discount"))
                continue
            line_amount = gross - discount
            if "amount" in row.clean and abs(row.clean["amount"] - line_amount) > CENT:
                row.errors.append(DomainError(ImportErrorCode.AMOUNT_MISMATCH, _(
                    "The amount %(amount)s is not quantity × unit price − discount (%(expected)s).") % {
                    "amount": f"{row.clean['amount']:.2f}", "expected": f"{line_amount:.2f}"}, "amount"))
                continue
            row.clean.update(product=product, unit_price=unit_price, discount=discount, gross=gross,
                             line_amount=line_amount, cost=(product.unit_cost * row.clean["quantity"]).quantize(CENT))

        # Group adjacent rows by order number (rows without a number are their own group).
        groups: list[list[Row]] = []
        for row in rows:
            if groups and row.values.get("number") and groups[-1][0].values.get("number") == row.values.get("number"):
                groups[-1].append(row)
            else:
                groups.append([row])
        numbers = {g[0].clean["number"] for g in groups if g[0].clean.get("number")}
        ext_ids = {(g[0].clean.get("external_id") or g[0].clean["number"]) for g in groups if g[0].clean.get("number")}
        by_number = {o.number: o for o in _in(Order.objects.all(), "number", numbers)}
        by_ext = {o.external_id: o for o in _in(Order.objects.filter(source=self.source), "external_id", ext_ids)}
        pending: dict[str, tuple[int, Decimal, int]] = {}
        to_create: list[tuple[list[Row], dict[str, Any]]] = []  # (lines, the new order's values)
        for group in groups:
            head = group[0]
            if any(not r.ok for r in group):
                for r in group:
                    if r.ok:
                        r.reject(DomainError(ImportErrorCode.ORDER_INCOMPLETE, _(
                            "Another line of order %(number)s is invalid; the order goes in whole or not at all.") % {
                            "number": head.values.get("number", "")}, "number"))
                    r.outcome = "rejected"
                continue
            for r in group[1:]:
                if r.clean["customer_id"] != head.clean["customer_id"]:
                    r.reject(DomainError(ErrorCode.CONFLICT, _(
                        "This line names another customer than the first line of the order."), "customer_external_id"))
            if any(not r.ok for r in group):
                for r in group:
                    if r.ok:
                        r.reject(DomainError(ImportErrorCode.ORDER_INCOMPLETE, _(
                            "Another line of order %(number)s is invalid; the order goes in whole or not at all.") % {
                            "number": head.clean["number"]}, "number"))
                continue
            number = head.clean["number"]
            ext = head.clean.get("external_id") or number
            amount = sum((r.clean["line_amount"] for r in group), ZERO)
            shape = (len(group), amount, head.clean["customer_id"])
            known = by_ext.get(ext)
            if known is None and number in by_number:
                other = by_number[number]
                if other.source != self.source or (other.external_id or "") != ext:
                    for r in group:
                        r.reject(DomainError(ErrorCode.DUPLICATE, _(
                            "Order number %(value)s already exists from another source.") % {"value": number}, "number"))
                    continue
                known = other
            if known is not None:
                stored = (known.line_count, known.amount, known.customer_id)
            else:
                stored = pending.get(ext)
            if stored is not None:
                if stored == shape:
                    for r in group:
                        r.outcome = "unchanged"
                else:
                    for r in group:
                        r.reject(DomainError(ImportErrorCode.ORDER_CONFLICT, _(
                            "Order %(number)s was already imported with other lines or another amount; imports do "
                            "not change recorded sales.") % {"number": number}, "number"))
                continue
            pending[ext] = shape
            store = stores.get(head.clean.get("store")) if head.clean.get("store") else None
            channel = channels.get(head.clean.get("channel")) if head.clean.get("channel") else None
            to_create.append((group, {
                "number": number, "customer_id": head.clean["customer_id"], "store": store, "channel": channel,
                "ordered_at": head.clean["ordered_at"], "currency": head.clean["currency"],
                "subtotal": sum((r.clean["gross"] for r in group), ZERO),
                "discount": sum((r.clean["discount"] for r in group), ZERO), "amount": amount,
                "cost": sum((r.clean["cost"] for r in group), ZERO), "line_count": len(group), "external_id": ext,
            }))
            for r in group:
                r.outcome = "created"
        ids = reserve_ids(Order, len(to_create))
        source = self.source
        inserter(Order, ORDER_FIELDS).insert([
            (pk, o["number"], o["customer_id"], o["store"].pk if o["store"] else None,
             o["channel"].pk if o["channel"] else None, o["ordered_at"], o["currency"], o["subtotal"], o["discount"],
             o["amount"], o["cost"], o["line_count"], source, o["external_id"])
            for pk, (_group, o) in zip(ids, to_create, strict=True)])
        inserter(OrderLine, ORDER_LINE_FIELDS).insert([
            (pk, o["customer_id"], r.clean["product"].pk, r.clean["quantity"], r.clean["unit_price"],
             r.clean["discount"], r.clean["line_amount"], r.clean["cost"])
            for pk, (group, o) in zip(ids, to_create, strict=True) for r in group])
        deltas: dict[int, list] = {}
        for _group, o in to_create:
            d = deltas.setdefault(o["customer_id"], [0, ZERO, o["ordered_at"], o["ordered_at"]])
            d[0] += 1
            d[1] += o["amount"]
            d[2] = min(d[2], o["ordered_at"])
            d[3] = max(d[3], o["ordered_at"])
        apply_purchase_totals_bulk(deltas={k: tuple(d) for k, d in deltas.items()})
        subject = _("Order %(number)s · %(amount)s")
        job_id = self.job.pk
        record_events_bulk(actor=self.actor, events=[{
            "customer_id": o["customer_id"], "kind": "purchase", "occurred_at": o["ordered_at"], "ref_type": "order",
            "ref_id": pk,
            "subject": subject % {"number": o["number"], "amount": _money(o["amount"], o["currency"])},
            "payload": {"number": o["number"], "amount": str(o["amount"]), "currency": o["currency"],
                        "line_count": o["line_count"], "store": o["store"].name if o["store"] else "",
                        "channel": o["channel"].code if o["channel"] else "", "import_job": job_id,
                        "lines": [{"sku": r.clean["product"].sku, "name": r.clean["product"].name,
                                   "quantity": r.clean["quantity"], "amount": str(r.clean["line_amount"])}
                                  for r in group[:20]]},
        } for pk, (group, o) in zip(ids, to_create, strict=True)])
        self.summary["created_ids"] = list(ids)

