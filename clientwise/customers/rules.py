"""The rules of a customer's profile values, written once.

The customer service (pages, API, entry grid) and the customers import (dataio.validation's checks, row by row)
both check lengths and dates with these functions, so a value one of them accepts the other accepts too. Lengths
come from the model's columns (a city longer than its column is refused with a field error everywhere, not cut or
failed by the database); text columns without a database limit get theirs here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.normalize import phone_search_key
from clientwise.customers.models import PHONE_TAIL_DIGITS, ContactPoint, Customer

# Text columns with no database limit, and the length a value may have all the same.
UNBOUNDED_LIMITS = {"notes": 5000}
EARLIEST_YEAR = 1900


def _model_field(name: str):
    """The customer's field `name`, else the contact point's (postal code), else None."""
    for model in (Customer, ContactPoint):
        try:
            return model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
    return None


@cache
def max_length(field: str) -> int | None:
    """The longest value a customer's (or a contact point's: address, postal code) text field takes."""
    if field in UNBOUNDED_LIMITS:
        return UNBOUNDED_LIMITS[field]
    found = _model_field("value" if field == "address" else field)  # an address is a contact point's value
    return found.max_length if found is not None else None


@cache
def label(field: str) -> str:
    """The field's name as people read it ("Member number"), for messages."""
    found = _model_field(field)
    return capfirst(str(found.verbose_name)) if found is not None else field


def too_long(value: str, field: str, *, limit: int | None = None, name: str = "") -> DomainError | None:
    """The error for a text longer than its field allows (None when it fits)."""
    limit = max_length(field) if limit is None else limit
    if limit is None or len(value) <= limit:
        return None
    return DomainError(ErrorCode.INVALID, _("%(label)s is longer than %(n)s characters.") % {
        "label": name or label(field), "n": limit}, field)


def birth_date(day: dt.date, field: str = "birth_date", *, today: dt.date | None = None) -> dt.date:
    """A birth date: not in the future nor before 1900."""
    if day > (today or timezone.localdate()) or day.year < EARLIEST_YEAR:
        raise DomainError(ErrorCode.INVALID_DATE, _("Birth date is out of range."), field)
    return day


def customer_since(day: dt.date, field: str = "customer_since", *, today: dt.date | None = None,
                   shown: str = "") -> dt.date:
    """When the relationship began: not in the future nor before 1900. `shown`: the value as the user typed it."""
    if day > (today or timezone.localdate()) or day.year < EARLIEST_YEAR:
        raise DomainError(ErrorCode.INVALID_DATE, _("“%(value)s” is out of range (in the future or before 1900).") % {
            "value": shown or day.isoformat()}, field)
    return day


# --- What a search text is ------------------------------------------------------------------------------------------

PHONE_SEPARATORS = re.compile(r"[\s\-()]")


@dataclass(frozen=True)
class SearchText:
    """A search text and what it can only be: "phone" (a valid number; `key` its E.164 form), "phone_tail" (exactly
    PHONE_TAIL_DIGITS digits, what a caller reads out; `key` the digits), "email" (`key` lower-cased) or "text"
    (anything else: a member number, a name, its pinyin or initials; `key` the stripped text)."""

    kind: str
    key: str
    text: str  # the stripped text as typed (a member number is compared as typed)


def search_text(query: str) -> SearchText | None:
    """What `query` is, so the search asks only the indexes that can answer it (customers.queries.search_branches):
    a phone number, its last 8 digits or an email address cannot be a name, so neither the name nor the pinyin
    branch is asked; None for an empty text."""
    text = (query or "").strip()
    if not text:
        return None
    if "@" in text:
        return SearchText("email", text.lower(), text)
    compact = PHONE_SEPARATORS.sub("", text)
    if len(compact) == PHONE_TAIL_DIGITS and compact.isascii() and compact.isdigit():
        return SearchText("phone_tail", compact, text)
    phone = phone_search_key(text)
    if phone:
        return SearchText("phone", phone, text)
    return SearchText("text", text, text)
