"""Normalizing what people type: phones to E.164, emails lower-cased, names to pinyin search keys."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from clientwise.core.errors import DomainError, ErrorCode

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_phone(raw: str, *, region: str | None = None, field: str = "phone") -> str:
    """Return the E.164 form of a phone number or raise DomainError(invalid_phone)."""
    text = (raw or "").strip()
    if not text:
        raise DomainError(ErrorCode.REQUIRED, _("Phone number is required."), field)
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise DomainError(ErrorCode.INVALID_PHONE, _("“%(value)s” is not a phone number.") % {"value": text}, field) from None
    if not phonenumbers.is_valid_number(number):
        raise DomainError(ErrorCode.INVALID_PHONE, _("“%(value)s” is not a valid phone number.") % {"value": text}, field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_search_key(raw: str) -> str | None:
    """E.164 form of a query if it looks like a phone number, else None (never raises)."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    if not re.fullmatch(r"\+?\d{7,15}", digits):
        return None
    try:
        return normalize_phone(digits)
    except DomainError:
        return None


def normalize_email(raw: str, *, field: str = "email") -> str:
    text = (raw or "").strip().lower()
    if not EMAIL_RE.match(text):
        raise DomainError(ErrorCode.INVALID_EMAIL, _("“%(value)s” is not a valid email address.") % {"value": raw}, field)
    return text


@lru_cache(maxsize=65536)
def pinyin_keys(name: str) -> tuple[str, str]:
    """('zhangwei', 'zw') for '张伟'; Latin names give their lower-cased letters and initials."""
    syllables = [s.lower() for s in lazy_pinyin(name or "", errors=lambda chars: list(chars)) if s.strip()]
    full = "".join(re.sub(r"[^0-9a-z]", "", s) for s in syllables)
    initials = "".join(re.sub(r"[^0-9a-z]", "", s)[:1] for s in syllables)
    return full, initials


def initials_style(name: str) -> str:
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y")


def parse_date(raw, *, field: str = "date") -> dt.date:
    """Dates in common Chinese and English formats; DomainError(invalid_date) otherwise."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw or "").strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise DomainError(ErrorCode.INVALID_DATE, _("“%(value)s” is not a date.") % {"value": text}, field)


def parse_amount(raw, *, field: str = "amount") -> decimal.Decimal:
    """Amounts as Decimal with two places; accepts '1,234.50', '¥1234.5', '1234.5元'."""
    if isinstance(raw, decimal.Decimal):
        value = raw
    else:
        text = re.sub(r"[,\s¥￥元]|CNY|RMB", "", str(raw if raw is not None else ""))
        try:
            value = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise DomainError(ErrorCode.INVALID_AMOUNT, _("“%(value)s” is not an amount.") % {"value": raw}, field) from None
    if not value.is_finite() or abs(value) >= decimal.Decimal("1e12"):
        raise DomainError(ErrorCode.INVALID_AMOUNT, _("“%(value)s” is not an amount.") % {"value": raw}, field)
    return value.quantize(decimal.Decimal("0.01"))
