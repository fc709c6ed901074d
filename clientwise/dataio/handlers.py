"""The import engine's side of a kind: rows, the handler base class, customer references and the helpers every
handler uses. The handlers themselves live with the domain that owns the rows and register their kind
(dataio/registry.py): customers and interactions in customers/imports.py; products, stores and orders in
commerce/imports/orders.py; reference data in commerce/imports/__init__.py; leads in sales/imports.py.

A handler validates a batch of rows and writes the valid ones set-based.

A handler never commits: `services.run_import` calls `process(rows)` inside one transaction per batch, then
stores the quarantine rows and the counters. Per batch a handler reads existing records with one query per
lookup (keys, references, contact points, consents) and writes with bulk_create / bulk_update, so a batch of
1,000 rows costs a handful of statements instead of thousands.

Outcomes per input row: created, updated, unchanged or rejected (with errors). Rules shared by every kind:
- a row's key is (source, external_id) or the natural key chosen for the job (member number, mobile, SKU,
  store code, order number);
- an empty cell never overwrites a stored value;
- the same key twice in one batch: an identical row is `unchanged`, a different one is rejected as
  `duplicate` (across batches the later row meets the stored record, like a re-import).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.core import permissions as perms
from clientwise.core.audit import jsonable
from clientwise.core.errors import DomainError, ErrorCode, ValidationFailed
from clientwise.core.normalize import normalize_email, normalize_phone
from clientwise.customers.errors import CustomersErrorCode
from clientwise.customers.references import Matches, match_references
from clientwise.dataio import validation as v
from clientwise.dataio.errors import DataioErrorCode
from clientwise.dataio.mapping import NATURAL_KEYS, TARGETS
from clientwise.dataio.readers import EXTRA_PREFIX, PARSE_ERROR
from clientwise.dataio.registry import HANDLERS, ImportKindSpec, register  # noqa: F401  (HANDLERS: the lookup)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(slots=True)
class Row:
    number: int
    raw: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)
    clean: dict[str, Any] = field(default_factory=dict)
    errors: list[DomainError] = field(default_factory=list)
    outcome: str = ""

    def reject(self, exc: DomainError) -> None:
        self.errors.extend(exc.errors if isinstance(exc, ValidationFailed) else [exc])
        self.outcome = "rejected"

    @property
    def ok(self) -> bool:
        return not self.errors


def make_rows(mapping: dict[str, str], numbered: list[tuple[int, dict]]) -> list[Row]:
    make = row_maker(mapping)
    return [make(number, raw) for number, raw in numbered]


def row_maker(mapping: dict[str, str]):
    """A function (row number, raw row) -> Row for this mapping (the mapped columns looked up once)."""
    pairs = [(t, h) for t, h in mapping.items() if h]

    def make(number: int, raw: dict) -> Row:
        row = Row(number=number, raw=raw)
        if PARSE_ERROR in raw:
            row.reject(DomainError(DataioErrorCode.PARSE, raw[PARSE_ERROR], None))
        else:
            get = raw.get
            row.values = {t: (get(h) or "").strip() for t, h in pairs}
        return row
    return make


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(CENT)) if value == value.quantize(CENT) else str(value)
    return value


def signature(data: dict[str, Any]) -> str:
    """A comparable text of clean values (datetimes in UTC), to tell identical rows from conflicting ones."""
    return json.dumps(jsonable({k: _canonical(val) for k, val in data.items() if not k.startswith("_")}),
                      sort_keys=True, ensure_ascii=False)


def settle_repeat(row: Row, first: str, field: str, value) -> None:
    """A row whose key an earlier row of the same file had: identical (same `signature` as `first`) is
    unchanged, different is rejected as a duplicate. Across batches the later row meets the stored record."""
    if signature(row.clean) == first:
        row.outcome = "unchanged"
    else:
        row.reject(DomainError(ErrorCode.DUPLICATE, _(
            "Another row of this file has the same %(field)s “%(value)s” with different values.") % {
            "field": field, "value": value}, field))


def _chunks(values, size: int = 900):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _in(model_qs, field_name: str, values) -> list:
    """Rows whose field is in values, queried in chunks (SQLite's variable limit)."""
    out = []
    for chunk in _chunks(values):
        out.extend(model_qs.filter(**{f"{field_name}__in": chunk}))
    return out


class Handler:
    kind = ""
    perm = ""

    def __init__(self, *, job, actor):
        self.job = job
        self.actor = actor
        self.source = job.source
        self.mapping = job.mapping
        self.options = job.options or {}
        self.now = timezone.now()
        self.summary: dict[str, list] = {"created_ids": [], "updated_ids": []}

    @classmethod
    def check_permission(cls, actor) -> None:
        perms.require(actor, perms.IMPORT)
        perms.require(actor, cls.perm)

    def can_split(self, previous: Row, following: Row) -> bool:
        """Whether a batch may end between these two rows (orders keep their lines together)."""
        return True

    def clean_field(self, row: Row, name: str, fn, *args, **kwargs):
        value = row.values.get(name, "")
        if not value:
            return None
        try:
            result = fn(value, name, *args, **kwargs)
        except DomainError as exc:
            row.errors.append(exc)
            return None
        row.clean[name] = result
        return result

    def require(self, row: Row, name: str, label) -> None:
        if not row.values.get(name):
            row.errors.append(DomainError(ErrorCode.REQUIRED, _("%(label)s is required.") % {"label": label}, name))

    def process(self, rows: list[Row]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def plan_for(mapping: dict[str, str], checks) -> list[tuple[str, Any, dict, int | None]]:
    """The checks (field, function, keyword arguments) of the mapped fields, in order, each with the length a
    v.text check allows (so the common case, text short enough, needs no call)."""
    return [(name, fn, kwargs, kwargs["max_length"] if fn is v.text else None)
            for name, fn, kwargs in checks if mapping.get(name)]


def run_plan(plan, values: dict[str, str], clean: dict[str, Any], errors: list) -> None:
    """What clean_field does for each planned field: the function's result into clean, its error into errors."""
    for name, fn, kwargs, max_length in plan:
        value = values.get(name)
        if value:
            if max_length is not None and len(value) <= max_length:
                clean[name] = value
                continue
            try:
                clean[name] = fn(value, name, **kwargs)
            except DomainError as exc:
                errors.append(exc)


# --- customers ----------------------------------------------------------------------------------------------

def _cid(target) -> int:
    return target.clean["_customer_id"] if isinstance(target, Row) else target.pk


def _pairs(qs, field_name: str, values, other: str) -> list[tuple]:
    out = []
    for chunk in _chunks(values):
        out += list(qs.filter(**{f"{field_name}__in": chunk}).values_list(field_name, other))
    return out


# --- products and stores ------------------------------------------------------------------------------------


def _phone(value: str, field: str) -> str:
    return normalize_phone(value, field=field)


def _email(value: str, field: str) -> str:
    return normalize_email(value, field=field)


class CustomerRefs:
    """Resolve customer_external_id / customer_member_number / customer_mobile to visible customers, per batch."""

    FIELDS = ("customer_external_id", "customer_member_number", "customer_mobile")

    def __init__(self, handler: Handler):
        self.h = handler
        self.plan = plan_for(handler.mapping, [("customer_external_id", v.text, {"max_length": 100}),
                                               ("customer_member_number", v.text, {"max_length": 40}),
                                               ("customer_mobile", _phone, {})])
        self.mapped = [f for f in self.FIELDS if handler.mapping.get(f)]  # the others are never in row.values

    def clean(self, row: Row) -> None:
        if not self.given(row):
            return
        run_plan(self.plan, row.values, row.clean, row.errors)

    def given(self, row: Row) -> bool:
        """Whether the row names a customer; adds the `required` error when it does not."""
        values = row.values
        for f in self.mapped:
            if values.get(f):
                return True
        row.errors.append(DomainError(ErrorCode.REQUIRED, _("Which customer? Give an external id, member number "
                                                            "or mobile."), "customer_external_id"))
        return False

    def matches(self, *, external_ids=(), member_numbers=(), mobiles=()) -> Matches:
        """The customers a batch's (clean) references name, set-wise (customers.references)."""
        return match_references(self.h.actor, source=self.h.source, external_ids=external_ids,
                                member_numbers=member_numbers, mobiles=mobiles)

    @staticmethod
    def answer(found: Matches, name: str, value: str, text: str) -> int | DomainError:
        """The customer a reference names (field `name`, clean `value`, as given `text`), or why it names none:
        not found (or not visible to the importer), a mobile shared by several visible customers, archived."""
        if name == "customer_external_id":
            cid = found.by_external_id.get(value)
        elif name == "customer_member_number":
            cid = found.by_member_number.get(value)
        else:
            hits = {c for c in found.by_mobile.get(value, ()) if c in found.visible}
            if len(hits) > 1:
                return DomainError(DataioErrorCode.AMBIGUOUS, _("%(n)s customers have this mobile.") % {
                    "n": len(hits)}, name)
            cid = next(iter(hits), None)
        if cid is None or cid not in found.visible:
            return DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No customer “%(value)s”.") % {"value": text}, name)
        if found.visible[cid] is not None:
            return DomainError(CustomersErrorCode.CUSTOMER_ARCHIVED, _("This customer is archived; restore it first."),
                               name)
        return cid

    def resolve(self, rows: list[Row]) -> None:
        """Set row.clean['customer_id'] or reject the row."""
        found = self.matches(
            external_ids={r.clean["customer_external_id"] for r in rows if r.clean.get("customer_external_id")},
            member_numbers={r.clean["customer_member_number"] for r in rows if r.clean.get("customer_member_number")},
            mobiles={r.clean["customer_mobile"] for r in rows if r.clean.get("customer_mobile")})
        for row in rows:
            if not row.ok:
                continue
            name = next((f for f in self.FIELDS if row.clean.get(f)), "customer_mobile")
            answer = self.answer(found, name, row.clean.get(name), row.values.get(name))
            if type(answer) is int:
                row.clean["customer_id"] = answer
            else:
                row.reject(answer)


# --- orders -------------------------------------------------------------------------------------------------


def key_for(kind: str, mapping: dict[str, str], options: dict | None) -> str:
    """The field rows upsert on: the one chosen in the options, else the first natural key that is mapped."""
    chosen = (options or {}).get("key")
    if chosen:
        return chosen
    for name in NATURAL_KEYS[kind]:
        if mapping.get(name):
            return name
    return NATURAL_KEYS[kind][0]


def error_dicts(row: Row) -> list[dict[str, Any]]:
    return [{"field": e.field or "", "code": e.code, "message": e.message} for e in row.errors]


def target_fields(kind: str) -> list[str]:
    return [t.name for t in TARGETS[kind]]


def visible_extra(raw: dict) -> dict:
    return {k: val for k, val in raw.items() if not k.startswith(EXTRA_PREFIX)}


