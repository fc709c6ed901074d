"""Template helpers for the customer pages."""

from __future__ import annotations

from django import forms, template

register = template.Library()

KIND_ICONS = {
    "call": "telephone", "visit": "geo-alt", "email": "envelope", "sms": "chat-text", "wechat": "wechat",
    "note": "sticky", "purchase": "bag-check", "return": "arrow-return-left", "profile": "person-gear",
    "consent": "shield-check", "ticket": "life-preserver", "campaign": "megaphone", "points": "stars",
    "merge": "intersect", "lead": "funnel", "opp": "briefcase", "task": "check2-square", "account": "building",
    "survey": "emoji-smile", "workorder": "tools",
}
CONTACT_ICONS = {"mobile": "phone", "landline": "telephone", "email": "envelope", "wechat": "wechat",
                 "address": "house"}


@register.filter
def kind_icon(kind: str) -> str:
    return KIND_ICONS.get(kind, "dot")


@register.filter
def contact_icon(kind: str) -> str:
    return CONTACT_ICONS.get(kind, "dot")


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def changes(row) -> list[tuple[str, object, object]]:
    """(field, before, after) triples of an audit row (already masked by the view)."""
    before, after = row.get("before") or {}, row.get("after") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    keys = list(dict.fromkeys([*after.keys(), *before.keys()]))
    out = []
    for k in keys:
        old, new = before.get(k, ""), after.get(k, "")
        if k in NOISE_KEYS or (old in ("", None, {}, []) and new in ("", None, {}, [])):
            continue
        out.append((k, old, new))
    return out[:12]


NOISE_KEYS = {"id", "customer_id", "source", "external_id", "value_normalized", "name_pinyin", "name_initials"}


@register.filter
def add_class(field, extra: str = ""):
    """Render a bound field with the Bootstrap class its widget needs (plus `extra`)."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        base = "form-check-input"
    elif isinstance(widget, forms.Select):
        base = "form-select form-select-sm"
    else:
        base = "form-control form-control-sm"
    css = " ".join(c for c in (base, extra) if c)
    return field.as_widget(attrs={"class": css})


@register.filter
def phone(value: str) -> str:
    """+8613812345678 → 138 1234 5678 for reading; masked and foreign numbers are left as they are."""
    if isinstance(value, str) and value.startswith("+86") and len(value) == 14 and value[3:].isdigit():
        d = value[3:]
        return f"{d[:3]} {d[3:7]} {d[7:]}"
    return value
