"""Normalizing what people type: phones to E.164, emails lower-cased, names to pinyin search keys."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from functools import cache, lru_cache

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from clientwise.core.errors import DomainError, ErrorCode

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_phone(raw: str, *, region: str | None = None, field: str = "phone") -> str:
    """Return the E.164 form of a phone number or raise DomainError(invalid_phone)."""
    text = (raw or "").strip()
    region = region or settings.PHONE_REGION
    if region == "CN" and CN_MOBILE_RE.fullmatch(text):
        if _cn_mobile_prefix_valid(text[:CN_MOBILE_PREFIX]):
            return "+86" + text
        raise DomainError(ErrorCode.INVALID_PHONE, _("“%(value)s” is not a valid phone number.") % {"value": text}, field)
    return _normalize_phone(text, region, field)


def _normalize_phone(text: str, region: str, field: str) -> str:
    if not text:
        raise DomainError(ErrorCode.REQUIRED, _("Phone number is required."), field)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise DomainError(ErrorCode.INVALID_PHONE, _("“%(value)s” is not a phone number.") % {"value": text}, field) from None
    if not phonenumbers.is_valid_number(number):
        raise DomainError(ErrorCode.INVALID_PHONE, _("“%(value)s” is not a valid phone number.") % {"value": text}, field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Fast path for the common input, a mainland mobile number typed as 11 ASCII digits. For region CN phonenumbers
# parses such a text (first digits 13-16, 18, 19 or 170-178; not 11x, 12x or 179, which begin carrier and
# international dialling prefixes) to country code 86 with the digits themselves as the national number, so its
# E.164 form is "+86" + text; and in the CN metadata whether an 11-digit number starting so is valid depends only
# on its first CN_MOBILE_PREFIX digits. So validity is asked of phonenumbers once per prefix (on the prefix padded
# with zeros) and cached. clientwise/core/tests/test_normalize.py proves the prefix claim from the metadata's
# patterns and compares both paths on every prefix.
CN_MOBILE_RE = re.compile(r"1(?:[3-68-9][0-9]|7[0-8])[0-9]{8}")
CN_MOBILE_PREFIX = 5


@cache  # at most 6,900 prefixes
def _cn_mobile_prefix_valid(prefix: str) -> bool:
    try:
        _normalize_phone(prefix.ljust(11, "0"), "CN", "phone")
    except DomainError:
        return False
    return True


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


@lru_cache(maxsize=131072)
def pinyin_keys(name: str) -> tuple[str, str]:
    """('zhangwei', 'zw') for '张伟'; Latin names give their lower-cased letters and initials."""
    syllables = [s.lower() for s in lazy_pinyin(name or "", errors=lambda chars: list(chars)) if s.strip()]
    full = "".join(re.sub(r"[^0-9a-z]", "", s) for s in syllables)
    initials = "".join(re.sub(r"[^0-9a-z]", "", s)[:1] for s in syllables)
    return full, initials


def initials_style(name: str) -> str:
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y")


ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(raw, *, field: str = "date") -> dt.date:
    """Dates in common Chinese and English formats; DomainError(invalid_date) otherwise."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw or "").strip()
    if ISO_DATE_RE.fullmatch(text):
        # What the first format, %Y-%m-%d, reads from this shape, without strptime; an impossible date such as
        # 2025-02-30 falls through to the formats (and fails there as before).
        try:
            return dt.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        except ValueError:
            pass
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
