"""Error codes of the privacy app (the API's `code`, shown on pages with the same message)."""

from __future__ import annotations

import enum

from clientwise.core.errors import register_codes


class PrivacyErrorCode(enum.StrEnum):
    WRONG_STATUS = "request_closed"  # done or rejected: nothing more can happen to it
    REJECTED = "request_rejected"  # a rejected access request has nothing to export (400: exports are GETs)
    WRONG_KIND = "wrong_request_kind"  # e.g. erasing on an access request
    CONFIRMATION = "confirmation_mismatch"  # the erasure's typed confirmation is not the customer number
    MERGED = "customer_merged"  # the record was merged into another customer: the request belongs there
    NOT_EXPORTED = "not_exported"  # an access request is answered by an export first
    NEEDS_PII = "needs_pii_right"  # exports show personal data unmasked
    FILES_BUSY = "files_pending"  # file clean-up of an erasure is not in a state to run


# The HTTP status of each code is declared with the code (core.errors.register_codes); services never pass one.
register_codes(PrivacyErrorCode, {
    PrivacyErrorCode.WRONG_STATUS: 409, PrivacyErrorCode.MERGED: 409, PrivacyErrorCode.NOT_EXPORTED: 409,
    PrivacyErrorCode.NEEDS_PII: 403, PrivacyErrorCode.FILES_BUSY: 409,
})
