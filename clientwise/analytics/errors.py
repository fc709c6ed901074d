"""Error codes of the analytics app (a DomainError's `code`); the API, the pages and the CLI show the same one."""

from __future__ import annotations

import enum

from clientwise.core.errors import register_codes


class AnalyticsErrorCode(enum.StrEnum):
    """Codes of models trained on a company's own labels (labels.py, label_services.py)."""

    UNREADABLE_FILE = "unreadable_file"  # not a table this reader understands, or damaged
    MISSING_COLUMN = "missing_column"  # the chosen id or label column (or a trained feature) is not in the table
    LABEL_NOT_BINARY = "label_not_binary"  # more than two label values
    ONE_CLASS = "one_class"  # every labelled row has the same label
    INVALID_POSITIVE = "invalid_positive"  # the positive label is unknown or not named where it must be
    TOO_FEW_ROWS = "too_few_rows"  # too few labelled rows, or too few of the rarer class
    NO_FEATURES = "no_features"  # no column left to learn from
    NO_MATCH = "no_match"  # no row's id matches a customer the user may see
    MODEL_NAME_TAKEN = "model_name_taken"
    MODEL_FILE_MISSING = "model_file_missing"  # the fitted model's file under the var dir is gone


register_codes(AnalyticsErrorCode)
