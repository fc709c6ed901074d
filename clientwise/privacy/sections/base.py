"""Helpers the sections share: a table of model rows for the access export (values as stored for the JSON copy,
in words for the readable copy), and the placeholder text erased required fields get."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from clientwise.core import audit_display, labels
from clientwise.core.audit import jsonable

PLACEHOLDER = "—"  # required text fields of an erased row (names, subjects, addresses)


@dataclass(frozen=True)
class Col:
    """One column of an export table. `name` is a field of the table's model unless `value` says how to read it;
    `label` defaults to the field's name in words (core.audit_display.model_field_label, the audit log's); `show`
    is what the readable copy shows of an object when its stored value is not readable as it is (a timeline
    row's sentence, a score's reasons) — by default the value, in words (choices by their labels, times local).
    `readable=False`: in the JSON copy only (a value the readable copy shows in another column)."""

    name: str
    label: Any = None
    value: Callable[[Any], Any] | None = None
    show: Callable[[Any], Any] | None = None
    readable: bool = True


Column = str | Col | tuple[str, Any, Callable[[Any], Any]]  # a field name, a Col, or (name, label, value)


@dataclass(frozen=True)
class Cell:
    """What the readable copy shows in one cell; `nowrap` keeps a date or time on one line."""

    text: str
    nowrap: bool = False
    wide: bool = False  # several lines of text (a record's changes): given room instead of squeezed


def table(key: str, title, objects: Iterable[Any], columns: list[Column], *, model=None) -> dict:
    """{"key", "title", "columns": [(name, label)], "rows": [{name: JSON value}], "headings": [label],
    "cells": [[Cell]]} for the access export: `columns` and `rows` as stored (the JSON copy), `headings` and
    `cells` in words for the readable copy."""
    objects = list(objects)
    model = model or (type(objects[0]) if objects else None)
    heads: list[tuple[str, Any]] = []
    getters: list[tuple[str, Callable[[Any], Any]]] = []
    shown: list[tuple[Any, Callable[[Any], Cell]]] = []
    for col in columns:
        if isinstance(col, str):
            col = Col(col)
        elif isinstance(col, tuple):
            col = Col(*col)
        field = _field(model, col.name) if col.value is None else None
        label = capfirst(col.label) if col.label is not None else audit_display.model_field_label(model, col.name)
        if col.value is not None:
            value = col.value
        else:
            attname = field.attname if field is not None else col.name

            def value(obj, attname=attname):
                return getattr(obj, attname)

        heads.append((col.name, label))
        getters.append((col.name, value))
        if col.readable:
            shown.append((label, _shower(col, field, value)))
    rows = [{name: jsonable(fn(obj)) for name, fn in getters} for obj in objects]
    cells = [[show(obj) for _label, show in shown] for obj in objects]
    return {"key": key, "title": title, "columns": heads, "rows": rows,
            "headings": [label for label, _show in shown], "cells": cells}


def _field(model, name: str):
    if model is None:
        return None
    try:
        f = model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - FieldDoesNotExist; a computed column is not a field
        return None
    return f if isinstance(f, models.Field) else None


def _shower(col: Col, field, value: Callable[[Any], Any]) -> Callable[[Any], Cell]:
    if col.show is not None:
        return lambda obj: readable(col.show(obj))
    if field is not None and field.choices:
        choices = {str(k): v for k, v in field.flatchoices}
        return lambda obj: readable(choices.get(str(value(obj)), value(obj)))
    if col.name in audit_display.VALUE_KINDS:
        kind = audit_display.VALUE_KINDS[col.name]
        return lambda obj: readable(labels.label(kind, value(obj)) if value(obj) else "")
    return lambda obj: readable(value(obj))


def percent(value: float | None) -> str:
    """A probability or share as a whole percentage ("31%")."""
    return "" if value is None else f"{round(value * 100)}%"


def _lines(lines: list[str]) -> Cell:
    return Cell("\n".join(lines), wide=len(lines) > 1 or any(len(line) > 30 for line in lines))


def readable(value: Any) -> Cell:
    """A value as the readable copy shows it: times in the display time zone, yes/no, numbers without float noise,
    a list one item per line, a mapping as "key: value" lines."""
    if value is None or value == "":
        return Cell("")
    if isinstance(value, Cell):
        return value
    if isinstance(value, bool):
        return Cell(_("Yes") if value else _("No"))
    if isinstance(value, dt.datetime):
        return Cell(audit_display.local_datetime(value), nowrap=True)
    if isinstance(value, dt.date):
        return Cell(value.isoformat(), nowrap=True)
    if isinstance(value, float):
        return Cell(f"{value:.4f}".rstrip("0").rstrip("."))
    if isinstance(value, decimal.Decimal | int):
        return Cell(str(value))
    if isinstance(value, list | tuple):
        return _lines([readable(v).text for v in value])
    if isinstance(value, dict):
        return _lines([f"{k}: {readable(v).text}" for k, v in value.items()])
    return Cell(str(value))
