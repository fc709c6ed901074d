"""Domain errors carry a stable code; the API, HTMX forms and import quarantine all show the same code.

Every app declares its codes once, in `<app>/errors.py`, as a StrEnum registered here with `register_codes`,
together with the HTTP status each code answers with at the API edge (`http_status`). Services raise a code and a
message, never an HTTP status: the status is looked up from the code (or fixed by the error's class: NotFound 404,
PermissionDenied 403, ValidationFailed 422). A code is unique across apps (`register_codes` refuses a second
owner), and docs/api.md lists them all (tests check both).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from django.db import DataError

# code → (the enum declaring it, its HTTP status or None for the default 400)
_REGISTRY: dict[str, tuple[str, int | None]] = {}


def register_codes(codes: type[enum.StrEnum], statuses: Mapping[str, int] | None = None) -> type[enum.StrEnum]:
    """Declare an app's error codes (and the HTTP status of those that are not a plain 400)."""
    owner = f"{codes.__module__}.{codes.__qualname__}"
    statuses = dict(statuses or {})
    unknown = set(statuses) - {m.value for m in codes}
    if unknown:
        raise ValueError(f"{owner}: statuses for codes it does not declare: {sorted(unknown)}")
    for member in codes:
        taken = _REGISTRY.get(member.value)
        if taken is not None and taken[0] != owner:
            raise ValueError(f"Error code {member.value!r} of {owner} is already declared by {taken[0]}.")
        _REGISTRY[member.value] = (owner, statuses.get(member.value))
    return codes


def registered_codes() -> dict[str, tuple[str, int]]:
    """Every declared code with its declaring enum and HTTP status (the docs/api.md table)."""
    return {code: (owner, status or 400) for code, (owner, status) in sorted(_REGISTRY.items())}


def http_status(error: DomainError) -> int:
    """The HTTP status an error answers with: its class's fixed status, else its code's declared one, else 400."""
    if error.fixed_status is not None:
        return error.fixed_status
    entry = _REGISTRY.get(error.code)
    return (entry[1] if entry else None) or 400


class ErrorCode(enum.StrEnum):
    """Codes shared by every app. Apps add their own enums with the same shape."""

    INVALID = "invalid"
    REQUIRED = "required"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    NOT_AUTHENTICATED = "not_authenticated"
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    INVALID_PHONE = "invalid_phone"
    INVALID_EMAIL = "invalid_email"
    INVALID_DATE = "invalid_date"
    INVALID_AMOUNT = "invalid_amount"
    UNKNOWN_REFERENCE = "unknown_reference"
    IDEMPOTENCY_MISMATCH = "idempotency_key_reused"
    THROTTLED = "throttled"
    INVALID_CURSOR = "invalid_cursor"


register_codes(ErrorCode, {
    ErrorCode.NOT_FOUND: 404, ErrorCode.PERMISSION_DENIED: 403, ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.CONFLICT: 409, ErrorCode.DUPLICATE: 409, ErrorCode.THROTTLED: 429,
    ErrorCode.IDEMPOTENCY_MISMATCH: 422,
})


class DomainError(Exception):
    """A business rule said no. `status` is the HTTP status the API answers with, looked up from the code
    (register_codes); only the API edge may pass one explicitly (`status=`), services never do."""

    fixed_status: int | None = None

    def __init__(self, code: str, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = str(code)
        self.message = str(message)
        self.field = field
        self._status = status

    @property
    def status(self) -> int:
        return self._status if self._status is not None else http_status(self)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(DomainError):
    fixed_status = 404

    def __init__(self, message: str = "Not found.", field: str | None = None):
        super().__init__(ErrorCode.NOT_FOUND, message, field)


class PermissionDenied(DomainError):
    fixed_status = 403

    def __init__(self, message: str = "You do not have permission to do this.", field: str | None = None):
        super().__init__(ErrorCode.PERMISSION_DENIED, message, field)


class ValidationFailed(DomainError):
    """One or more fields are invalid. `errors` lists them all; the first is the headline."""

    fixed_status = 422

    def __init__(self, errors: list[DomainError]):
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = errors

    def as_dict(self) -> dict:
        data = super().as_dict()
        data["errors"] = [{"code": e.code, "message": e.message, "field": e.field} for e in self.errors]
        return data


def input_out_of_range(exc: BaseException) -> bool:
    """A number the database cannot hold (SQLite: OverflowError; PostgreSQL: numeric_value_out_of_range), text
    longer than its column (string_data_right_truncation) or a value of the wrong type for the column it is compared
    with (PostgreSQL: invalid_text_representation, e.g. a region's name given where its id belongs in a report
    filter): bad input that reached a query, not a server fault. The API answers it 422 and pages 400
    (core.middleware.OutOfRangeInputMiddleware), instead of a 500."""

    if isinstance(exc, OverflowError):
        return True
    if isinstance(exc, DataError):
        return getattr(exc.__cause__, "sqlstate", None) in ("22003", "22001", "22P02")
    return False
