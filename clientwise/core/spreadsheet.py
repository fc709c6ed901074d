"""Cells that are safe to open in a spreadsheet (CSV/formula injection).

Excel, WPS and LibreOffice evaluate a CSV cell that starts with `=`, `+`, `-` or `@` (and, after a tab or carriage
return, whatever follows) as a formula: a customer's city or a user's display name such as
`=HYPERLINK("http://…", "点击")` or `=cmd|' /C calc'!A0` would run in the manager who opens the export. In XLSX,
openpyxl stores a text value that starts with `=` as a live formula.

One rule for every file a user downloads (customer and order exports, report exports, import error files):

- CSV: a text cell whose first non-blank character is a formula trigger gets a leading apostrophe (`'=1+1`), the
  mark spreadsheets use for "this is text". Numbers, dates, empty cells and text that is only a signed number
  (`+8613812345678`, `-5`) are written as they are. A cell spanning several lines is quoted by the csv module and
  stays one cell, so only its start matters.
- XLSX: such a cell is written with the string type, so it is shown as the same text and never evaluated; the
  value is not changed.

`restore` undoes the CSV mark for files that come back (a fixed import error file is replayed): a cell that is an
apostrophe followed by what `neutralize` would have marked gets its apostrophe removed, so
`restore(neutralize(x)) == x` for every text.
"""

from __future__ import annotations

import re
from typing import Any

# The ASCII triggers (OWASP "CSV injection") and their full-width forms, which Chinese input methods type and some
# spreadsheets accept as the same operators.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
MARK = "'"
# A signed number written as text ("-5", "+8613812345678", "-1,234.50") cannot call anything: it stays as it is,
# so exported phone numbers and amounts read back unchanged.
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d ,.]*")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read this text as a formula: its first character after any leading white
    space (spreadsheets skip it, no-break and ideographic spaces included) is a trigger, and it is not a plain
    signed number. A tab or carriage return at the start counts as a trigger itself."""
    if not text:
        return False
    if text[0] in "\t\r":
        return True
    stripped = text.lstrip()
    if not stripped or stripped[0] not in FORMULA_TRIGGERS:
        return False
    return _PLAIN_NUMBER.fullmatch(stripped) is None


def _needs_mark(text: str) -> bool:
    """Formula-like after any number of leading apostrophes (zero included)."""
    return is_formula_like(text.lstrip(MARK))


def neutralize(value: Any) -> Any:
    """The CSV form of one cell: formula-like text gets a leading apostrophe; everything else is returned as is.
    Text that already starts with apostrophes before a trigger (`'=x` typed by someone) gets one more, so `restore`
    gives it back exactly."""
    if isinstance(value, str) and _needs_mark(value):
        return MARK + value
    return value


def restore(value: Any) -> Any:
    """Undo `neutralize` on a cell read back from a file Clientwise wrote (other text is returned as is)."""
    if isinstance(value, str) and value.startswith(MARK) and _needs_mark(value):
        return value[1:]
    return value
