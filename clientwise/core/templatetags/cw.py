"""Template helpers used on every page: money, PII masking by the viewer's rights, query-string edits."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.utils.translation import get_language

from clientwise.core import audit_display, labels, masking, scheduler
from clientwise.core import permissions as perms

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}


@register.filter
def money(value, currency: str | None = None) -> str:
    """¥1,234.50 (grouped, two places). Empty for None."""
    if value in (None, ""):
        return ""
    symbol = CURRENCY_SYMBOLS.get(currency or settings.CURRENCY, (currency or settings.CURRENCY) + " ")
    # Grouped by thousands with "," in every language: Django's zh-Hans format has no thousands separator,
    # but Chinese business documents write ¥34,707.79.
    return f"{symbol}{Decimal(value).quantize(Decimal('0.01')):,}"


@register.simple_tag(takes_context=True)
def pii(context, value, kind: str = "mobile") -> str:
    """The value itself for users with view_pii, else its masked form (138****5678)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is not None and perms.can_view_pii(user):
        return value or ""
    return masking.mask_contact(kind, value)


@register.simple_tag(takes_context=True)
def querystring_with(context, **changes) -> str:
    """The current query string with some keys replaced (None or '' removes a key)."""
    request = context["request"]
    params = request.GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def page_url(context, cursor: str, base: str = "") -> str:
    """The link to another page of a keyset-paged list: `base` (a URL, maybe with a query string) with the cursor
    added, or without a base the current query string with its cursor replaced."""
    if not base:
        return querystring_with(context, cursor=cursor)
    sep = "" if base.endswith(("?", "&")) else ("&" if "?" in base else "?")
    return f"{base}{sep}{urlencode({'cursor': cursor})}"


_CHOICE_LABELS: dict[tuple, dict] = {}


@register.filter
def choice_label(obj, field_name: str):
    """`obj.get_<field>_display()` for lists: Django's version hashes every lazy choice label on each call (a gettext
    per choice per row); this builds the value → label table once per field and language."""
    field = obj._meta.get_field(field_name)
    key = (obj._meta.label, field_name, get_language())
    labels = _CHOICE_LABELS.get(key)
    if labels is None:
        labels = _CHOICE_LABELS[key] = {k: str(v) for k, v in field.flatchoices}
    value = getattr(obj, field.attname)
    return labels.get(value, value)


@register.filter
def minutes(value) -> int:
    """A timedelta (or seconds) as whole minutes, rounded up: for “try again in N minutes”."""
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else float(value or 0)
    return max(0, int(-(-seconds // 60)))


@register.filter
def cw_json(value) -> str:
    """A value from an audit snapshot, readable: strings as they are, empty as “—”, lists and dicts compact."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


@register.simple_tag
def worker_status():
    """core.scheduler.worker_status() for pages that wait on background work (core/_worker_status.html)."""
    return scheduler.worker_status()


@register.filter
def local_datetime(value, fmt: str = "Y-m-d H:i") -> str:
    """A datetime, or an ISO 8601 string such as a snapshot's time, shown in the display time zone (TIME_ZONE);
    a naive value is taken as UTC, how the snapshots record it. Unreadable values come back as they are."""
    return audit_display.local_datetime(value, fmt)


@register.filter(name="label")
def label_filter(code, kind: str) -> str:
    """`{{ value|label:"service.skill" }}`: the code's label from the label table (core/labels.py)."""
    return labels.label(kind, code)


@register.filter(name="label_list")
def label_list_filter(codes, kind: str) -> str:
    """`{{ agent.skills|label_list:"service.skill" }}`: comma-separated codes (or a list) as labels."""
    return labels.label_list(kind, codes)


@register.filter
def audit_action(code) -> str:
    """An audit action code in words (core/audit_display.py)."""
    return audit_display.action_label(code)


@register.filter
def audit_object(object_type) -> str:
    return audit_display.object_label(object_type)


@register.simple_tag
def audit_change(entry, change) -> dict:
    """One changed field of an audit row with its name and values in words."""
    t = entry.object_type
    return {"field": audit_display.field_label(t, change.field),
            "before": audit_display.field_value(t, change.field, change.before),
            "after": audit_display.field_value(t, change.field, change.after),
            "time": audit_display.is_time(t, change.field)}  # shown on one line (.cw-date)


@register.simple_tag
def audit_details(entry, detail) -> list:
    """An audit row's detail as (label, value) pairs, codes read as the labels of the row's record type."""
    return audit_display.detail_items(detail, entry.object_type)


@register.filter
def subject_text(row) -> str:
    """A timeline row's subject in the reader's language (core.labels.row_text)."""
    return labels.row_text(row)
