"""Pure rules of marketing, shared by the services, the API and the pages: the audience rule's shape and checks,
the frequency cap and quiet hours in a customer's time zone, the idempotency key, splitting treated customers
into variants.

An audience rule is the report engine's filter spec on the `customers` fact (reports.spec.Filter: a dimension the
pivot engine knows, `in` / `not_in` its values — city, urban/rural, value tier, RFM segment, owner, team, custom
attributes, own-label score bands…) plus what that spec cannot express: number ranges on scores and purchase
totals, tags, consent, and "bought a product or category within N days". One rule language, no second filter
language for what reports already filter:

    {"filters": [{"dimension": "customer_urban_rural", "op": "in", "values": ["rural"]}],
     "numbers": [{"field": "churn_probability", "op": "gte", "value": 0.5}],
     "tags_any": [3], "tags_none": [], "consent": ["sms"],
     "bought": {"products": [], "categories": [12], "within_days": 90, "negate": true}}
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clientwise.core.errors import DomainError, ValidationFailed
from clientwise.marketing.errors import MarketingErrorCode
from clientwise.reports.spec import Filter

RULE_VERSION = 1

# Number fields a rule may bound: where each lives (scores of the current batch, or the purchase totals) is the
# compiler's business (queries.NUMBER_SQL); whether reading it needs analytics.view is said here.
NUMBER_FIELDS = {
    "churn_probability": "scores",
    "clv": "scores",
    "p_alive": "scores",
    "next_purchase_days": "scores",  # days from today to the predicted next purchase
    "orders": "stats",
    "revenue": "stats",
    "days_since_last_order": "stats",
}
CONSENT_CHANNELS = ("sms", "email", "phone", "wechat", "mail", "app")


class NumberCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: Literal["churn_probability", "clv", "p_alive", "next_purchase_days", "orders", "revenue",
                   "days_since_last_order"]
    op: Literal["gte", "lte"]
    value: float = Field(ge=-1e12, le=1e12)


class BoughtCondition(BaseModel):
    """Customers who bought (or, with `negate`, did not buy) one of the products, or anything in one of the
    categories (and their sub-categories), in a completed order within the last `within_days` days."""

    model_config = ConfigDict(extra="forbid")

    products: list[int] = Field(default_factory=list, max_length=500)
    categories: list[int] = Field(default_factory=list, max_length=200)
    within_days: int = Field(ge=1, le=3660)
    negate: bool = False

    @model_validator(mode="after")
    def _something(self) -> BoughtCondition:
        if not self.products and not self.categories:
            raise ValueError("name at least one product or category")
        return self


class AudienceRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = RULE_VERSION
    filters: list[Filter] = Field(default_factory=list, max_length=20)
    numbers: list[NumberCondition] = Field(default_factory=list, max_length=10)
    tags_any: list[int] = Field(default_factory=list, max_length=100)
    tags_none: list[int] = Field(default_factory=list, max_length=100)
    consent: list[Literal["sms", "email", "phone", "wechat", "mail", "app"]] = Field(default_factory=list,
                                                                                     max_length=6)
    bought: BoughtCondition | None = None

    @field_validator("tags_any", "tags_none")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(v < 1 for v in value):
            raise ValueError("tag ids are positive")
        return sorted(set(value))

    def uses_scores(self) -> bool:
        return any(NUMBER_FIELDS[n.field] == "scores" for n in self.numbers)

    def is_empty(self) -> bool:
        return not (self.filters or self.numbers or self.tags_any or self.tags_none or self.consent or self.bought)


def parse_rule(data) -> AudienceRule:
    """An AudienceRule from JSON; ValidationFailed naming each bad part (code invalid_audience_rule) otherwise."""
    if isinstance(data, AudienceRule):
        return data
    if data in (None, ""):
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed([DomainError(MarketingErrorCode.INVALID_RULE, "An audience rule is a JSON object.",
                                            "rule")])
    if int(data.get("version") or RULE_VERSION) > RULE_VERSION:
        raise ValidationFailed([DomainError(MarketingErrorCode.INVALID_RULE,
                                            "This rule was saved by a newer version of Clientwise.", "rule.version")])
    try:
        return AudienceRule.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in ("rule", *err.get("loc", ())))
            errors.append(DomainError(MarketingErrorCode.INVALID_RULE, f"{loc}: {err.get('msg', 'invalid')}", loc))
        raise ValidationFailed(errors) from None


# ----- identity of a message -------------------------------------------------------------------------------------


def idempotency_key(campaign_id: int, customer_id: int, variant_id: int | None) -> str:
    """The key a message carries to the provider: one message per (campaign, customer, variant), ever."""
    return f"cw-c{campaign_id}-u{customer_id}-v{variant_id or 0}"


# ----- time zones, caps and quiet hours --------------------------------------------------------------------------


def zone(name: str | None, default: str) -> ZoneInfo:
    """The customer's time zone: their `time_zone` custom attribute when it names an IANA zone, else the site's."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(str(candidate))
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def parse_quiet_hours(text: str) -> tuple[dt.time, dt.time] | None:
    """"21:00-08:00" → (21:00, 08:00); "" → None (no quiet hours). ValueError when malformed."""
    text = (text or "").strip()
    if not text:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours look like 21:00-08:00, not {text!r}")
    return dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())


def quiet_until(now: dt.datetime, tz: ZoneInfo, quiet: tuple[dt.time, dt.time] | None) -> dt.datetime | None:
    """When `now` falls in the quiet hours of the customer's local clock: the (UTC) moment they end; else None.
    A window that crosses midnight (21:00-08:00) ends the next morning."""
    if quiet is None:
        return None
    start, end = quiet
    if start == end:
        return None
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= t < end
        end_day = local.date()
    else:
        inside = t >= start or t < end
        end_day = local.date() + dt.timedelta(days=1) if t >= start else local.date()
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=tz).astimezone(dt.UTC)


def cap_windows(now: dt.datetime, tz: ZoneInfo) -> tuple[tuple[dt.datetime, dt.datetime], tuple[dt.datetime,
                                                                                               dt.datetime]]:
    """The customer's local day and local week (Monday to Sunday) around `now`, as UTC [start, end) pairs: the
    frequency caps count the messages sent to the customer in each, across campaigns."""
    local = now.astimezone(tz)
    day = local.date()
    day_start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    monday = day - dt.timedelta(days=day.weekday())
    week_start = dt.datetime.combine(monday, dt.time(), tzinfo=tz)
    week_end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tzinfo=tz)
    return ((day_start.astimezone(dt.UTC), day_end.astimezone(dt.UTC)),
            (week_start.astimezone(dt.UTC), week_end.astimezone(dt.UTC)))


def capped(sent_times: list[dt.datetime], now: dt.datetime, tz: ZoneInfo, *, per_day: int, per_week: int) -> bool:
    """Whether one more message now would exceed the cap: `per_day` in the customer's local day or `per_week` in
    their local week (0: no cap of that kind)."""
    (d0, d1), (w0, w1) = cap_windows(now, tz)
    if per_day and sum(1 for t in sent_times if d0 <= t < d1) >= per_day:
        return True
    return bool(per_week and sum(1 for t in sent_times if w0 <= t < w1) >= per_week)


# ----- variants ----------------------------------------------------------------------------------------------------


def variant_shares(weights: list[int]) -> list[float]:
    """The conditional shares that split treated customers into variants one after another: variant i takes
    w_i / (w_i + … + w_k) of those the earlier variants left (the last takes the rest, share 1)."""
    shares = []
    for i, w in enumerate(weights):
        rest = sum(weights[i:])
        shares.append(1.0 if i == len(weights) - 1 or rest <= 0 else w / rest)
    return shares
