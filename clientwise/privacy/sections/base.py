"""Helpers the sections share: a table of model rows for the access export, and the placeholder text erased
required fields get."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from clientwise.core.audit import jsonable

PLACEHOLDER = "—"  # required text fields of an erased row (names, subjects, addresses)

Column = str | tuple[str, Any, Callable[[Any], Any]]  # a field name, or (name, label, value of the object)


def table(key: str, title, objects: Iterable[Any], columns: list[Column], *, model=None) -> dict:
    """{"key", "title", "columns": [(name, label)], "rows": [{name: JSON value}], "displays": {name: {value: label}}}
    for the access export. A column is a concrete field name of `model` (label = its verbose name; choices shown by
    their labels on the HTML page) or (name, label, function of the object)."""
    objects = list(objects)
    model = model or (type(objects[0]) if objects else None)
    heads: list[tuple[str, Any]] = []
    getters: list[tuple[str, Callable[[Any], Any]]] = []
    displays: dict[str, dict] = {}
    for col in columns:
        if isinstance(col, tuple):
            name, label, fn = col
        else:
            name = col
            field = model._meta.get_field(col) if model is not None else None
            label = getattr(field, "verbose_name", col) if field is not None else col
            attname = getattr(field, "attname", col) if field is not None else col
            if field is not None and getattr(field, "choices", None):
                displays[name] = {str(k): v for k, v in field.flatchoices}

            def fn(obj, attname=attname):
                return getattr(obj, attname)
        heads.append((name, label))
        getters.append((name, fn))
    rows = [{name: jsonable(fn(obj)) for name, fn in getters} for obj in objects]
    return {"key": key, "title": title, "columns": heads, "rows": rows, "displays": displays}
