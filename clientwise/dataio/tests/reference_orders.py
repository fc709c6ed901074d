"""The per-row order handler as it was before the column-wise one (kept as the reference the tests compare the
column-wise handler with: same outcomes, same errors in the same order, same stored rows), with the line shapes
and policies of commerce.rules (fractional quantities, four-decimal prices, amount basis, discount kinds, void
lines, the keep-valid line policy and partial orders, currency per row or mapping, the exchange rate of the order's
day: an order without one is stored waiting for it and counts in no total). Lines added to a partial order
go through commerce.imports.orders.append_lines, as the column-wise handler's do."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.commerce import rules
from clientwise.commerce.errors import CommerceErrorCode
from clientwise.commerce.imports.orders import (
    ORDER_FIELDS,
    ORDER_LINE_FIELDS,
    ORDER_REQUIRED,
    ORDER_TAIL_CHECKS,
    OrderHandler,
    _money,
    append_lines,
    duplicate_in_file,
    line_values,
    order_options,
)
from clientwise.commerce.queries import RateBook
from clientwise.commerce.services import payload_quantity
from clientwise.core import permissions as perms
from clientwise.core.bulk import inserter, reserve_ids
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.dataio import validation as v
from clientwise.dataio.errors import DataioErrorCode
from clientwise.dataio.handlers import (
    ZERO,
    CustomerRefs,
    Handler,
    Row,
    _in,
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
        self.plan_tail = [(name, fn, self.zone if fn is v.moment else kwargs, max_length)
                          for name, fn, kwargs, max_length in plan_for(self.mapping, ORDER_TAIL_CHECKS)]
        self.line_policy, self.void_policy, self.price_basis, self.default_currency = order_options(self.options)

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
        try:
            clean["currency"] = rules.clean_currency(values.get("currency"), self.default_currency)
        except DomainError as exc:
            errors.append(exc)

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
        products.update({p.sku: p for p in _in(Product.objects.select_related("unit"), "sku", missing)})
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
                row.errors.append(DomainError(CommerceErrorCode.INACTIVE_PRODUCT, _("%(name)s is no longer sold.") % {
                    "name": product.name}, "sku"))
            if row.clean.get("store") and row.clean["store"] not in stores:
                row.errors.append(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No store with code %(value)s.") % {
                    "value": row.clean["store"]}, "store"))
            if row.clean.get("channel") and row.clean["channel"] not in channels:
                row.errors.append(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No channel with code %(value)s.") % {
                    "value": row.clean["channel"]}, "channel"))
            if row.errors:
                continue
            get = row.clean.get
            try:
                priced = rules.price_line(
                    quantity=row.clean["quantity"], unit_price=get("unit_price"), amount=get("amount"),
                    list_price=product.list_price, unit_cost=product.unit_cost,
                    fractional=bool(product.unit_id and product.unit.fractional),
                    promotion=get("discount", ZERO), coupon=get("coupon_discount", ZERO),
                    loyalty=get("loyalty_discount", ZERO), manual=get("manual_discount", ZERO), basis=self.price_basis)
            except DomainError as exc:
                row.errors.append(exc)
                continue
            if priced.void and self.void_policy == rules.VOID_SKIP:
                row.outcome = "skipped"
                continue
            if priced.void and self.void_policy == rules.VOID_QUARANTINE:
                row.errors.append(DomainError(CommerceErrorCode.VOID_LINE, _(
                    "A void line (quantity 0); this import quarantines void lines."), "quantity"))
                continue
            row.clean.update(product=product, priced=priced)

        # Group adjacent rows by order number (rows without a number are their own group).
        groups: list[list[Row]] = []
        for row in rows:
            if groups and row.values.get("number") and groups[-1][0].values.get("number") == row.values.get("number"):
                groups[-1].append(row)
            else:
                groups.append([row])
        whole = self.line_policy == rules.WHOLE_ORDER
        numbers = {g[0].clean["number"] for g in groups if g[0].clean.get("number")}
        ext_ids = {(g[0].clean.get("external_id") or g[0].clean["number"]) for g in groups if g[0].clean.get("number")}
        by_number = {o.number: o for o in _in(Order.objects.all(), "number", numbers)}
        by_ext = {o.external_id: o for o in _in(Order.objects.filter(source=self.source), "external_id", ext_ids)}
        pending: dict[str, tuple[int, Decimal, int]] = {}
        pending_numbers: dict[str, str] = {}
        to_create: list[tuple[list[Row], dict[str, Any]]] = []  # (lines, the new order's values)
        appends: list[tuple[Any, list[Row]]] = []
        stored_keys: dict[int, list[tuple]] = {}
        for group in groups:
            lines = [r for r in group if r.outcome != "skipped"]
            failed = [r for r in lines if not r.ok]
            valid = [r for r in lines if r.ok]
            if failed and (whole or not valid):
                for r in valid:
                    r.reject(DomainError(DataioErrorCode.ORDER_INCOMPLETE, _(
                        "Another line of order %(number)s is invalid; the order goes in whole or not at all.") % {
                        "number": group[0].values.get("number", "")}, "number"))
                continue
            if not valid:
                continue
            head = valid[0]
            for r in valid[1:]:
                if r.clean["customer_id"] != head.clean["customer_id"]:
                    r.reject(DomainError(ErrorCode.CONFLICT, _(
                        "This line names another customer than the first line of the order."), "customer_external_id"))
            if any(not r.ok for r in valid):
                if whole:
                    for r in valid:
                        if r.ok:
                            r.reject(DomainError(DataioErrorCode.ORDER_INCOMPLETE, _(
                                "Another line of order %(number)s is invalid; the order goes in whole or not at "
                                "all.") % {"number": head.clean["number"]}, "number"))
                    continue
                failed += [r for r in valid if not r.ok]
                valid = [r for r in valid if r.ok]
            number = head.clean["number"]
            ext = head.clean.get("external_id") or number
            amount = sum((r.clean["priced"].amount for r in valid), ZERO)
            shape = (len(valid), amount, head.clean["customer_id"])
            known = by_ext.get(ext)
            if known is None and number in by_number:
                other = by_number[number]
                if other.source != self.source or (other.external_id or "") != ext:
                    for r in valid:
                        r.reject(DomainError(ErrorCode.DUPLICATE, _(
                            "Order number %(value)s already exists from another source.") % {"value": number}, "number"))
                    continue
                known = other
            if known is None and pending_numbers.get(number, ext) != ext:
                for r in valid:
                    r.reject(duplicate_in_file(number))
                continue
            if known is not None and (known.missing_lines or failed):
                if known.id not in stored_keys:
                    stored_keys[known.id] = OrderHandler._stored_keys(known.id)
                keys = stored_keys[known.id]
                new = rules.match_lines(keys, [r.clean["priced"].key(r.clean["product"].id) for r in valid],
                                        known.missing_lines)
                problem = OrderHandler._append_problem(known, head.clean["customer_id"], head.clean["currency"], new)
                if problem is not None:
                    for r in valid:
                        r.reject(problem)
                    continue
                added = [r for r, is_new in zip(valid, new, strict=True) if is_new]
                for r, is_new in zip(valid, new, strict=True):
                    r.outcome = "created" if is_new else "unchanged"
                if added:
                    keys.extend(r.clean["priced"].key(r.clean["product"].id) for r in added)
                    known.missing_lines -= len(added)
                    appends.append((known, added))
                continue
            if known is not None:
                stored = (known.line_count, known.amount, known.customer_id)
            else:
                stored = pending.get(ext)
            if stored is not None:
                if stored == shape:
                    for r in valid:
                        r.outcome = "unchanged"
                else:
                    for r in valid:
                        r.reject(DomainError(DataioErrorCode.ORDER_CONFLICT, _(
                            "Order %(number)s was already imported with other lines or another amount; imports do "
                            "not change recorded sales.") % {"number": number}, "number"))
                continue
            pending[ext] = shape
            pending_numbers[number] = ext
            store = stores.get(head.clean.get("store")) if head.clean.get("store") else None
            channel = channels.get(head.clean.get("channel")) if head.clean.get("channel") else None
            rate = RateBook([head.clean["currency"]]).rate(
                head.clean["currency"], timezone.localtime(head.clean["ordered_at"]).date())
            to_create.append((valid, {
                "number": number, "customer_id": head.clean["customer_id"], "store": store, "channel": channel,
                "ordered_at": head.clean["ordered_at"], "currency": head.clean["currency"],
                "subtotal": sum((r.clean["priced"].gross for r in valid), ZERO),
                "discount": sum((r.clean["priced"].discount for r in valid), ZERO), "amount": amount,
                "cost": sum((r.clean["priced"].cost for r in valid), ZERO), "line_count": len(valid),
                "missing_lines": len(failed), "external_id": ext, "fx_rate": rate,
                "base_amount": None if rate is None else (amount * rate).quantize(Decimal("0.01"), ROUND_HALF_UP),
            }))
            for r in valid:
                r.outcome = "created"
        ids = reserve_ids(Order, len(to_create))
        source = self.source
        inserter(Order, ORDER_FIELDS).insert([
            (pk, o["number"], o["customer_id"], o["store"].pk if o["store"] else None,
             o["channel"].pk if o["channel"] else None, o["ordered_at"], o["currency"], o["subtotal"], o["discount"],
             o["amount"], o["cost"], o["line_count"], o["missing_lines"], source, o["external_id"], o["fx_rate"],
             o["base_amount"])
            for pk, (_group, o) in zip(ids, to_create, strict=True)])
        inserter(OrderLine, ORDER_LINE_FIELDS).insert([
            line_values(pk, o["customer_id"], r.clean["product"], r.clean["priced"])
            for pk, (group, o) in zip(ids, to_create, strict=True) for r in group])
        deltas: dict[int, list] = {}
        for _group, o in to_create:
            if o["fx_rate"] is None:  # waiting for an exchange rate: in no total
                continue
            d = deltas.setdefault(o["customer_id"], [0, ZERO, o["ordered_at"], o["ordered_at"]])
            d[0] += 1
            d[1] += o["base_amount"]
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
                                   "quantity": payload_quantity(r.clean["priced"].quantity),
                                   "amount": str(r.clean["priced"].amount)}
                                  for r in group[:20]]},
        } for pk, (group, o) in zip(ids, to_create, strict=True)])
        append_lines(self, [(order, [(r.clean["product"], r.clean["priced"]) for r in added])
                            for order, added in appends])
        self.summary["created_ids"] = list(ids)
