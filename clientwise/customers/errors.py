"""Error codes of customers (a DomainError's `code`; the API, the pages and the import quarantine show the same
one). Most customer rules answer with core's shared codes (invalid_phone, duplicate, …)."""

from __future__ import annotations

import enum

from clientwise.core.errors import register_codes


class CustomersErrorCode(enum.StrEnum):
    CUSTOMER_ARCHIVED = "customer_archived"  # an archived customer takes no orders or imported changes: restore first


register_codes(CustomersErrorCode, {CustomersErrorCode.CUSTOMER_ARCHIVED: 409})
