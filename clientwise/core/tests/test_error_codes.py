"""Error codes: each app declares its own in `<app>/errors.py` (a registered StrEnum), a code has one owner across
the project, services never carry an HTTP status, and docs/api.md lists every code with its status."""

from __future__ import annotations

import enum
import importlib
import importlib.util
import os
import re
from pathlib import Path

from django.apps import apps

from clientwise.core import errors

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "api.md"
START, END = "<!-- error-codes:start -->", "<!-- error-codes:end -->"


def _error_modules() -> list:
    out = []
    for config in apps.get_app_configs():
        if config.name.startswith("clientwise.") and importlib.util.find_spec(f"{config.name}.errors"):
            out.append(importlib.import_module(f"{config.name}.errors"))
    return out


def _table() -> str:
    lines = ["| code | declared by | HTTP status |", "| --- | --- | --- |"]
    for code, (owner, status) in errors.registered_codes().items():
        module, _dot, name = owner.rpartition(".")
        lines.append(f"| `{code}` | `{module.removeprefix('clientwise.')}.{name}` | {status} |")
    return "\n".join(lines)


def test_every_app_enum_is_registered_and_codes_are_unique():
    modules = _error_modules()
    assert {m.__name__ for m in modules} >= {
        "clientwise.core.errors", "clientwise.commerce.errors", "clientwise.dataio.errors",
        "clientwise.sales.errors", "clientwise.service.errors", "clientwise.analytics.errors"}
    registered = errors.registered_codes()
    seen: dict[str, str] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, enum.StrEnum) and value.__module__ == module.__name__:
                for member in value:
                    owner = f"{value.__module__}.{value.__qualname__}"
                    assert registered.get(member.value, (None,))[0] == owner, f"{owner}.{member.name} is not registered"
                    assert seen.setdefault(member.value, owner) == owner, f"{member.value!r} declared twice"


def test_a_code_cannot_get_a_second_owner():
    class Clash(enum.StrEnum):
        NOT_FOUND = "not_found"

    try:
        errors.register_codes(Clash)
    except ValueError as exc:
        assert "already declared" in str(exc)
    else:
        raise AssertionError("a second owner of 'not_found' was accepted")


def test_status_comes_from_the_code():
    from clientwise.commerce.errors import CommerceErrorCode

    assert errors.DomainError(CommerceErrorCode.ORDER_CANCELLED, "x").status == 409
    assert errors.DomainError(errors.ErrorCode.THROTTLED, "x").status == 429
    assert errors.DomainError(errors.ErrorCode.INVALID, "x").status == 400
    # A class fixes its own status whatever the code: a validation failure is 422 even for a duplicate.
    dup = errors.DomainError(errors.ErrorCode.DUPLICATE, "x", "number")
    assert dup.status == 409 and errors.ValidationFailed([dup]).status == 422
    assert errors.NotFound().status == 404 and errors.PermissionDenied().status == 403


def test_services_raise_codes_not_http_statuses():
    """Only the edge (api.py, views, middleware) may choose a status; domain modules raise a code."""
    edge = re.compile(r"(^|/)(api|views|views_\w+|middleware)\.py$")
    offenders = []
    for path in (ROOT / "clientwise").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if "/tests/" in rel or edge.search(rel):
            continue
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"\bstatus=[45]\d\d\b", text):  # an HTTP status chosen outside the edge
            offenders.append(f"{rel}:{text.count(chr(10), 0, m.start()) + 1}")
        if re.search(r'DomainError\("[a-z_]+"', text):
            offenders.append(f"{rel}: a code written as a string literal")
    assert offenders == []


def test_docs_list_every_code():
    """docs/api.md carries the generated table between its markers; UPDATE_ERROR_CODES_DOC=1 rewrites it."""
    _error_modules()
    text = DOC.read_text(encoding="utf-8")
    assert START in text and END in text, f"docs/api.md needs the markers {START} … {END}"
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    expected = f"{head}{START}\n{_table()}\n{END}{tail}"
    if os.environ.get("UPDATE_ERROR_CODES_DOC"):
        DOC.write_text(expected, encoding="utf-8")
        text = expected
    assert text == expected, "docs/api.md's error-code table is stale: run with UPDATE_ERROR_CODES_DOC=1"
