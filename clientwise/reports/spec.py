"""A report is a typed, versioned spec: `PivotSpec`, stored as JSON and brought up to date by `upgrade()` on load.

    {"kind": "pivot", "version": 1, "fact": "sales",
     "measures": ["revenue", "buyers"], "rows": ["region", "category"], "columns": ["order_month"],
     "filters": [{"dimension": "channel", "op": "in", "values": [1, 2]}],
     "date_from": "2025-01-01", "date_to": "2025-12-31",
     "subtotals": true, "totals": true, "sort": {"by": "revenue", "desc": true},
     "top_n": {"dimension": "region", "n": 5, "by": "revenue", "others": true},
     "percent_of": "grand", "compare": "previous_year", "engine": "auto"}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Literal

from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clientwise.core.errors import DomainError, ErrorCode, ValidationFailed

SPEC_VERSION = 1
# A filter value meaning "the user running the report" (their user id): one shared report shows each agent their own
# tickets ({"dimension": "ticket_assignee", "values": ["@me"]}). Replaced before the cache key is taken.
ME = "@me"
MAX_DIMENSIONS = 6
MAX_MEASURES = 8

FilterValue = str | int | float | bool | None


class Filter(BaseModel):
    """Keep rows whose dimension value (its key, e.g. a store id) is / is not one of `values`."""

    model_config = ConfigDict(extra="forbid")

    dimension: str
    op: Literal["in", "not_in"] = "in"
    values: list[FilterValue] = Field(min_length=1, max_length=1000)


class Sort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str  # a measure id (rows ordered by their total) or "label" (by the dimension values)
    desc: bool = True


class TopN(BaseModel):
    """Keep the `n` members of `dimension` with the highest `by`; the rest become one "Others" member (or are
    dropped when `others` is false). Ranked over everything the filters keep."""

    model_config = ConfigDict(extra="forbid")

    dimension: str
    n: int = Field(ge=1, le=1000)
    by: str
    others: bool = True


class PivotSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["pivot"] = "pivot"
    version: int = SPEC_VERSION
    fact: str = "sales"
    measures: list[str] = Field(min_length=1, max_length=MAX_MEASURES)
    rows: list[str] = Field(default_factory=list, max_length=MAX_DIMENSIONS)
    columns: list[str] = Field(default_factory=list, max_length=MAX_DIMENSIONS)
    filters: list[Filter] = Field(default_factory=list, max_length=20)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    last_days: int | None = Field(default=None, ge=1, le=3660)  # a rolling range ending today (dashboards)
    subtotals: bool = False
    totals: bool = True
    sort: Sort | None = None
    top_n: TopN | None = None
    percent_of: Literal["grand", "row", "column"] | None = None
    compare: Literal["previous_period", "previous_year"] | None = None
    engine: Literal["auto", "snapshot", "database"] = "auto"

    @field_validator("measures", "rows", "columns")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("listed twice")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> PivotSpec:
        if set(self.rows) & set(self.columns):
            raise ValueError("a dimension cannot be on rows and columns at once")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        if self.last_days and (self.date_from or self.date_to):
            raise ValueError("give either last_days or date_from/date_to")
        if self.compare and not (self.date_from and self.date_to) and not self.last_days:
            raise ValueError("a comparison needs date_from and date_to")
        if self.top_n and self.top_n.dimension not in self.rows + self.columns:
            raise ValueError("top_n applies to a dimension on rows or columns")
        if self.top_n and self.top_n.by not in self.measures:
            raise ValueError("top_n ranks by one of the report's measures")
        if self.sort and self.sort.by != "label" and self.sort.by not in self.measures:
            raise ValueError("sort by 'label' or one of the report's measures")
        return self

    def resolved(self, today: dt.date | None = None) -> PivotSpec:
        """The spec with `last_days` turned into dates (today in the local time zone)."""
        if not self.last_days:
            return self

        today = today or timezone.localdate()
        return self.model_copy(update={"date_from": today - dt.timedelta(days=self.last_days - 1),
                                       "date_to": today, "last_days": None})

    def for_user(self, user) -> PivotSpec:
        """The spec with every ME filter value replaced by `user`'s id (nobody's for a user without one)."""
        if not any(ME in f.values for f in self.filters):
            return self
        pk = getattr(user, "pk", None)
        me = pk if pk is not None else -1
        filters = [f.model_copy(update={"values": [me if v == ME else v for v in f.values]}) for f in self.filters]
        return self.model_copy(update={"filters": filters})

    def dimension_ids(self) -> list[str]:
        return [*self.rows, *self.columns]

    def cache_key(self) -> str:
        raw = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored spec up to SPEC_VERSION. Version 1 is the first; later versions add steps here (never
    rewrite old ones), so reports saved years ago keep opening."""
    data = dict(data or {})
    data.setdefault("kind", "pivot")
    data.setdefault("version", SPEC_VERSION)
    if data["version"] > SPEC_VERSION:
        raise DomainError(ErrorCode.INVALID, "This report was saved by a newer version of Clientwise.", "version")
    return data


def parse_spec(data: dict[str, Any] | PivotSpec) -> PivotSpec:
    """A PivotSpec from JSON (upgraded first); ValidationFailed naming each bad field otherwise."""
    if isinstance(data, PivotSpec):
        return data
    if not isinstance(data, dict):
        raise ValidationFailed([DomainError(ErrorCode.INVALID, "A report spec is a JSON object.", "spec")])
    try:
        return PivotSpec.model_validate(upgrade(data))
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ())) or "spec"
            errors.append(DomainError(ErrorCode.INVALID, f"{loc}: {err.get('msg', 'invalid')}", loc))
        raise ValidationFailed(errors) from None
