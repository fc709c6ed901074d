"""Per-field checks of imported values. They reuse core.normalize and raise DomainError with the same codes the
services use, so a quarantined row, an API error and a form error read the same."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from clientwise.commerce.rules import parse_quantity, parse_unit_price
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.normalize import parse_amount, parse_date
from clientwise.customers import rules as customer_rules

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")
NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]{0,39}$")
TIME_RE = re.compile(r"^(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?秒?)?$")
FUTURE_SKEW = dt.timedelta(minutes=5)

YES = {"1", "true", "yes", "y", "on", "是", "同意", "允许", "granted", "opt-in", "optin", "√", "✓"}
NO = {"0", "false", "no", "n", "off", "否", "不同意", "拒绝", "withdrawn", "opt-out", "optout", "×"}
GENDERS = {"m": "m", "male": "m", "man": "m", "男": "m", "先生": "m", "f": "f", "female": "f", "woman": "f",
           "女": "f", "女士": "f", "": "", "unknown": "", "未知": ""}
STATUSES = {"prospect": "prospect", "潜在": "prospect", "潜在客户": "prospect", "active": "active", "活跃": "active",
            "正常": "active", "inactive": "inactive", "不活跃": "inactive", "沉睡": "inactive", "lost": "lost",
            "流失": "lost"}
INTERACTION_KINDS = {"call": "call", "电话": "call", "来电": "call", "去电": "call", "visit": "visit", "拜访": "visit",
                     "到店": "visit", "到访": "visit", "email": "email", "邮件": "email", "sms": "sms", "短信": "sms",
                     "wechat": "wechat", "微信": "wechat", "note": "note", "备注": "note", "反馈": "note",
                     "feedback": "note"}
DIRECTIONS = {"": "", "in": "in", "inbound": "in", "呼入": "in", "来": "in", "入": "in", "out": "out",
              "outbound": "out", "呼出": "out", "去": "out", "出": "out"}
URBAN = {"": "", "urban": "urban", "城市": "urban", "城镇": "urban", "城": "urban", "rural": "rural",
         "农村": "rural", "乡村": "rural", "乡": "rural"}


def error(code: str, message: str, field: str | None) -> DomainError:
    return DomainError(code, message, field)


def text(value: str, field: str, *, max_length: int, label: str = "") -> str:
    if len(value) > max_length:
        raise error(ErrorCode.INVALID, _("%(label)s is longer than %(n)s characters.") % {
            "label": label or field, "n": max_length}, field)
    return value


def code(value: str, field: str, *, max_length: int) -> str:
    text(value, field, max_length=max_length)
    if not CODE_RE.match(value):
        raise error(ErrorCode.INVALID, _("“%(value)s”: use letters, digits and - _ . only.") % {"value": value}, field)
    return value


def choice(value: str, field: str, table: dict[str, str]) -> str:
    key = value.strip().lower()
    if key not in table:
        raise error(ErrorCode.INVALID, _("“%(value)s” is not one of: %(choices)s.") % {
            "value": value, "choices": ", ".join(sorted({v for v in table.values() if v}))}, field)
    return table[key]


def yes_no(value: str, field: str) -> bool:
    key = value.strip().lower()
    if key in YES:
        return True
    if key in NO:
        return False
    raise error(ErrorCode.INVALID, _("“%(value)s” is not yes or no.") % {"value": value}, field)


def quantity(value: str, field: str) -> Decimal:
    """A line quantity (commerce.rules.parse_quantity: zero or more, three decimals at most)."""
    number = _quantity(value)
    if number is not None:
        return number
    return parse_quantity(value, field)


@lru_cache(maxsize=4096)
def _quantity(value: str) -> Decimal | None:
    """A valid quantity's value (None when invalid: `quantity` then raises with the row's field)."""
    try:
        return parse_quantity(value)
    except DomainError:
        return None


def unit_price(value: str, field: str) -> Decimal:
    """A unit price (commerce.rules.parse_unit_price: four decimals)."""
    number = _unit_price(value)
    if number is not None:
        return number
    return parse_unit_price(value, field)


@lru_cache(maxsize=16384)
def _unit_price(value: str) -> Decimal | None:
    try:
        return parse_unit_price(value)
    except DomainError:
        return None


def amount(value: str, field: str) -> Decimal:
    result = _amount(value)
    if result is not None:
        return result
    result = parse_amount(value, field=field)
    if result < 0:
        raise error(ErrorCode.INVALID_AMOUNT, _("An amount cannot be negative."), field)
    return result


@lru_cache(maxsize=16384)
def _amount(value: str) -> Decimal | None:
    """A valid amount's value (None when invalid: `amount` then raises with the row's field). Decimals are
    immutable, so one object can serve every row with the same text."""
    try:
        result = parse_amount(value)
    except DomainError:
        return None
    return result if result >= 0 else None


def birth_date(value: str, field: str, today: dt.date | None = None) -> dt.date:
    """A birth date, not in the future nor before 1900. `today`: the local date when the caller already has it
    (an import batch reads it once)."""
    return customer_rules.birth_date(parse_date(value, field=field), field, today=today)


def since_date(value: str, field: str, today: dt.date | None = None) -> dt.date:
    """The local calendar day of a date or a date and time (the formats of `moment`; an offset is converted to
    local time), not in the future nor before 1900: when a customer relationship began. `today` as in
    birth_date."""
    parsed = _moment(value.strip(), field, timezone.get_current_timezone_name())
    return customer_rules.customer_since(timezone.localtime(parsed).date(), field, today=today, shown=value.strip())


def moment(value: str, field: str, zone: str | None = None) -> dt.datetime:
    """A date and time (see _moment), not in the future nor before 1990. `zone`: the current time zone's name
    when the caller already has it (a batch asks once)."""
    parsed = _moment(value.strip(), field, zone or timezone.get_current_timezone_name())
    raw = value.strip()
    if parsed > timezone.now() + FUTURE_SKEW:
        raise error(ErrorCode.INVALID_DATE, _("“%(value)s” is in the future.") % {"value": raw}, field)
    if parsed.year < 1990:
        raise error(ErrorCode.INVALID_DATE, _("“%(value)s” is out of range.") % {"value": raw}, field)
    return parsed


@lru_cache(maxsize=4096)
def _moment(raw: str, field: str, zone: str) -> dt.datetime:
    """A date and time in common formats ('2025-03-01 14:05', '2025/3/1 14:05:09', '2025年3月1日', ISO with
    offset). A date alone means noon local time; a time without an offset is local time."""
    parsed = None
    try:
        parsed = parse_datetime(raw)
    except ValueError:
        parsed = None
    if parsed is None:
        parts = raw.replace("T", " ").split(None, 1)
        if not parts:
            raise error(ErrorCode.REQUIRED, _("A date is required."), field)
        day = parse_date(parts[0], field=field)
        if len(parts) == 1:
            parsed = dt.datetime.combine(day, dt.time(12, 0))
        else:
            match = TIME_RE.match(parts[1].strip())
            if not match:
                raise error(ErrorCode.INVALID_DATE, _("“%(value)s” is not a date and time.") % {"value": raw}, field)
            h, m, s = int(match[1]), int(match[2]), int(match[3] or 0)
            if h > 23 or m > 59 or s > 59:
                raise error(ErrorCode.INVALID_DATE, _("“%(value)s” is not a date and time.") % {"value": raw}, field)
            parsed = dt.datetime.combine(day, dt.time(h, m, s))
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed
