"""Commerce's import kinds for the catalog and sales: products, stores and orders (with their lines), written on
dataio's import engine (registered from CommerceConfig.ready(); dataio/handlers.py keeps the engine: rows, the
handler base, customer references).

An order line is priced by commerce.rules — the same pure functions the order service uses — in the row path and
in the column-wise fast path (OrderColumns); the oracle tests (dataio/tests/test_orders_columnwise.py) prove the
fast path equal to a row-by-row reference. Purchase totals go through customers.services.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial
from typing import Any

from django.apps import apps
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import (
    gettext_lazy,  # under its own name, so makemessages finds the kind labels
)

from clientwise.commerce import rules
from clientwise.commerce.errors import CommerceErrorCode
from clientwise.commerce.models import (
    Branch,
    Channel,
    Order,
    OrderLine,
    Product,
    ProductCategory,
    Region,
    Store,
    Unit,
)
from clientwise.commerce.queries import RateBook
from clientwise.commerce.reference import (
    brand_key,
    create_missing,
    ensure_brands,
    find_brands,
    reference_dict,
)
from clientwise.commerce.services import payload_quantity
from clientwise.core import permissions as perms
from clientwise.core.bulk import JsonText, inserter, reserve_ids
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.normalize import parse_date
from clientwise.customers.services import apply_purchase_totals_bulk, record_events_bulk, rewrite_event
from clientwise.dataio import validation as v
from clientwise.dataio.errors import DataioErrorCode
from clientwise.dataio.handlers import (
    ZERO,
    CustomerRefs,
    Handler,
    Row,
    _in,
    _pairs,
    key_for,
    plan_for,
    settle_repeat,
    signature,
)
from clientwise.dataio.mapping import NATURAL_KEYS, TARGETS
from clientwise.dataio.readers import PARSE_ERROR
from clientwise.dataio.registry import HANDLERS, ImportKindSpec, register  # noqa: F401  (HANDLERS: the lookup)


class CatalogHandler(Handler):
    """Products and stores: upsert on the code (SKU / store code) or (source, external_id).

    A parent (a product's category, a store's branch) is given by code. When it does not exist the row is
    quarantined with `unknown_reference`, unless the mapping's option `create_missing` is on: then the missing
    row is created (named after its code; see `create_parent`) and listed in the job's result."""

    perm = perms.MANAGE_CATALOG
    model_path = ""
    code_field = ""
    code_length = 40
    parent_field = ""  # category / branch
    fields: tuple[str, ...] = ()

    def __init__(self, *, job, actor):
        super().__init__(job=job, actor=actor)
        self.key = key_for(job.kind, job.mapping, job.options)
        self.create_missing = bool(self.options.get("create_missing"))

    @property
    def model(self):
        return apps.get_model(self.model_path)

    def clean_row(self, row: Row) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def parents(self, codes: set[str]) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def create_parent(self, row: Row, code: str):  # pragma: no cover - abstract
        """Create the missing parent `code` for this row (create_missing), or reject the row and return None."""
        raise NotImplementedError

    def prepare(self, rows: list[Row]) -> None:
        """Per-batch lookups a subclass needs before the rows are matched (the valid rows of the batch)."""

    def extra_values(self, row: Row, values: dict[str, Any]) -> bool:
        """Further references of a row into `values`; False when the row was rejected."""
        return True

    def note_created(self, kind: str, obj) -> None:
        self.summary["created_references"].setdefault(kind, []).append(reference_dict(obj))

    def process(self, rows: list[Row]) -> None:
        self.summary = {"created_ids": [], "updated_ids": [], "created_references": {}}
        for row in rows:
            if row.ok:
                self.clean_row(row)
                if row.ok and not row.clean.get(self.key):
                    row.errors.append(DomainError(ErrorCode.REQUIRED, _("%(field)s is required.") % {
                        "field": self.key}, self.key))
            if row.errors:
                row.outcome = "rejected"
        ok = [r for r in rows if r.ok]
        model = self.model
        base = model.objects.filter(source=self.source) if self.key == "external_id" else model.objects.all()
        existing = {getattr(o, self.key): o for o in _in(base, self.key, {r.clean[self.key] for r in ok})}
        codes = {r.clean[self.code_field] for r in ok}
        code_holders = dict(_pairs(model.objects.all(), self.code_field, codes, "pk"))
        parents = self.parents({r.clean[self.parent_field] for r in ok if r.clean.get(self.parent_field)})
        self.prepare(ok)
        seen: dict[str, str] = {}
        claimed: dict[str, str] = {}
        new, changed, changed_fields = [], {}, set()
        for row in ok:
            key = row.clean[self.key]
            if key in seen:
                settle_repeat(row, seen[key], self.key, key)
                continue
            obj = existing.get(key)
            code_value = row.clean[self.code_field]
            holder = code_holders.get(code_value)
            if (holder is not None and holder != getattr(obj, "pk", None)) or claimed.get(code_value, key) != key:
                row.reject(DomainError(ErrorCode.DUPLICATE, _("%(field)s %(value)s is already used.") % {
                    "field": self.code_field, "value": code_value}, self.code_field))
                continue
            parent = None
            if row.clean.get(self.parent_field):
                parent_code = row.clean[self.parent_field]
                parent = parents.get(parent_code)
                if parent is None and self.create_missing:
                    parent = self.create_parent(row, parent_code)
                    if parent is None:
                        continue
                    parents[parent_code] = parent
                if parent is None:
                    row.reject(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No %(field)s with code %(value)s.") % {
                        "field": self.parent_field, "value": parent_code}, self.parent_field))
                    continue
            elif obj is None:
                row.reject(DomainError(ErrorCode.REQUIRED, _("%(field)s is required for a new record.") % {
                    "field": self.parent_field}, self.parent_field))
                continue
            values = {k: row.clean[k] for k in self.fields if k in row.clean}
            if not self.extra_values(row, values):
                continue
            seen[key] = signature(row.clean)
            claimed[code_value] = key
            if parent is not None:
                values[f"{self.parent_field}_id"] = parent.pk
            if obj is None:
                obj = model(source=self.source, external_id=row.clean.get("external_id") or None, **values)
                new.append(obj)
                row.outcome = "created"
                continue
            diff = {k: val for k, val in values.items() if getattr(obj, k) != val}
            if diff:
                for k, val in diff.items():
                    setattr(obj, k, val)
                obj.updated_at = self.now
                changed[obj.pk] = obj
                changed_fields |= set(diff)
                row.outcome = "updated"
            else:
                row.outcome = "unchanged"
        model.objects.bulk_create(new, batch_size=500)
        if changed:
            model.objects.bulk_update(list(changed.values()), sorted(changed_fields | {"updated_at"}), batch_size=500)
        self.summary["created_ids"] = [o.pk for o in new]
        self.summary["updated_ids"] = list(changed)


class ProductHandler(CatalogHandler):
    kind = "products"
    model_path = "commerce.Product"
    code_field = "sku"
    parent_field = "category"
    fields = ("sku", "name", "brand", "model", "list_price", "unit_cost", "active")

    def clean_row(self, row: Row) -> None:
        c = self.clean_field
        self.require(row, "sku", gettext_lazy("SKU"))
        self.require(row, "name", gettext_lazy("Name"))
        c(row, "sku", v.code, max_length=40)
        c(row, "name", v.text, max_length=200)
        c(row, "external_id", v.text, max_length=100)
        c(row, "category", v.text, max_length=30)
        c(row, "brand", v.text, max_length=60)
        c(row, "model", v.text, max_length=60)
        c(row, "list_price", v.amount)
        c(row, "unit_cost", v.amount)
        c(row, "active", v.yes_no)
        c(row, "unit", v.code, max_length=20)

    def parents(self, codes):
        return {o.code: o for o in _in(ProductCategory.objects.all(), "code", codes)}

    def create_parent(self, row, code):
        category = create_missing(ProductCategory, [code], source=self.source)[0]
        self.note_created("categories", category)
        return category

    def prepare(self, rows):
        """The batch's units and brands. A brand is text on the product, matched to the Brand table ignoring case
        (the product takes the table's spelling); a brand seen the first time gets its row whatever
        create_missing says, since brands were free text before the table existed (commerce/reference.py)."""
        self.units = {o.code: o for o in _in(Unit.objects.all(), "code", {r.clean["unit"] for r in rows
                                                                          if r.clean.get("unit")})}
        self.brands = find_brands(r.clean["brand"] for r in rows if r.clean.get("brand"))

    def extra_values(self, row, values):
        code = row.clean.get("unit")
        if code:
            unit = self.units.get(code)
            if unit is None and self.create_missing:
                unit = self.units[code] = create_missing(Unit, [code], source=self.source)[0]
                self.note_created("units", unit)
            if unit is None:
                row.reject(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No %(field)s with code %(value)s.") % {
                    "field": "unit", "value": code}, "unit"))
                return False
            values["unit_id"] = unit.pk
        if values.get("brand"):
            key = brand_key(values["brand"])
            if key not in self.brands:
                found, created = ensure_brands([values["brand"]], source=self.source)
                self.brands.update(found)
                for brand in created:
                    self.note_created("brands", brand)
            values["brand"] = self.brands[key].name
        return True


class StoreHandler(CatalogHandler):
    kind = "stores"
    model_path = "commerce.Store"
    code_field = "code"
    parent_field = "branch"
    fields = ("code", "name", "province", "city", "district", "urban_rural", "opened_on", "active")

    def clean_row(self, row: Row) -> None:
        c = self.clean_field
        self.require(row, "code", gettext_lazy("Store code"))
        self.require(row, "name", gettext_lazy("Name"))
        c(row, "code", v.code, max_length=20)
        c(row, "name", v.text, max_length=100)
        c(row, "external_id", v.text, max_length=100)
        c(row, "branch", v.text, max_length=20)
        c(row, "region", v.code, max_length=20)
        c(row, "province", v.text, max_length=40)
        c(row, "city", v.text, max_length=60)
        c(row, "district", v.text, max_length=60)
        c(row, "urban_rural", v.choice, v.URBAN)
        c(row, "opened_on", lambda value, f: parse_date(value, field=f))
        c(row, "active", v.yes_no)

    def parents(self, codes):
        return {o.code: o for o in _in(Branch.objects.all(), "code", codes)}

    def create_parent(self, row, code):
        """A missing branch is created in the row's region (the region column, by code; a missing region is
        created too). Without a region the row is rejected: a branch cannot exist outside one."""
        region_code = row.clean.get("region")
        if not region_code:
            row.reject(DomainError(ErrorCode.REQUIRED, _(
                "Branch %(value)s does not exist; map a region column to create it.") % {"value": code}, "region"))
            return None
        region = Region.objects.filter(code=region_code).first()
        if region is None:
            region = create_missing(Region, [region_code], source=self.source)[0]
            self.note_created("regions", region)
        branch = create_missing(Branch, [code], source=self.source, extra={code: {"region_id": region.pk}})[0]
        self.note_created("branches", branch)
        return branch


# --- references to customers (orders, interactions) ---------------------------------------------------------


ORDER_REQUIRED = (("number", gettext_lazy("Order number")), ("ordered_at", gettext_lazy("Ordered at")), ("sku", gettext_lazy("SKU")),
                  ("quantity", gettext_lazy("Quantity")))
# The per-field checks after the customer reference, in the order a line's errors are listed.
ORDER_TAIL_CHECKS = [
    ("store", v.text, {"max_length": 20}), ("channel", v.text, {"max_length": 20}), ("ordered_at", v.moment, {}),
    ("sku", v.text, {"max_length": 40}), ("quantity", v.quantity, {}), ("unit_price", v.unit_price, {}),
    ("discount", v.amount, {}), ("coupon_discount", v.amount, {}), ("loyalty_discount", v.amount, {}),
    ("manual_discount", v.amount, {}), ("amount", v.amount, {})]
# The fields that price a line, in the order of rules.price_line's values (`discount` is the promotion discount).
PRICE_FIELDS = ("quantity", "unit_price", "amount", "discount", "coupon_discount", "loyalty_discount",
                "manual_discount")


def duplicate_in_file(number: str) -> DomainError:
    """The error of an order whose number another order of the same batch (with another external id) has."""
    return DomainError(ErrorCode.DUPLICATE, _("Order number %(value)s belongs to another order of this file.") % {
        "value": number}, "number")


def order_options(options: dict) -> tuple[str, str, str, str]:
    """An orders import's (line policy, void policy, price basis, default currency) from the job's options
    (checked by dataio.services when the mapping is set; docs/import.md, "Order lines")."""
    return (options.get("line_policy") or rules.KEEP_VALID, options.get("void_lines") or rules.VOID_SKIP,
            options.get("price_basis") or rules.BASIS_UNIT_PRICE, options.get("currency") or rules.default_currency())


class OrderColumns:
    """A batch of order lines as columns: `values[field]` is the list of the lines' stripped texts for each mapped
    field; `blocked` holds the positions of lines that already failed before validation (unreadable rows)."""

    __slots__ = ("n", "values", "blocked")

    def __init__(self, n: int, values: dict[str, list[str]], blocked: set[int]):
        self.n, self.values, self.blocked = n, values, blocked

    @classmethod
    def from_rows(cls, rows: list[Row], fields) -> OrderColumns:
        return cls(len(rows), {f: [r.values.get(f, "") for r in rows] for f in fields},
                   {i for i, r in enumerate(rows) if r.errors})

    @classmethod
    def from_raw(cls, raws: list, mapping: dict[str, str], headers: list[str] | None = None) -> OrderColumns:
        """Columns of rows as read: dicts, or lists of cells in the order of `headers` (CSV)."""
        values = {}
        if headers is not None:
            for name, header in mapping.items():
                if header:
                    j = headers.index(header)
                    values[name] = [cells[j].strip() for cells in raws]
            return cls(len(raws), values, set())
        for name, header in mapping.items():
            if header:
                values[name] = [(raw.get(header) or "").strip() for raw in raws]
        return cls(len(raws), values, {i for i, raw in enumerate(raws) if PARSE_ERROR in raw})


class OrderHandler(Handler):
    """One row per order line; rows with the same order number form one order and must be adjacent.

    Lines are priced by commerce.rules.price_line. The job's options (`order_options`) choose the line policy:
    keep_valid (the default) stores an order's valid lines and marks the order partial (missing_lines) while its
    invalid lines wait in quarantine; replaying them (or importing the file again with them fixed) adds them to it.
    whole_order quarantines the other lines of an order with an invalid line too (code order_incomplete), so the
    fixed error file replays the complete order. Void lines (quantity 0) are skipped (outcome `skipped`), kept as
    zero lines, or quarantined (void_line). An order already imported (same source and external id, or the same
    number) is `unchanged` when its line count and amount match, and rejected as order_conflict otherwise:
    imports never rewrite recorded sales; only lines a partial order misses can be added to it.

    A batch is handled column by column (`process_columns`): each check runs once per distinct value of its
    column (a batch of 50,000 lines has a few thousand order numbers, dates and customers, a few hundred SKUs,
    prices and quantities), and only the lines whose value failed get its error, in the order the per-row rules
    list them (tests/reference_orders.py keeps the per-row handler the tests compare this one with)."""

    kind = "orders"
    perm = perms.CHANGE_ORDERS
    # Lines per batch: the column-wise checks cost little per batch, and fewer, larger commits are faster
    # (measured: 5,000 → 50,000 lines per batch took the SQLite orders import from 24 to 17 s per 190k lines).
    batch_size = 50_000

    def __init__(self, *, job, actor):
        super().__init__(job=job, actor=actor)
        self.refs = CustomerRefs(self)
        self._products: dict[str, Any] = {}
        self._stores: dict[str, Any] = {}
        self._channels: dict[str, Any] | None = None
        self._priced: dict[tuple, Any] = {}  # (SKU, texts of PRICE_FIELDS) -> PricedLine or its error
        self._terms: dict[int, tuple] = {}  # product id -> (list price, unit cost, fractions allowed)
        self._payloads = PurchasePayloads(self.job.pk)
        self.rates = RateBook()  # the exchange rates, read once per job (a few rows per currency and month)
        self.fields = [t.name for t in TARGETS["orders"] if self.mapping.get(t.name)]
        # The per-field checks after the order number, in the order the per-row rules list their errors.
        self.plan_head = plan_for(self.mapping, [("external_id", v.text, {"max_length": 100})])
        self.plan_tail = plan_for(self.mapping, ORDER_TAIL_CHECKS)
        self.line_policy, self.void_policy, self.price_basis, self.default_currency = order_options(self.options)
        self._void_error = DomainError(CommerceErrorCode.VOID_LINE, _(
            "A void line (quantity 0); this import quarantines void lines."), "quantity")

    def _price(self, product, texts: tuple, parsed: list) -> Any:
        """rules.price_line of a line (texts of PRICE_FIELDS; parsed: their clean values per field, None for a
        field not mapped), or its error."""
        terms = self._terms.get(product.id)
        if terms is None:
            terms = self._terms[product.id] = (product.list_price, product.unit_cost,
                                               bool(product.unit_id and product.unit.fractional))
        quantity, unit_price, amount, promotion, coupon, loyalty, manual = texts
        p_quantity, p_price, p_amount, p_promotion, p_coupon, p_loyalty, p_manual = parsed
        try:
            return rules.price_values(
                p_quantity[quantity], p_price[unit_price] if unit_price else None,
                p_amount[amount] if amount else None, *terms, p_promotion[promotion] if promotion else ZERO,
                p_coupon[coupon] if coupon else ZERO, p_loyalty[loyalty] if loyalty else ZERO,
                p_manual[manual] if manual else ZERO, self.price_basis)
        except DomainError as exc:
            return exc

    @staticmethod
    def _stored_keys(order_id: int) -> list[tuple]:
        """The line keys (rules.PricedLine.key) of an order's stored lines."""
        return [(pid, q, p, d, a) for pid, q, p, d, a in OrderLine.objects.filter(order_id=order_id).values_list(
            "product_id", "quantity", "unit_price", "discount", "amount")]

    @staticmethod
    def _append_problem(order, customer_id: int, currency: str, new: list[bool] | None) -> DomainError | None:
        """Why lines may not go into an order already stored (None: they may; rules.match_lines said which are
        new)."""
        if new is None or order.customer_id != customer_id or order.currency != currency:
            return DomainError(DataioErrorCode.ORDER_CONFLICT, _(
                "Order %(number)s was already imported with other lines or another amount; imports do not change "
                "recorded sales.") % {"number": order.number}, "number")
        if any(new) and order.status != order.Status.COMPLETED:
            return DomainError(CommerceErrorCode.ORDER_CANCELLED, _(
                "Order %(number)s is cancelled; lines cannot be added to it.") % {"number": order.number}, "number")
        return None

    def can_split(self, previous: Row, following: Row) -> bool:
        return previous.values.get("number") != following.values.get("number")

    def split_value(self, raw, headers: list[str] | None = None) -> str | None:
        """What can_split compares, read from a row as read (None for an unreadable row, as Row.values has none)."""
        if headers is not None:
            return raw[headers.index(self.mapping["number"])].strip()
        if PARSE_ERROR in raw:
            return None
        return (raw.get(self.mapping["number"]) or "").strip()

    def process_raw(self, raws: list, headers: list[str] | None = None) -> tuple[list[str], list]:
        """process() for rows as read, without Row objects: dicts, or lists of cells in the order of `headers`.
        Returns (outcome per row, errors per row: None or empty for a stored row)."""
        cols = OrderColumns.from_raw(raws, self.mapping, headers)
        outcomes, errors = self.process_columns(cols)
        for i in cols.blocked:
            errors[i] = [DomainError(DataioErrorCode.PARSE, raws[i][PARSE_ERROR], None)]
        return outcomes, errors

    def process_values(self, n: int, values: dict[str, list[str]]) -> tuple[list[str], list]:
        """process() for n rows given as columns: {field: the rows' stripped texts} for every mapped field (CSV
        files, read as columns). Returns (outcome per row, errors per row: None or empty for a stored row)."""
        return self.process_columns(OrderColumns(n, values, set()))

    def process(self, rows: list[Row]) -> None:
        outcomes, errors = self.process_columns(OrderColumns.from_rows(rows, self.fields))
        for row, outcome, errs in zip(rows, outcomes, errors, strict=True):
            if errs:
                row.errors.extend(errs)
            row.outcome = "rejected" if row.errors else outcome

    # --- column-wise checks ---

    @staticmethod
    def _check_column(column: list[str], name: str, fn, kwargs: dict, max_length: int | None):
        """({bad value: error}, {good value: clean value} or None when clean values are the texts themselves)."""
        distinct = set(column)
        distinct.discard("")
        bad: dict[str, DomainError] = {}
        if max_length is not None:
            for value in distinct:
                if len(value) > max_length:
                    try:
                        fn(value, name, **kwargs)
                    except DomainError as exc:
                        bad[value] = exc
            return bad, None
        good = {}
        for value in distinct:
            try:
                good[value] = fn(value, name, **kwargs)
            except DomainError as exc:
                bad[value] = exc
        return bad, good

    def process_columns(self, cols: OrderColumns) -> tuple[list[str], list[list[DomainError] | None]]:
        """(outcome per line, new errors per line or None). Lines in cols.blocked are not checked: they end
        rejected with the errors they already have."""
        n, values, blocked = cols.n, cols.values, cols.blocked
        errs: list[list[DomainError] | None] = [None] * n
        for i in blocked:
            errs[i] = []
        empty = [""] * n

        def flag(column: list[str], bad: dict[str, DomainError]) -> None:
            if not bad:
                return
            for i, value in enumerate(column):
                if value in bad and i not in blocked:
                    found = errs[i]
                    if found is None:
                        errs[i] = [bad[value]]
                    else:
                        found.append(bad[value])

        for name, label in ORDER_REQUIRED:
            flag(values.get(name, empty), {"": DomainError(ErrorCode.REQUIRED, _("%(label)s is required.") % {
                "label": label}, name)})
        numbers = values.get("number", empty)
        flag(numbers, {x: DomainError(ErrorCode.INVALID, _("An order number has up to 40 letters, digits and - _ . /."),
                                      "number") for x in set(numbers) if x and not v.NUMBER_RE.match(x)})
        clean: dict[str, dict | None] = {}
        for name, fn, kwargs, max_length in self.plan_head:
            bad, clean[name] = self._check_column(values[name], name, fn, kwargs, max_length)
            flag(values[name], bad)
        refs = [values[f] for f in self.refs.mapped]
        given = refs[0] if len(refs) == 1 else [any(t) for t in zip(*refs, strict=True)] if refs else empty
        flag(given, {x: DomainError(ErrorCode.REQUIRED, _(
            "Which customer? Give an external id, member number or mobile."), "customer_external_id")
            for x in ("", False)})
        for name, fn, kwargs, max_length in self.refs.plan:
            bad, clean[name] = self._check_column(values[name], name, fn, kwargs, max_length)
            flag(values[name], bad)
        zone = timezone.get_current_timezone_name()
        for name, fn, kwargs, max_length in self.plan_tail:
            if fn is v.moment:
                kwargs = {"zone": zone}
            bad, clean[name] = self._check_column(values[name], name, fn, kwargs, max_length)
            flag(values[name], bad)
        currencies = values.get("currency", empty)
        currency_of: dict[str, Any] = {}
        for x in set(currencies):
            try:
                currency_of[x] = rules.clean_currency(x, self.default_currency)
            except DomainError as exc:
                currency_of[x] = exc
        flag(currencies, {x: c for x, c in currency_of.items() if type(c) is DomainError})

        # --- customers: one query per kind of reference, each distinct reference answered once ---

        ok = [i for i in range(n) if errs[i] is None]
        ref_cols = [(f, values[f], clean.get(f)) for f in self.refs.FIELDS if f in values]
        wanted: dict[str, set] = {f: set() for f, *_x in ref_cols}
        if len(ref_cols) == 1:  # one reference column: a line's key is its text
            only, choice = ref_cols[0][0], ref_cols[0][1]
            wanted[only] = {choice[i] for i in ok}
        else:  # (field, text): the first reference the line gives
            only, choice = None, [None] * n
            for i in ok:
                for f, column, _good in ref_cols:
                    if column[i]:
                        choice[i] = (f, column[i])
                        wanted[f].add(column[i])
                        break
        mobile_of = clean.get("customer_mobile") or {}
        found = self.refs.matches(external_ids=wanted.get("customer_external_id", ()),
                                  member_numbers=wanted.get("customer_member_number", ()),
                                  mobiles={mobile_of[x] for x in wanted.get("customer_mobile", ())})
        answers: dict[Any, Any] = {}
        for key in {choice[i] for i in ok}:
            name, text = (only, key) if only else key
            answers[key] = self.refs.answer(found, name, mobile_of[text] if name == "customer_mobile" else text, text)
        customer = [None] * n
        for i in ok:
            answer = answers[choice[i]]
            if type(answer) is int:
                customer[i] = answer
            else:
                errs[i] = [answer]

        # --- products, stores, channels (few, read-only here: cached for the whole job) and line prices ---
        ok = [i for i in ok if errs[i] is None]
        skus, stores_col, channels_col = values["sku"], values.get("store", empty), values.get("channel", empty)
        products = self._products
        missing = {skus[i] for i in ok} - set(products)
        products.update({p.sku: p for p in _in(Product.objects.select_related("unit"), "sku", missing)})
        stores = self._stores
        store_codes = {stores_col[i] for i in ok if stores_col[i]} - set(stores)
        stores.update({s.code: s for s in _in(Store.objects.all(), "code", store_codes)})
        for s in _in(Store.objects.filter(source=self.source), "external_id", store_codes - set(stores)):
            stores[s.external_id] = s
        if self._channels is None:
            self._channels = {ch.code: ch for ch in Channel.objects.all()}
        channels = self._channels
        sku_error: dict[str, DomainError | None] = {}
        for sku in {skus[i] for i in ok}:
            product = products.get(sku)
            if product is None:
                sku_error[sku] = DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No product with SKU %(value)s.") % {
                    "value": sku}, "sku")
            elif not product.active:
                sku_error[sku] = DomainError(CommerceErrorCode.INACTIVE_PRODUCT, _("%(name)s is no longer sold.") % {
                    "name": product.name}, "sku")
        store_error = {x: DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No store with code %(value)s.") % {
            "value": x}, "store") for x in {stores_col[i] for i in ok} if x and x not in stores}
        channel_error = {x: DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No channel with code %(value)s.") % {
            "value": x}, "channel") for x in {channels_col[i] for i in ok} if x and x not in channels}
        # A line's price depends only on its product and the texts of its quantity, price, amount and discounts:
        # priced once per distinct combination for the whole job (rules.price_line, or the error it raised).
        texts = [values.get(f, empty) for f in PRICE_FIELDS]
        parsed = [clean.get(f) for f in PRICE_FIELDS]
        price_texts = list(zip(*texts, strict=True))  # per line: its texts of PRICE_FIELDS
        price_memo = self._priced
        if len(price_memo) > 200_000:
            price_memo.clear()
        void_policy, price = self.void_policy, self._price
        line: list[tuple | None] = [None] * n  # (product, rules.PricedLine)
        skipped = [False] * n  # void lines the void policy skips
        for i in ok:
            sku = skus[i]
            if sku_error or store_error or channel_error:
                found = [e for e in (sku_error.get(sku), store_error.get(stores_col[i]),
                                     channel_error.get(channels_col[i])) if e is not None]
                if found:
                    errs[i] = found
                    continue
            product = products[sku]
            key = (sku, price_texts[i])
            try:
                priced = price_memo[key]
            except KeyError:
                priced = price_memo[key] = price(product, key[1], parsed)
            if type(priced) is DomainError:
                errs[i] = [priced]
                continue
            if not priced.quantity:
                if void_policy == rules.VOID_SKIP:
                    skipped[i] = True
                    continue
                if void_policy == rules.VOID_QUARANTINE:
                    errs[i] = [self._void_error]
                    continue
            line[i] = (product, priced)

        # --- whole orders: adjacent lines with the same number (lines without a number are their own order) ---
        starts = [0]
        for i in range(1, n):
            if not numbers[i] or numbers[i] != numbers[i - 1]:
                starts.append(i)
        starts.append(n)
        groups = [(starts[k], starts[k + 1]) for k in range(len(starts) - 1)] if n else []
        ext_col = values.get("external_id", empty)
        whole = self.line_policy == rules.WHOLE_ORDER
        complete = [(a, b) for a, b in groups if (errs[a:b].count(None) == b - a) or (
            not whole and errs[a:b].count(None) > skipped[a:b].count(True))]
        order_numbers = {numbers[a] for a, _b in complete}
        ext_ids = {ext_col[a] or numbers[a] for a, _b in complete}
        by_number = {o.number: o for o in _in(Order.objects.all(), "number", order_numbers)}
        by_ext_order = {o.external_id: o for o in _in(Order.objects.filter(source=self.source), "external_id",
                                                       ext_ids)}
        outcome = ["rejected"] * n
        for i in range(n):
            if skipped[i]:
                outcome[i] = "skipped"
        pending: dict[str, tuple[int, Decimal, int]] = {}
        pending_numbers: dict[str, str] = {}  # number -> external id of the orders this batch creates
        to_create: list[tuple[list[int], dict[str, Any]]] = []  # (the lines stored, the new order's values)
        appends: list[tuple[Any, list[int]]] = []  # (an order already stored, the lines added to it)
        stored_keys: dict[int, list[tuple]] = {}  # partial orders' line keys (read when first needed)
        ordered_of = clean["ordered_at"]
        any_skipped = True in skipped
        for a, b in groups:
            clean_lines = errs[a:b].count(None)
            if clean_lines == b - a and not (any_skipped and True in skipped[a:b]):
                valid, failed = list(range(a, b)), 0
            else:
                valid = [i for i in range(a, b) if errs[i] is None and not skipped[i]]
                failed = b - a - clean_lines
            if failed and (whole or not valid):
                incomplete = None
                for i in valid:
                    incomplete = incomplete or DomainError(DataioErrorCode.ORDER_INCOMPLETE, _(
                        "Another line of order %(number)s is invalid; the order goes in whole or not at all.") % {
                        "number": numbers[a]}, "number")
                    errs[i] = [incomplete]
                continue
            if not valid:  # only skipped void lines
                continue
            head = valid[0]
            cid = customer[head]
            others = [i for i in valid if customer[i] != cid]
            if others:
                conflict = DomainError(ErrorCode.CONFLICT, _(
                    "This line names another customer than the first line of the order."), "customer_external_id")
                for i in others:
                    errs[i] = [conflict]
                if whole:
                    incomplete = DomainError(DataioErrorCode.ORDER_INCOMPLETE, _(
                        "Another line of order %(number)s is invalid; the order goes in whole or not at all.") % {
                        "number": numbers[head]}, "number")
                    for i in valid:
                        if errs[i] is None:
                            errs[i] = [incomplete]
                    continue
                valid = [i for i in valid if errs[i] is None]
                failed += len(others)
            number = numbers[head]
            ext = ext_col[head] or number
            amount = sum([line[i][1].amount for i in valid], ZERO)
            shape = (len(valid), amount, cid)
            known = by_ext_order.get(ext)
            if known is None and number in by_number:
                other = by_number[number]
                if other.source != self.source or (other.external_id or "") != ext:
                    duplicate = DomainError(ErrorCode.DUPLICATE, _(
                        "Order number %(value)s already exists from another source.") % {"value": number}, "number")
                    for i in valid:
                        errs[i] = [duplicate]
                    continue
                known = other
            if known is None and pending_numbers.get(number, ext) != ext:
                duplicate = duplicate_in_file(number)
                for i in valid:
                    errs[i] = [duplicate]
                continue
            currency = currency_of[currencies[head]]
            if known is not None and (known.missing_lines or failed):
                # A partial order (or a file with lines still invalid): lines already stored are unchanged, new
                # ones complete the order while it misses lines.
                keys = stored_keys.get(known.id)
                if keys is None:
                    keys = stored_keys[known.id] = self._stored_keys(known.id)
                new = rules.match_lines(keys, [line[i][1].key(line[i][0].id) for i in valid], known.missing_lines)
                problem = self._append_problem(known, cid, currency, new)
                if problem is not None:
                    for i in valid:
                        errs[i] = [problem]
                    continue
                added = [i for i, is_new in zip(valid, new, strict=True) if is_new]
                for i, is_new in zip(valid, new, strict=True):
                    outcome[i] = "created" if is_new else "unchanged"
                if added:
                    keys.extend(line[i][1].key(line[i][0].id) for i in added)
                    known.missing_lines -= len(added)
                    appends.append((known, added))
                continue
            stored = (known.line_count, known.amount, known.customer_id) if known is not None else pending.get(ext)
            if stored is not None:
                if stored == shape:
                    for i in valid:
                        outcome[i] = "unchanged"
                else:
                    conflict = DomainError(DataioErrorCode.ORDER_CONFLICT, _(
                        "Order %(number)s was already imported with other lines or another amount; imports do "
                        "not change recorded sales.") % {"number": number}, "number")
                    for i in valid:
                        errs[i] = [conflict]
                continue
            pending[ext] = shape
            pending_numbers[number] = ext
            store = stores.get(stores_col[head]) if stores_col[head] else None
            channel = channels.get(channels_col[head]) if channels_col[head] else None
            priced = [line[i][1] for i in valid]
            ordered_at = ordered_of[values["ordered_at"][head]]
            rate = self.rates.rate_at(currency, ordered_at)
            to_create.append((valid, {
                "number": number, "customer_id": cid, "store": store, "channel": channel,
                "ordered_at": ordered_at, "currency": currency,
                "subtotal": sum([p.gross for p in priced], ZERO), "discount": sum([p.discount for p in priced], ZERO),
                "amount": amount, "cost": sum([p.cost for p in priced], ZERO), "line_count": len(valid),
                "missing_lines": failed, "external_id": ext, "fx_rate": rate, "base_amount": rules.to_base(amount, rate),
            }))
            for i in valid:
                outcome[i] = "created"

        # --- writes: orders and lines (one INSERT / COPY each), totals, timeline ---
        # (Products, stores and channels are read by `.id`, their primary key column: `.pk` is a property call.)
        ids = reserve_ids(Order, len(to_create))
        source = self.source
        inserter(Order, ORDER_FIELDS).insert([
            (pk, o["number"], o["customer_id"], o["store"].id if o["store"] else None,
             o["channel"].id if o["channel"] else None, o["ordered_at"], o["currency"], o["subtotal"], o["discount"],
             o["amount"], o["cost"], o["line_count"], o["missing_lines"], source, o["external_id"], o["fx_rate"],
             o["base_amount"])
            for pk, (_v, o) in zip(ids, to_create, strict=True)])
        inserter(OrderLine, ORDER_LINE_FIELDS).insert([
            line_values(pk, o["customer_id"], *line[i])
            for pk, (valid, o) in zip(ids, to_create, strict=True) for i in valid])
        deltas = purchase_deltas([o for _v, o in to_create])
        apply_purchase_totals_bulk(deltas={k: tuple(d) for k, d in deltas.items()})
        subject = _("Order %(number)s · %(amount)s")
        payload = self._payloads.encode
        record_events_bulk(actor=self.actor, events=[{
            "customer_id": o["customer_id"], "kind": "purchase", "occurred_at": o["ordered_at"], "ref_type": "order",
            "ref_id": pk,
            "subject": subject % {"number": o["number"], "amount": _money(o["amount"], o["currency"])},
            "payload": payload(o, [line[i] for i in valid[:20]]),
        } for pk, (valid, o) in zip(ids, to_create, strict=True)])
        append_lines(self, [(order, [line[i] for i in added]) for order, added in appends])
        self.summary["created_ids"] = list(ids)
        return outcome, errs


def purchase_payload(order: dict[str, Any], lines: list[tuple], job_id: int | None) -> dict[str, Any]:
    """The payload of an imported order's purchase timeline row: the order's number, amount, currency, line count,
    store name, channel code and import job, and its first 20 lines (SKU, product name, quantity, amount); `lines`
    are (product, rules.PricedLine) pairs."""
    return {"number": order["number"], "amount": str(order["amount"]), "currency": order["currency"],
            "line_count": order["line_count"], "store": order["store"].name if order["store"] else "",
            "channel": order["channel"].code if order["channel"] else "", "import_job": job_id,
            "lines": [{"sku": x[0].sku, "name": x[0].name, "quantity": payload_quantity(x[1].quantity),
                       "amount": str(x[1].amount)} for x in lines]}


class PurchasePayloads:
    """`JsonText` of `purchase_payload(order, lines, job_id)`, byte for byte what `json.dumps` writes for it, put
    together from fragments encoded once: per product `{"sku": …, "name": …, "quantity": `, per store and channel
    their JSON strings. Only the per-order and per-line values (texts of numbers and amounts, JSON strings of the
    order number) are encoded per order. An order with values of other types than these fragments assume (an int
    line count, Decimal amounts and quantities) gets the payload dict instead, which record_events_bulk encodes
    (tests/test_orders_columnwise.py compares the texts)."""

    def __init__(self, job_id: int | None):
        self.job = json.dumps(job_id)
        self.products: dict[int, str] = {}
        self.names: dict[Any, str] = {}
        self.quantities: dict[Decimal, str] = {}

    def _name(self, obj, attr: str) -> str:
        try:
            return self.names[(attr, obj.id)]
        except KeyError:
            out = self.names[(attr, obj.id)] = json.dumps(getattr(obj, attr))
            return out

    def _quantity(self, quantity: Decimal) -> str:
        try:
            return self.quantities[quantity]
        except KeyError:
            out = self.quantities[quantity] = json.dumps(payload_quantity(quantity))
            return out

    def encode(self, order: dict[str, Any], lines: list[tuple]) -> JsonText | dict[str, Any]:
        line_count = order["line_count"]
        if type(line_count) is not int or type(order["amount"]) is not Decimal or not all(
                type(x[1].quantity) is Decimal and type(x[1].amount) is Decimal for x in lines):
            return purchase_payload(order, lines, json.loads(self.job))  # record_events_bulk encodes it
        products = self.products
        quantity = self._quantity
        parts = []
        for product, priced in lines:
            try:
                head = products[product.id]
            except KeyError:
                head = products[product.id] = (f'{{"sku": {json.dumps(product.sku)}, '
                                               f'"name": {json.dumps(product.name)}, "quantity": ')
            parts.append(f'{head}{quantity(priced.quantity)}, "amount": "{str(priced.amount)}"}}')
        store, channel = order["store"], order["channel"]
        return JsonText(
            f'{{"number": {_json_str(order["number"])}, "amount": "{str(order["amount"])}", '
            f'"currency": {_json_str(order["currency"])}, "line_count": {line_count}, '
            f'"store": {self._name(store, "name") if store else _EMPTY}, '
            f'"channel": {self._name(channel, "code") if channel else _EMPTY}, "import_job": {self.job}, '
            f'"lines": [{", ".join(parts)}]}}')


_json_str = json.encoder.encode_basestring_ascii  # json.dumps of a str, with the default ensure_ascii
_EMPTY = '""'

ORDER_FIELDS = ("id", "number", "customer_id", "store_id", "channel_id", "ordered_at", "currency", "subtotal",
                "discount", "amount", "cost", "line_count", "missing_lines", "source", "external_id", "fx_rate",
                "base_amount")


def purchase_deltas(orders: list[dict[str, Any]]) -> dict[int, list]:
    """The purchase totals' deltas of new orders ({customer_id: [orders, revenue, first, last]}): each order
    converted to the base currency counts with its base amount; one waiting for an exchange rate counts nowhere
    (commerce.models.COUNTED)."""
    deltas: dict[int, list] = {}
    for o in orders:
        base = o["base_amount"]
        if base is None:
            continue
        d = deltas.get(o["customer_id"])
        if d is None:
            deltas[o["customer_id"]] = [1, base, o["ordered_at"], o["ordered_at"]]
            continue
        d[0] += 1
        d[1] += base
        if o["ordered_at"] < d[2]:
            d[2] = o["ordered_at"]
        elif o["ordered_at"] > d[3]:
            d[3] = o["ordered_at"]
    return deltas


ORDER_LINE_FIELDS = ("order_id", "customer_id", "product_id", "quantity", "unit_price", "promotion_discount",
                     "coupon_discount", "loyalty_discount", "manual_discount", "discount", "amount", "cost")


def line_values(order_id: int, customer_id: int, product, priced) -> tuple:
    """An order line's values in ORDER_LINE_FIELDS order, from its product and rules.PricedLine (whose fields
    after the unit price are the columns' order: gross is not stored)."""
    return (order_id, customer_id, product.id, priced[0], priced[1], *priced[3:])


def append_lines(handler: Handler, appends: list[tuple[Any, list[tuple]]]) -> None:
    """Add lines to orders already stored (a partial order's quarantined lines, replayed or imported again):
    `appends` holds (order, [(product, rules.PricedLine)]). The lines are inserted; each order's line count,
    missing lines, subtotal, discount, amount and cost move by the added lines' (F() updates); its customer's
    revenue by the added amount (the order was already counted); and its purchase timeline row is rewritten
    from its stored lines (subject, amount, line count, first 20 lines)."""
    if not appends:
        return

    inserter(OrderLine, ORDER_LINE_FIELDS).insert([
        line_values(order.id, order.customer_id, *x) for order, added in appends for x in added])
    deltas: dict[int, list] = {}
    for order, added in appends:
        priced = [p for _product, p in added]
        amount = sum([p.amount for p in priced], ZERO)
        # The base amount is the new amount at the rate the order was stored with (none while it waits for one).
        order.amount += amount
        old_base, order.base_amount = order.base_amount, rules.to_base(order.amount, order.fx_rate)
        Order.objects.filter(pk=order.id).update(
            line_count=F("line_count") + len(added), missing_lines=F("missing_lines") - len(added),
            subtotal=F("subtotal") + sum([p.gross for p in priced], ZERO),
            discount=F("discount") + sum([p.discount for p in priced], ZERO), amount=F("amount") + amount,
            base_amount=order.base_amount, cost=F("cost") + sum([p.cost for p in priced], ZERO),
            updated_at=handler.now)
        if order.base_amount is not None:
            d = deltas.setdefault(order.customer_id, [0, ZERO, order.ordered_at, order.ordered_at])
            d[1] += order.base_amount - old_base
    apply_purchase_totals_bulk(deltas={k: tuple(d) for k, d in deltas.items()})
    subject = _("Order %(number)s · %(amount)s")
    for order in {order.id: order for order, _added in appends}.values():
        fresh = Order.objects.select_related("store", "channel").get(pk=order.id)
        lines = [(ln.product, ln) for ln in OrderLine.objects.filter(order_id=order.id).select_related("product")
                 .order_by("id")[:20]]
        summary = {"number": fresh.number, "amount": fresh.amount, "currency": fresh.currency,
                   "line_count": fresh.line_count, "store": fresh.store, "channel": fresh.channel}
        rewrite_event(kind="purchase", ref_type="order", ref_id=order.id,
                      subject=subject % {"number": fresh.number, "amount": _money(fresh.amount, fresh.currency)},
                      payload=partial(_payload_keeping_job, summary, lines))


def _payload_keeping_job(summary: dict[str, Any], lines: list[tuple], old: dict[str, Any]) -> dict[str, Any]:
    """A rewritten purchase row's payload: the order as it is now, still naming the import job that wrote it."""
    return purchase_payload(summary, lines, old.get("import_job"))


def _money(value: Decimal, currency: str) -> str:
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}.get(currency, currency + " ")
    return f"{symbol}{value:,.2f}"


# --- interactions -------------------------------------------------------------------------------------------


def register_kinds() -> None:
    for order, (kind, label, handler) in enumerate((
            ("products", gettext_lazy("Products"), ProductHandler),
            ("stores", gettext_lazy("Stores"), StoreHandler),
            ("orders", gettext_lazy("Orders"), OrderHandler)), start=1):
        register(ImportKindSpec(name=kind, label=label, handler=handler, targets=TARGETS[kind],
                                natural_keys=NATURAL_KEYS[kind], order=order))
