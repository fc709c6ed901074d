"""Commerce's import kinds for reference data: categories, brands, regions, branches, channels, units and exchange
rates.

Registered with dataio's import engine (dataio/registry.py) from CommerceConfig.ready(), so they work wherever
a kind does: the upload page, the entry grid, `POST /api/v1/imports`, `clientwise import categories FILE`,
mapping templates, preview, quarantine and replay.

Reference tables are small (hundreds or thousands of rows), so each row goes through the same service a page
or the API calls (commerce/reference.py): one set of rules for codes, names, parents and cycles, and one audit
row per change. A row is matched on its code (a brand on its name) or on (source, external_id); an empty cell
never overwrites a stored value; a row whose values are already stored is `unchanged` and writes nothing.
References to other rows are by code: a category's parent, a branch's region. A parent must exist or come
earlier in the file; otherwise the row is quarantined with `unknown_reference` (replay it after its parent is in),
unless the mapping's option `create_missing` is on, which creates the missing region of a branch (listed in
the job's result).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clientwise.commerce import reference, rules
from clientwise.commerce.models import Branch, Brand, Channel, ExchangeRate, ProductCategory, Region, Unit
from clientwise.commerce.services import _int
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.normalize import parse_date
from clientwise.dataio import validation as v
from clientwise.dataio.handlers import Handler, Row, key_for, settle_repeat, signature
from clientwise.dataio.mapping import Target
from clientwise.dataio.registry import ImportKindSpec, register

CHANNEL_KINDS = {"store": "store", "门店": "store", "线下": "store", "web": "web", "online": "web", "官网": "web",
                 "线上": "web", "电商": "web", "phone": "phone", "电话": "phone", "partner": "partner",
                 "合作伙伴": "partner", "经销商": "partner", "app": "app", "小程序": "app"}

def whole_days(value: str, field: str) -> int:
    """A number of days: the rule the category service applies to cycle_days."""
    errors: list[DomainError] = []
    days = _int(value, field, errors, label=_("Cycle (days)"))
    if errors:
        raise errors[0]
    return days


CODE = ("code", "编码", "代码", "编号")
NAME = ("name", "名称")
EXTERNAL = Target("external_id", gettext_lazy("External id"), ("external id", "id", "外部编号"))


class ReferenceHandler(Handler):
    """One kind of reference row, written row by row through its service in commerce/reference.py."""

    perm = perms.MANAGE_CATALOG
    model: Any = None
    # (field, check, keyword arguments) of the row's own values, in the order errors are listed
    checks: tuple[tuple[str, Any, dict], ...] = ()
    # field → (model, service field) of references by code
    refs: dict[str, tuple[Any, str]] = {}
    id_arg = ""

    def __init__(self, *, job, actor):
        super().__init__(job=job, actor=actor)
        self.key = key_for(job.kind, job.mapping, job.options)
        self.create_missing = bool(self.options.get("create_missing"))

    def save(self, *, data: dict, pk: int | None):  # pragma: no cover - abstract
        raise NotImplementedError

    def find(self, key_value: str):
        if self.key == "external_id":
            return self.model.objects.filter(source=self.source, external_id=key_value).first()
        if self.key == "name":
            return self.model.objects.filter(name__iexact=key_value).first()
        return self.model.objects.filter(**{self.key: key_value}).first()

    def resolve(self, row: Row, name: str, code: str, data: dict) -> None:
        model, service_field = self.refs[name]
        target = model.objects.filter(code=code).first()
        if target is None and self.create_missing and model is Region:
            target = reference.create_missing(Region, [code], source=self.source)[0]
            self.note_created("regions", target)
        if target is None:
            row.errors.append(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No %(field)s with code %(value)s.") % {
                "field": name, "value": code}, name))
            return
        data[service_field] = target.pk

    def note_created(self, kind: str, obj) -> None:
        self.summary.setdefault("created_references", {}).setdefault(kind, []).append(reference.reference_dict(obj))

    def process(self, rows: list[Row]) -> None:
        self.summary = {"created_ids": [], "updated_ids": [], "created_references": {}}
        seen: dict[str, str] = {}
        for row in rows:
            if not row.ok:
                continue
            for name, fn, kwargs in self.checks:
                self.clean_field(row, name, fn, **kwargs)
            if row.ok and not row.clean.get(self.key):
                row.errors.append(DomainError(ErrorCode.REQUIRED, _("%(field)s is required.") % {"field": self.key},
                                              self.key))
            if not row.ok:
                row.outcome = "rejected"
                continue
            # The same key twice in one file: an identical row is unchanged, a different one a duplicate.
            key = row.clean[self.key].lower() if self.key == "name" else row.clean[self.key]
            if key in seen:
                settle_repeat(row, seen[key], self.key, row.clean[self.key])
                continue
            seen[key] = signature(row.clean)
            data = {k: val for k, val in row.clean.items() if k not in self.refs}
            for name in self.refs:
                if row.clean.get(name):
                    self.resolve(row, name, row.clean[name], data)
            if not row.ok:
                row.outcome = "rejected"
                continue
            obj = self.find(row.clean[self.key])
            if obj is not None:
                data.pop("external_id", None)
                changed = {k: val for k, val in data.items() if not self.same(obj, k, val)}
                if not changed:
                    row.outcome = "unchanged"
                    continue
                data = changed
            else:
                data.setdefault("source", self.source)
            try:
                saved = self.save(data=data, pk=obj.pk if obj is not None else None)
            except DomainError as exc:
                row.reject(exc)
                continue
            row.outcome = "created" if obj is None else "updated"
            self.summary["created_ids" if obj is None else "updated_ids"].append(saved.pk)

    @staticmethod
    def same(obj, key: str, value) -> bool:
        return getattr(obj, key, None) == value


class CategoryHandler(ReferenceHandler):
    kind = "categories"
    model = ProductCategory
    checks = (("code", v.code, {"max_length": 30}), ("name", v.text, {"max_length": 100}),
              ("external_id", v.text, {"max_length": 100}), ("parent", v.code, {"max_length": 30}),
              ("replenishable", v.yes_no, {}), ("cycle_days", whole_days, {}))
    refs = {"parent": (ProductCategory, "parent_id")}

    def save(self, *, data, pk):
        return reference.save_category(actor=self.actor, data=data, category_id=pk)


class BrandHandler(ReferenceHandler):
    kind = "brands"
    model = Brand
    checks = (("name", v.text, {"max_length": 60}), ("external_id", v.text, {"max_length": 100}),
              ("active", v.yes_no, {}))

    def save(self, *, data, pk):
        return reference.save_brand(actor=self.actor, data=data, brand_id=pk)


class RegionHandler(ReferenceHandler):
    kind = "regions"
    model = Region
    checks = (("code", v.code, {"max_length": 20}), ("name", v.text, {"max_length": 100}),
              ("external_id", v.text, {"max_length": 100}))

    def save(self, *, data, pk):
        return reference.save_region(actor=self.actor, data=data, region_id=pk)


class BranchHandler(ReferenceHandler):
    kind = "branches"
    model = Branch
    checks = (("code", v.code, {"max_length": 20}), ("name", v.text, {"max_length": 100}),
              ("external_id", v.text, {"max_length": 100}), ("region", v.code, {"max_length": 20}))
    refs = {"region": (Region, "region_id")}

    def save(self, *, data, pk):
        return reference.save_branch(actor=self.actor, data=data, branch_id=pk)


class ChannelHandler(ReferenceHandler):
    kind = "channels"
    model = Channel
    checks = (("code", v.code, {"max_length": 20}), ("name", v.text, {"max_length": 100}),
              ("kind", v.choice, {"table": CHANNEL_KINDS}))

    def save(self, *, data, pk):
        return reference.save_channel(actor=self.actor, data=data, channel_id=pk)


class UnitHandler(ReferenceHandler):
    kind = "units"
    model = Unit
    checks = (("code", v.code, {"max_length": 20}), ("name", v.text, {"max_length": 60}),
              ("fractional", v.yes_no, {}), ("active", v.yes_no, {}))

    def save(self, *, data, pk):
        return reference.save_unit(actor=self.actor, data=data, unit_id=pk)


class ExchangeRateHandler(Handler):
    """A rate per currency and day, matched on (currency, day): a file of daily or monthly rates goes in again
    unchanged, a changed rate updates its row. Rows go through `reference.save_exchange_rate` (the page's and the
    API's rules, an audit row each), which converts the orders that were waiting for the rate."""

    kind = "exchange_rates"
    perm = perms.MANAGE_CATALOG
    checks = (("currency", v.code, {"max_length": 3}), ("day", lambda value, f: parse_date(value, field=f), {}),
              ("rate", lambda value, f: rules.parse_rate(value, f), {}), ("external_id", v.text, {"max_length": 100}))

    def process(self, rows: list[Row]) -> None:
        self.summary = {"created_ids": [], "updated_ids": [], "created_references": {}}
        seen: dict[str, str] = {}
        for row in rows:
            if not row.ok:
                continue
            self.require(row, "currency", _("Currency"))
            self.require(row, "day", _("Valid from"))
            self.require(row, "rate", _("Rate"))
            for name, fn, kwargs in self.checks:
                self.clean_field(row, name, fn, **kwargs)
            if not row.ok:
                row.outcome = "rejected"
                continue
            currency, day, rate = row.clean["currency"].upper(), row.clean["day"], row.clean["rate"]
            key = f"{currency} {day.isoformat()}"
            if key in seen:  # the same currency and day twice in one file
                settle_repeat(row, seen[key], "day", key)
                continue
            seen[key] = signature(row.clean)
            existing = ExchangeRate.objects.filter(currency=currency, day=day).first()
            if existing is not None and existing.rate == rate:
                row.outcome = "unchanged"
                continue
            data: dict[str, Any] = {"currency": currency, "day": day, "rate": rate}
            if existing is None:
                data.update(source=self.source, external_id=row.clean.get("external_id") or None)
            try:
                saved = reference.save_exchange_rate(actor=self.actor, data=data,
                                                     rate_id=existing.pk if existing is not None else None)
            except DomainError as exc:
                row.reject(exc)
                continue
            row.outcome = "created" if existing is None else "updated"
            self.summary["created_ids" if existing is None else "updated_ids"].append(saved.pk)


KINDS = (
    ImportKindSpec("categories", gettext_lazy("Product categories"), CategoryHandler, (
        Target("code", gettext_lazy("Category code"), ("category code", "品类编码", "类别编码", "分类编码", *CODE), required=True),
        Target("name", gettext_lazy("Name"), ("category name", "category", "品类", "品类名称", "类别", "分类", *NAME),
               required=True),
        EXTERNAL,
        Target("parent", gettext_lazy("Parent category code"), ("parent", "parent code", "parent category", "上级品类",
                                                        "上级编码", "父类", "大类编码")),
        Target("replenishable", gettext_lazy("Replenishable"), ("replenishable", "consumable", "复购", "消耗品", "可复购")),
        Target("cycle_days", gettext_lazy("Typical cycle (days)"), ("cycle days", "cycle", "复购周期", "周期天数", "周期")),
    ), ("code", "external_id"), order=20),
    ImportKindSpec("brands", gettext_lazy("Brands"), BrandHandler, (
        Target("name", gettext_lazy("Brand"), ("brand", "brand name", "品牌", "品牌名称", *NAME), required=True),
        EXTERNAL,
        Target("active", gettext_lazy("Active"), ("active", "启用")),
    ), ("name", "external_id"), order=21),
    ImportKindSpec("regions", gettext_lazy("Regions"), RegionHandler, (
        Target("code", gettext_lazy("Region code"), ("region code", "大区编码", "区域编码", *CODE), required=True),
        Target("name", gettext_lazy("Name"), ("region name", "region", "大区", "区域", "大区名称", "区域名称", *NAME),
               required=True),
        EXTERNAL,
    ), ("code", "external_id"), order=22),
    ImportKindSpec("branches", gettext_lazy("Branches"), BranchHandler, (
        Target("code", gettext_lazy("Branch code"), ("branch code", "分公司编码", "分部编码", *CODE), required=True),
        Target("name", gettext_lazy("Name"), ("branch name", "branch", "分公司", "分公司名称", "分部", *NAME), required=True),
        EXTERNAL,
        Target("region", gettext_lazy("Region code"), ("region", "region code", "大区编码", "区域编码", "大区", "区域")),
    ), ("code", "external_id"), order=23),
    ImportKindSpec("channels", gettext_lazy("Channels"), ChannelHandler, (
        Target("code", gettext_lazy("Channel code"), ("channel code", "渠道编码", *CODE), required=True),
        Target("name", gettext_lazy("Name"), ("channel name", "channel", "渠道", "渠道名称", *NAME), required=True),
        Target("kind", gettext_lazy("Kind"), ("kind", "type", "类型", "渠道类型"), required=True),
    ), ("code",), order=24),
    ImportKindSpec("units", gettext_lazy("Units"), UnitHandler, (
        Target("code", gettext_lazy("Unit code"), ("unit code", "unit", "单位编码", "单位", *CODE), required=True),
        Target("name", gettext_lazy("Name"), ("unit name", "单位名称", *NAME), required=True),
        Target("fractional", gettext_lazy("Fractions allowed"), ("fractional", "fractions allowed", "decimal", "可拆零",
                                                         "允许小数", "称重")),
        Target("active", gettext_lazy("Active"), ("active", "启用")),
    ), ("code",), order=25),
    ImportKindSpec("exchange_rates", gettext_lazy("Exchange rates"), ExchangeRateHandler, (
        Target("currency", gettext_lazy("Currency"), ("currency", "currency code", "币种", "货币", "币别"), required=True),
        Target("day", gettext_lazy("Valid from"), ("day", "date", "valid from", "日期", "生效日期", "汇率日期"),
               required=True),
        Target("rate", gettext_lazy("Rate"), ("rate", "exchange rate", "汇率", "折算率"), required=True),
        EXTERNAL,
    ), ("currency",), order=26),
)


def register_kinds() -> None:
    for spec in KINDS:
        register(spec)
