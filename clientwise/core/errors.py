"""Domain errors carry a stable code; the API, HTMX forms and import quarantine all show the same code."""

from __future__ import annotations

import enum


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


class DomainError(Exception):
    """A business rule said no. `status` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, code: str, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = str(code)
        self.message = str(message)
        self.field = field
        if status is not None:
            self.status = status

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(DomainError):
    status = 404

    def __init__(self, message: str = "Not found.", field: str | None = None):
        super().__init__(ErrorCode.NOT_FOUND, message, field)


class PermissionDenied(DomainError):
    status = 403

    def __init__(self, message: str = "You do not have permission to do this.", field: str | None = None):
        super().__init__(ErrorCode.PERMISSION_DENIED, message, field)


class ValidationFailed(DomainError):
    """One or more fields are invalid. `errors` lists them all; the first is the headline."""

    status = 422

    def __init__(self, errors: list[DomainError]):
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = errors

    def as_dict(self) -> dict:
        data = super().as_dict()
        data["errors"] = [{"code": e.code, "message": e.message, "field": e.field} for e in self.errors]
        return data


def input_out_of_range(exc: BaseException) -> bool:
    """A number the database cannot hold (SQLite: OverflowError; PostgreSQL: numeric_value_out_of_range) or text
    longer than its column (string_data_right_truncation): bad input that reached a query, not a server fault. The
    API answers it 422 and pages 400 (core.middleware.OutOfRangeInputMiddleware), instead of a 500."""
    from django.db import DataError

    if isinstance(exc, OverflowError):
        return True
    if isinstance(exc, DataError):
        return getattr(exc.__cause__, "sqlstate", None) in ("22003", "22001")
    return False
