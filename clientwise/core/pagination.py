"""Keyset (cursor) pagination shared by list pages and the API.

Pages are found by comparing the sort key with the last row seen, so page 10,000 costs the same as page 1
and no COUNT(*) runs over the whole table. The cursor is opaque to clients (base64 JSON).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from clientwise.core.errors import DomainError, ErrorCode


@dataclass
class Page:
    items: list
    next_cursor: str | None
    prev_cursor: str | None
    size: int
    sort: str = ""
    extra: dict = field(default_factory=dict)


def _encode(values: dict[str, Any]) -> str:
    raw = json.dumps(values, default=_json_default, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(type(value))


def _decode(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or "id" not in data or data.get("d") not in {"n", "p"}:
            raise ValueError
        return data
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise DomainError(ErrorCode.INVALID_CURSOR, "The page cursor is not valid.", "cursor") from None


def _value(row, name: str) -> Any:
    """The sort value of a row: a field, or a field of a related row (`stats__revenue`, selected with the row)."""
    for part in name.split("__"):
        row = getattr(row, part)
    return row


def keyset_page(qs: QuerySet, *, sort: str, cursor: str | None = None, size: int = 25,
                any_of: Sequence[Q] | None = None, tie: str = "id") -> Page:
    """One page of `qs` ordered by `sort` (a field name, '-' for descending) then by id in the same direction.

    The sort field must be non-null (a related field such as `stats__revenue` too). `cursor` comes from a previous Page's next_cursor or prev_cursor.

    `tie` names the column that breaks ties, equal to the row's id: "id", or for a sort on a one-to-one row keyed
    by the row's id (`stats__revenue`) that row's key (`stats__pk`), so the database can walk that table's
    (value, key) index instead of sorting each run of equal values by the other table's id.

    `any_of` pages over the rows matching any of several conditions. Each condition runs as its own query
    (size + 1 rows past the cursor, each served by its own index) and the short lists are merged here: an OR
    of prefix ranges would make the database collect and sort every match before the first page.
    """
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    state = _decode(cursor) if cursor else None
    backwards = bool(state and state["d"] == "p")
    # Going backwards we walk the reversed order and flip the rows afterwards.
    walk_desc = descending != backwards
    if state is not None:
        value, last_id = state.get("v"), state["id"]
        if name == "id":
            cond = Q(id__lt=last_id) if walk_desc else Q(id__gt=last_id)
        elif walk_desc:
            cond = Q(**{f"{name}__lt": value}) | Q(**{name: value, f"{tie}__lt": last_id})
        else:
            cond = Q(**{f"{name}__gt": value}) | Q(**{name: value, f"{tie}__gt": last_id})
        qs = qs.filter(cond)
    order = [f"-{name}", f"-{tie}"] if walk_desc else [name, tie]
    if name == "id":
        order = order[:1]
    if any_of:
        merged: dict[int, Any] = {}
        for cond in any_of:
            for row in qs.filter(cond).order_by(*order)[: size + 1]:
                merged.setdefault(row.id, row)
        rows = sorted(merged.values(), key=lambda r: (_value(r, name), r.id), reverse=walk_desc)[: size + 1]
    else:
        rows = list(qs.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    def cursor_at(row, direction: str) -> str:
        return _encode({"v": _value(row, name) if name != "id" else None, "id": row.id, "d": direction})

    has_next = more if not backwards else state is not None
    has_prev = (state is not None) if not backwards else more
    return Page(
        items=rows,
        next_cursor=cursor_at(rows[-1], "n") if rows and has_next else None,
        prev_cursor=cursor_at(rows[0], "p") if rows and has_prev else None,
        size=size,
        sort=sort,
    )
