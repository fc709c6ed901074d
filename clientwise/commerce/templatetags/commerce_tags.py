"""Template helpers for commerce pages."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django import template
from django.urls import NoReverseMatch, reverse

from clientwise.core.templatetags.cw import money

register = template.Library()


@register.filter
def customer_url(customer_id) -> str:
    """The customer 360 page, or "" while the customers app has no such page (the name is shown unlinked)."""
    if not customer_id:
        return ""
    try:
        return reverse("customers:detail", args=[customer_id])
    except NoReverseMatch:
        return ""


@register.filter
def status_class(status: str) -> str:
    return {"completed": "text-bg-success", "cancelled": "text-bg-secondary"}.get(status, "text-bg-light")


@register.filter
def pct(part, whole) -> str:
    """Share of `whole` as a percentage with one decimal, or "" when whole is zero."""
    try:
        if not whole:
            return ""
        return f"{float(part) / float(whole) * 100:.1f}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def store_location(store) -> str:
    """“上海 徐汇区” rather than “上海 上海 徐汇区”: province, city and district without repeats."""
    parts: list[str] = []
    for part in (store.province, store.city, store.district):
        if part and part not in parts:
            parts.append(part)
    return " ".join(parts)


@register.filter
def qty(value, style: str = "") -> str:
    """A line quantity as people write it: 2, 35.27, 1,000 (NUMERIC(14,3) without its trailing zeros); `qty:"plain"`
    without the thousands separator (an input's value or max)."""
    if value in (None, ""):
        return ""
    text = f"{Decimal(value):{'' if style == 'plain' else ','}.3f}".rstrip("0").rstrip(".")
    return text or "0"


@register.filter
def unit_money(value, currency: str | None = None) -> str:
    """A unit price with its four decimals when it has them: ¥1.6667, ¥3,999.00."""
    if value in (None, ""):
        return ""
    exact = Decimal(value).quantize(Decimal("0.0001"))
    if exact == exact.quantize(Decimal("0.01")):
        return money(exact, currency)
    head = money(exact.quantize(Decimal("0.01"), rounding=ROUND_DOWN), currency)
    return head + f"{exact:.4f}"[-2:].rstrip("0")
