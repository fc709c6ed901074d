"""Pure rules of data-subject requests: the answer deadline, which action a request allows, how identifiers are
compared when files and stored rows are searched for a person, and how a stored JSON value is scrubbed.

No database access here; services and sections call these.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# ----- deadline ---------------------------------------------------------------------------------------------------

UNITS = {"wd": "working_days", "working day": "working_days", "working days": "working_days",
         "d": "days", "day": "days", "days": "days", "m": "months", "month": "months", "months": "months"}
_DEADLINE = re.compile(r"^\s*(\d{1,3})\s*([a-z ]+?)\s*$")
DEFAULT_DEADLINE = "15 working days"
MAX_DAYS = 3660


@dataclass(frozen=True)
class Deadline:
    """How long a request may take: `amount` working days, calendar days or months after the day it arrived."""

    amount: int
    unit: str  # working_days | days | months

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.replace('_', ' ')}"


def parse_deadline(text: str) -> Deadline:
    """'15 working days' / '15wd', '30 days' / '30d', '1 month' / '1m' → Deadline; ValueError otherwise."""
    match = _DEADLINE.match((text or "").lower())
    if not match or match.group(2).strip() not in UNITS:
        raise ValueError(f"PRIVACY_RESPONSE_DEADLINE must look like '15 working days', '30 days' or '1 month', "
                         f"not {text!r}")
    amount = int(match.group(1))
    if amount < 1:
        raise ValueError("PRIVACY_RESPONSE_DEADLINE must be at least 1")
    return Deadline(amount, UNITS[match.group(2).strip()])


def weekday_is_working(day: dt.date) -> bool:
    return day.isoweekday() <= 5


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` later; the month's last day when it has no such day (31 Jan + 1 month =
    28/29 Feb), as GDPR art. 12(3)'s 'one month' is read (Regulation 1182/71 art. 3(2)(c))."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(received: dt.date, deadline: Deadline,
             is_working_day: Callable[[dt.date], bool] = weekday_is_working) -> dt.date:
    """The last local day to answer a request received on local day `received`. The day of receipt does not count:
    15 working days from a Friday end on the Friday three weeks later (Monday–Friday, no holidays)."""
    if deadline.unit == "days":
        return received + dt.timedelta(days=deadline.amount)
    if deadline.unit == "months":
        return add_months(received, deadline.amount)
    day, left = received, deadline.amount
    for _ in range(MAX_DAYS):
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
            if left == 0:
                return day
    raise ValueError("the calendar has no working days")


def is_overdue(status: str, due_on: dt.date, today: dt.date) -> bool:
    """Still open (or in progress) after its due day."""
    return status in ("open", "in_progress") and today > due_on


# ----- what a request allows --------------------------------------------------------------------------------------

# Actions by request kind: every open request can be started, rejected (with a reason); access requests are
# answered by an export and then completed; corrections are made on the customer's page, then completed; erasure
# and consent withdrawal complete themselves when carried out.
ACTIONS = {
    "access": ("start", "export", "complete", "reject"),
    "correction": ("start", "complete", "reject"),
    "erasure": ("start", "erase", "reject"),
    "consent_withdrawal": ("start", "withdraw_consent", "reject"),
}


def allowed_actions(kind: str, status: str, *, exported: bool = False) -> tuple[str, ...]:
    """The actions a request of `kind` in `status` offers. Closed requests allow only exporting again (access)."""
    if status not in ("open", "in_progress"):
        return ("export",) if kind == "access" and status == "done" else ()
    actions = ACTIONS[kind]
    if status == "in_progress":
        actions = tuple(a for a in actions if a != "start")
    if kind == "access" and not exported:
        actions = tuple(a for a in actions if a != "complete")
    return actions


# ----- comparing identifiers ----------------------------------------------------------------------------------------

_PHONE_LIKE = re.compile(r"^[+(]?\d[\d\s\-().]{5,24}$")
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$")
_NON_DIGITS = re.compile(r"\D")


def canon_phone(text: str) -> str:
    """A phone number as the digits that identify it regardless of how it was written: '+86 138 1234 5678',
    '8613812345678', '138-1234-5678' → '13812345678'; '021-1234 5678' and '+86 21 12345678' → '2112345678'.
    Empty when the text is not phone-like or too short to identify anyone."""
    text = (text or "").strip()
    if not _PHONE_LIKE.match(text) or _DATE_LIKE.match(text):
        return ""
    digits = _NON_DIGITS.sub("", text)
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("86") and len(digits) >= 12:
        digits = digits[2:]
    digits = digits.lstrip("0")
    return digits if len(digits) >= 7 else ""


def canon_text(text: str) -> str:
    """An identifier compared as text: trimmed, case-folded."""
    return (text or "").strip().casefold()


def cell_forms(value: str) -> list[str]:
    """The forms a stored cell is compared in: 't:<text>' always, 'p:<digits>' when it reads as a phone number."""
    text = canon_text(value)
    if not text:
        return []
    forms = [f"t:{text}"]
    phone = canon_phone(value)
    if phone:
        forms.append(f"p:{phone}")
    return forms


# ----- scrubbing stored JSON ----------------------------------------------------------------------------------------

ERASED = "[erased]"


def scrub(value: Any, *, keys: Iterable[str] | set[str], texts: Iterable[str] | set[str]) -> tuple[Any, bool]:
    """`value` (JSON: dicts, lists, scalars) with every value under a key in `keys` replaced by ERASED (None and ""
    stay as they are) and every string containing one of `texts` replaced by ERASED. Returns (new value, changed)."""
    keys = keys if isinstance(keys, set) else set(keys)
    texts = [t for t in texts if t]

    def walk(v: Any, under_key: bool) -> tuple[Any, bool]:
        if isinstance(v, dict):
            out, changed = {}, False
            for k, item in v.items():
                new, c = walk(item, under_key or k in keys)
                out[k] = new
                changed |= c
            return out, changed
        if isinstance(v, list):
            out_list, changed = [], False
            for item in v:
                new, c = walk(item, under_key)
                out_list.append(new)
                changed |= c
            return out_list, changed
        if v is None or v == "" or v == ERASED:
            return v, False
        if under_key:
            return ERASED, True
        if isinstance(v, str) and any(t in v for t in texts):
            return ERASED, True
        return v, False

    return walk(value, False)
