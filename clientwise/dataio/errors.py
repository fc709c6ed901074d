"""Error codes of imports and the entry grid (a DomainError's `code`; the API, the pages, the quarantine and the
error files show the same one). Rows rejected by a domain rule carry that domain's code (commerce.errors,
customers via core.errors.ErrorCode)."""

from __future__ import annotations

import enum

from clientwise.core.errors import register_codes


class DataioErrorCode(enum.StrEnum):
    # The job
    JOB_BUSY = "job_busy"  # already queued, running or done
    NOT_ERROR_FILE = "not_an_error_file"  # a corrected error file that is not one of this job's
    BAD_MAPPING = "bad_mapping"  # a column mapping naming unknown fields or missing required ones
    # The file
    UNDECODABLE = "undecodable"  # not in a text encoding the reader recognises
    UNSUPPORTED_FORMAT = "unsupported_format"  # neither CSV/TSV, Excel, JSON lines nor Parquet
    EMPTY_FILE = "empty_file"  # no header or no rows
    BAD_FILE = "bad_file"  # damaged or unreadable as its format
    # A row
    PARSE = "unreadable_row"  # a row the reader could not split into the header's columns
    ORDER_INCOMPLETE = "order_incomplete"  # another line of the same order was rejected: the order waits whole
    AMBIGUOUS = "ambiguous_reference"  # a name or code that matches more than one record
    ORDER_CONFLICT = "order_conflict"  # the order number exists with different contents


register_codes(DataioErrorCode, {DataioErrorCode.JOB_BUSY: 409})
