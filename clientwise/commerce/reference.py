"""Reference data: product categories (a tree), brands, regions → branches → stores, channels, product units and
exchange rates.

These functions are the only code that writes those rows; the reference pages, the API, the import kinds
(commerce/imports.py) and the product and store imports' "create missing" option call them. Every change needs
`catalog.manage` (administrators: reference data is shared by the whole company, so a manager, whose scope is a
team, may not change it) and writes an audit row with the values before and after. Reading needs `orders.view`.

A row is deleted only when nothing refers to it: a category with sub-categories or products, a brand on a
product, a region with branches, a branch with stores, a store with orders or promoters, a channel on an order, a
unit on a product. Otherwise the call fails with 409 `in_use`, naming what refers to it; stores, brands and
units can be deactivated instead.

Exchange rates: one rate per currency and day ("valid from"), units of the base currency (settings.CURRENCY) per
unit of the currency. Saving one converts the orders of that currency that were waiting for a rate for their day
(commerce.services.convert_waiting_orders, in the same transaction; the count is in the audit row). Orders keep
the rate they were converted at: changing or deleting a rate later does not re-value them.

Brands: `Product.brand` stays text (the pivot engine's brand dimension reads it as it always has). The `Brand`
table lists those texts: a product's brand is matched to a Brand row by name ignoring case (and takes the row's
spelling), and a name seen for the first time creates its row (`ensure_brands`). Renaming a brand renames it
on every product; a brand on a product cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from clientwise.accounts.models import Team
from clientwise.commerce import rules
from clientwise.commerce.errors import CommerceErrorCode
from clientwise.commerce.models import (
    Branch,
    Brand,
    Channel,
    ExchangeRate,
    Order,
    Product,
    ProductCategory,
    Promoter,
    Region,
    Store,
    Unit,
)
from clientwise.commerce.rules import unit_allows_fractions
from clientwise.commerce.services import (
    _bool,
    _code,
    _error,
    _fk,
    _int,
    _save_with_audit,
    _text,
    _unique,
    convert_waiting_orders,
)
from clientwise.core import permissions as perms
from clientwise.core.audit import audit, snapshot
from clientwise.core.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from clientwise.core.normalize import parse_date


def _get(model, pk) -> Any:
    try:
        row = model.objects.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFound()
    return row


def _required_on_edit(data: dict, key: str, value, errors: list[DomainError], label: str) -> None:
    """A PATCH may leave a required field out, but not blank it."""
    if key in data and not value and not any(e.field == key for e in errors):
        errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": label}, key))


def _code_and_name(data: dict, errors: list[DomainError], *, creating: bool, code_length: int,
                   name_length: int = 100) -> tuple[str, str]:
    """The code and name every reference row has: required on create; a change may leave them out, not blank
    them."""
    code = _code(data, "code", errors, max_length=code_length, required=creating, label=_("Code"))
    name = _text(data, "name", errors, max_length=name_length, required=creating, label=_("Name"))
    if not creating:
        _required_on_edit(data, "code", code, errors, _("Code"))
        _required_on_edit(data, "name", name, errors, _("Name"))
    return code, name


def _set_code_and_name(obj, code: str, name: str) -> None:
    """Put a given code (unique among its kind) and name on `obj`; what was not given stays."""
    if code:
        _unique(type(obj), "code", code, obj, _("Code"))
        obj.code = code
    if name:
        obj.name = name


def _sourced(obj, data: dict) -> None:
    obj.source = str(data.get("source") or "")[:40]
    obj.external_id = str(data["external_id"])[:100] if data.get("external_id") else None


def _delete(actor, obj, action: str, users: list[tuple[int, str]]) -> None:
    """Delete `obj` unless something refers to it; `users` is [(how many, what)]."""
    in_use = [f"{n} {what}" for n, what in users if n]
    if in_use:
        raise _error(CommerceErrorCode.IN_USE, _("%(name)s is still used by %(users)s; it cannot be deleted.") % {
            "name": str(obj), "users": ", ".join(in_use)})
    before = snapshot(obj)
    pk = obj.pk
    obj.delete()
    audit(actor=actor, action=action, object_type=obj._meta.label_lower, object_id=pk, before=before)


# --- categories -------------------------------------------------------------------------------------------------


def save_category(*, actor, data: dict[str, Any], category_id: int | None = None) -> ProductCategory:
    """Create or change a product category: code, name, parent_id (a tree of any depth, no cycles),
    replenishable, cycle_days (the typical repurchase cycle of a replenishable category)."""
    perms.require(actor, perms.MANAGE_CATALOG)
    category = _get(ProductCategory, category_id) if category_id is not None else None
    creating = category is None
    errors: list[DomainError] = []
    code, name = _code_and_name(data, errors, creating=creating, code_length=30)
    has_parent, parent = _fk(ProductCategory, data, "parent_id", errors, required=False, label=_("parent category"))
    if parent is not None and category is not None:
        node, seen = parent, set()
        while node is not None and node.pk not in seen:
            if node.pk == category.pk:
                errors.append(_error(CommerceErrorCode.CATEGORY_CYCLE, _("A category cannot be inside itself."), "parent_id"))
                break
            seen.add(node.pk)
            node = node.parent
    replenishable = _bool(data, "replenishable", errors)
    cycle = None
    if data.get("cycle_days") not in (None, ""):
        cycle = _int(data["cycle_days"], "cycle_days", errors, label=_("Cycle (days)"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if creating:
            category = ProductCategory()
            _sourced(category, data)
        before = None if creating else snapshot(category)
        _set_code_and_name(category, code, name)
        if has_parent:
            category.parent = parent
        if replenishable is not None:
            category.replenishable = replenishable
        if "cycle_days" in data:
            category.cycle_days = cycle
        _save_with_audit(actor, category, before, "category.create" if creating else "category.update")
    return category


def delete_category(*, actor, category_id: int) -> None:
    perms.require(actor, perms.MANAGE_CATALOG)
    with transaction.atomic():
        category = _get(ProductCategory, category_id)
        _delete(actor, category, "category.delete", [
            (category.children.count(), _("sub-categories")), (category.products.count(), _("products"))])


# --- brands -----------------------------------------------------------------------------------------------------


def brand_key(name: str) -> str:
    """How brand texts are compared: trimmed, ignoring case."""
    return (name or "").strip().lower()


def find_brands(names: Iterable[str]) -> dict[str, Brand]:
    """The existing Brand rows of these brand texts, {brand_key: Brand}."""
    keys = sorted({brand_key(n) for n in names if brand_key(n)})
    found: dict[str, Brand] = {}
    for start in range(0, len(keys), 500):
        for brand in Brand.objects.annotate(key=Lower("name")).filter(key__in=keys[start:start + 500]):
            found[brand.key] = brand
    return found


def ensure_brands(names: Iterable[str], *, source: str = "") -> tuple[dict[str, Brand], list[Brand]]:
    """The Brand row of each brand text ({brand_key: Brand}), creating rows for names seen the first time
    (spelled as first given). Returns (rows by key, the rows created). No permission check and no audit row of
    its own: the caller (save_product, the products import) has checked its actor and audits the product change
    it is making; the import lists the brands it created in its result."""
    wanted: dict[str, str] = {}
    for name in names:
        key = brand_key(name)
        if key and key not in wanted:
            wanted[key] = name.strip()[:60]
    found = find_brands(wanted.values())
    new = [Brand(name=wanted[k], source=source[:40]) for k in wanted if k not in found]
    if new:
        Brand.objects.bulk_create(new, batch_size=500)
        if any(b.pk is None for b in new):  # backends that return no ids from bulk_create
            new = list(find_brands(b.name for b in new).values())
        found.update({brand_key(b.name): b for b in new})
    return found, new


def save_brand(*, actor, data: dict[str, Any], brand_id: int | None = None) -> Brand:
    """Create or change a brand: name (unique ignoring case), active. Renaming a brand renames it on every
    product that carries it (the count is in the audit row)."""
    perms.require(actor, perms.MANAGE_CATALOG)
    brand = _get(Brand, brand_id) if brand_id is not None else None
    creating = brand is None
    errors: list[DomainError] = []
    name = _text(data, "name", errors, max_length=60, required=creating, label=_("Name"))
    if not creating:
        _required_on_edit(data, "name", name, errors, _("Name"))
    active = _bool(data, "active", errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        renamed = 0
        if creating:
            brand = Brand()
            _sourced(brand, data)
        before = None if creating else snapshot(brand)
        if name:
            clash = Brand.objects.annotate(key=Lower("name")).filter(key=brand_key(name)).exclude(pk=brand.pk)
            if clash.exists():
                raise _error(ErrorCode.DUPLICATE, _("%(label)s %(value)s is already used.") % {
                    "label": _("Brand"), "value": name}, "name")
            if not creating and name != brand.name:
                renamed = Product.objects.filter(brand__iexact=brand.name).update(brand=name)
            brand.name = name
        if active is not None:
            brand.active = active
        _save_with_audit(actor, brand, before, "brand.create" if creating else "brand.update")
        if renamed:
            audit(actor=actor, action="brand.rename_products", obj=brand, detail={"products": renamed,
                                                                                  "name": brand.name})
    return brand


def delete_brand(*, actor, brand_id: int) -> None:
    perms.require(actor, perms.MANAGE_CATALOG)
    with transaction.atomic():
        brand = _get(Brand, brand_id)
        _delete(actor, brand, "brand.delete", [
            (Product.objects.filter(brand__iexact=brand.name).count(), _("products"))])


# --- regions, branches, stores ----------------------------------------------------------------------------------


def _team(data: dict, errors: list[DomainError]):
    return _fk(Team, data, "team_id", errors, required=False, label=_("team"))


def save_region(*, actor, data: dict[str, Any], region_id: int | None = None) -> Region:
    """Create or change a sales region: code, name, team_id (the team that works it, optional)."""
    perms.require(actor, perms.MANAGE_CATALOG)
    region = _get(Region, region_id) if region_id is not None else None
    creating = region is None
    errors: list[DomainError] = []
    code, name = _code_and_name(data, errors, creating=creating, code_length=20)
    has_team, team = _team(data, errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if creating:
            region = Region()
            _sourced(region, data)
        before = None if creating else snapshot(region)
        _set_code_and_name(region, code, name)
        if has_team:
            region.team = team
        _save_with_audit(actor, region, before, "region.create" if creating else "region.update")
    return region


def delete_region(*, actor, region_id: int) -> None:
    perms.require(actor, perms.MANAGE_CATALOG)
    with transaction.atomic():
        region = _get(Region, region_id)
        _delete(actor, region, "region.delete", [(region.branches.count(), _("branches"))])


def save_branch(*, actor, data: dict[str, Any], branch_id: int | None = None) -> Branch:
    """Create or change a branch: code, name, region_id, team_id (optional)."""
    perms.require(actor, perms.MANAGE_CATALOG)
    branch = _get(Branch, branch_id) if branch_id is not None else None
    creating = branch is None
    errors: list[DomainError] = []
    code, name = _code_and_name(data, errors, creating=creating, code_length=20)
    has_region, region = _fk(Region, data, "region_id", errors, required=creating, label=_("region"))
    if has_region and region is None and not creating and not any(e.field == "region_id" for e in errors):
        errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": _("Region")}, "region_id"))
    has_team, team = _team(data, errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if creating:
            branch = Branch()
            _sourced(branch, data)
        before = None if creating else snapshot(branch)
        _set_code_and_name(branch, code, name)
        if region is not None:
            branch.region = region
        if has_team:
            branch.team = team
        _save_with_audit(actor, branch, before, "branch.create" if creating else "branch.update")
    return branch


def delete_branch(*, actor, branch_id: int) -> None:
    perms.require(actor, perms.MANAGE_CATALOG)
    with transaction.atomic():
        branch = _get(Branch, branch_id)
        _delete(actor, branch, "branch.delete", [(branch.stores.count(), _("stores"))])


def delete_store(*, actor, store_id: int) -> None:
    """Delete a store nobody has used yet (a typo); a store with orders or promoters is closed instead
    (services.save_store with active = False)."""
    perms.require(actor, perms.MANAGE_CATALOG)
    with transaction.atomic():
        store = _get(Store, store_id)
        _delete(actor, store, "store.delete", [
            (Order.objects.filter(store_id=store.pk).count(), _("orders")),
            (Promoter.objects.filter(store_id=store.pk).count(), _("promoters"))])


# --- channels and units -----------------------------------------------------------------------------------------


def save_channel(*, actor, data: dict[str, Any], channel_id: int | None = None) -> Channel:
    """Create or change a sales channel: code, name, kind (store, web, phone, partner, app)."""
    perms.require(actor, perms.MANAGE_CATALOG)
    channel = _get(Channel, channel_id) if channel_id is not None else None
    creating = channel is None
    errors: list[DomainError] = []
    code = _code(data, "code", errors, max_length=20, required=creating, label=_("Code"))
    name = _text(data, "name", errors, max_length=100, required=creating, label=_("Name"))
    kind = _text(data, "kind", errors, max_length=10, required=creating, label=_("Kind"))
    if not creating:
        _required_on_edit(data, "code", code, errors, _("Code"))
        _required_on_edit(data, "name", name, errors, _("Name"))
        _required_on_edit(data, "kind", kind, errors, _("Kind"))
    if kind and kind not in Channel.Kind.values:
        errors.append(_error(ErrorCode.INVALID, _("Kind must be one of: %(kinds)s.") % {
            "kinds": ", ".join(Channel.Kind.values)}, "kind"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if creating:
            channel = Channel()
        before = None if creating else snapshot(channel)
        _set_code_and_name(channel, code, name)
        if kind:
            channel.kind = kind
        _save_with_audit(actor, channel, before, "channel.create" if creating else "channel.update")
    return channel


def delete_channel(*, actor, channel_id: int) -> None:
    perms.require(actor, perms.MANAGE_CATALOG)
    with transaction.atomic():
        channel = _get(Channel, channel_id)
        _delete(actor, channel, "channel.delete", [
            (Order.objects.filter(channel_id=channel.pk).count(), _("orders"))])


def save_unit(*, actor, data: dict[str, Any], unit_id: int | None = None) -> Unit:
    """Create or change a product unit: code (pcs, kg, L…), name, fractional (whether an order line may hold a
    fraction of it), active."""
    perms.require(actor, perms.MANAGE_CATALOG)
    unit = _get(Unit, unit_id) if unit_id is not None else None
    creating = unit is None
    errors: list[DomainError] = []
    code, name = _code_and_name(data, errors, creating=creating, code_length=20, name_length=60)
    fractional = _bool(data, "fractional", errors)
    active = _bool(data, "active", errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if creating:
            unit = Unit()
        before = None if creating else snapshot(unit)
        _set_code_and_name(unit, code, name)
        if fractional is not None:
            unit.fractional = fractional
        if active is not None:
            unit.active = active
        _save_with_audit(actor, unit, before, "unit.create" if creating else "unit.update")
    return unit


def delete_unit(*, actor, unit_id: int) -> None:
    perms.require(actor, perms.MANAGE_CATALOG)
    with transaction.atomic():
        unit = _get(Unit, unit_id)
        _delete(actor, unit, "unit.delete", [(unit.products.count(), _("products"))])


# --- exchange rates ---------------------------------------------------------------------------------------------


def save_exchange_rate(*, actor, data: dict[str, Any], rate_id: int | None = None) -> ExchangeRate:
    """Create or change an exchange rate: currency (a currency orders may be in, not the base currency), day (the
    first day it applies), rate (units of the base currency per unit, > 0, at most eight decimals). One rate per
    currency and day (409 duplicate). Then converts the orders of that currency waiting for a rate for their day
    (`convert_waiting_orders`); how many is in the audit row and on the saved row (`converted`)."""
    perms.require(actor, perms.MANAGE_CATALOG)
    row = _get(ExchangeRate, rate_id) if rate_id is not None else None
    creating = row is None
    errors: list[DomainError] = []
    currency = _text(data, "currency", errors, max_length=3, required=creating, label=_("Currency"))
    if currency:
        currency = currency.upper()
        if currency == rules.base_currency():
            errors.append(_error(ErrorCode.INVALID, _(
                "%(code)s is the base currency: its orders need no rate.") % {"code": currency}, "currency"))
        elif currency not in rules.currencies():
            errors.append(_error(ErrorCode.INVALID, _("Unknown currency %(value)s.") % {"value": currency},
                                 "currency"))
    elif not creating:
        _required_on_edit(data, "currency", currency, errors, _("Currency"))
    day = None
    if data.get("day") not in (None, ""):
        try:
            day = parse_date(data["day"], field="day")
        except DomainError as exc:
            errors.append(exc)
    elif creating or "day" in data:
        errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": _("Valid from")}, "day"))
    rate = None
    if data.get("rate") not in (None, ""):
        try:
            rate = rules.parse_rate(data["rate"], "rate")
        except DomainError as exc:
            errors.append(exc)
    elif creating or "rate" in data:
        errors.append(_error(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": _("Rate")}, "rate"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if creating:
            row = ExchangeRate()
            _sourced(row, data)
        before = None if creating else snapshot(row)
        if currency:
            row.currency = currency
        if day is not None:
            row.day = day
        if rate is not None:
            row.rate = rate
        clash = ExchangeRate.objects.filter(currency=row.currency, day=row.day).exclude(pk=row.pk)
        if clash.exists():
            raise _error(ErrorCode.DUPLICATE, _("%(code)s already has a rate for %(day)s.") % {
                "code": row.currency, "day": row.day.isoformat()}, "day")
        _save_with_audit(actor, row, before, "exchange_rate.create" if creating else "exchange_rate.update")
        row.converted = convert_waiting_orders(currency=row.currency)
        if row.converted:
            audit(actor=actor, action="exchange_rate.convert_orders", obj=row,
                  detail={"currency": row.currency, "orders": row.converted})
    return row


def delete_exchange_rate(*, actor, rate_id: int) -> None:
    """Delete a rate. Orders converted at it keep their rate (recorded sales are not re-valued)."""
    perms.require(actor, perms.MANAGE_CATALOG)
    with transaction.atomic():
        row = _get(ExchangeRate, rate_id)
        _delete(actor, row, "exchange_rate.delete", [])


# --- rows an import may create ----------------------------------------------------------------------------------


def create_missing(model, codes: Iterable[str], *, source: str, extra: dict[str, dict] | None = None) -> list:
    """Create a row of `model` (ProductCategory, Region, Branch, Unit, Channel) for each code that has none,
    named after its code, with `extra[code]` as further fields (a branch's region_id); a unit allows fractions
    when its code is a measure (rules.unit_allows_fractions). For imports whose mapping
    allows creating missing references: the caller has checked `catalog.manage` and lists the rows in the job's
    result and its batch audit row. Returns the created rows."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return []
    have = set()
    for start in range(0, len(wanted), 500):
        have.update(model.objects.filter(code__in=wanted[start:start + 500]).values_list("code", flat=True))
    sourced = any(f.name == "source" for f in model._meta.fields)
    new = []
    for code in wanted:
        if code in have:
            continue
        values = {"code": code, "name": code, **((extra or {}).get(code) or {})}
        if sourced:
            values["source"] = source[:40]
        if model is Channel and "kind" not in values:
            values["kind"] = Channel.Kind.STORE
        if model is Unit and "fractional" not in values:
            values["fractional"] = unit_allows_fractions(code)  # kg, L: a product sold by weight takes 2.345
        new.append(model(**values))
    model.objects.bulk_create(new, batch_size=500)
    if any(o.pk is None for o in new):
        by_code = {o.code: o for o in model.objects.filter(code__in=[o.code for o in new])}
        new = [by_code[o.code] for o in new]
    return new


def reference_dict(obj) -> dict[str, Any]:
    """How a created reference row is listed in an import's result: id, code (a brand's is its name), name."""
    return {"id": obj.pk, "code": getattr(obj, "code", None) or obj.name, "name": obj.name}

