"""Template helpers for commerce pages."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

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
