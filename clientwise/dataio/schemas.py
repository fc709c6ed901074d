"""API schemas of imports (exports keep theirs in exports.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from clientwise.core import masking


class ImportJobOut(Schema):
    id: int
    kind: str
    source: str
    file_name: str = Field(..., alias="original_name")
    format: str
    encoding: str
    status: str
    mapping: dict[str, str]
    options: dict[str, Any]
    total_rows: int | None
    created: int
    updated: int
    unchanged: int
    rejected: int
    skipped: int = Field(0, description="rows stored nowhere by the job's choice: void order lines under the "
                                        "option void_lines=skip")
    replayed: int
    last_row: int = Field(..., description="input row number of the last committed batch; resume continues after it")
    error: str
    result: dict[str, Any] = Field(default_factory=dict, description=(
        "what the import made besides its rows: created_references lists, per kind (categories, brands, units, "
        "regions, branches), the reference rows created under the option create_missing, as {id, code, name}"))
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ImportRunIn(Schema):
    resume: bool = Field(False, description="continue a failed job after its last committed row")


class ImportErrorOut(Schema):
    row_number: int
    field: str
    code: str
    message: str
    errors: list[dict[str, str]]
    status: str
    raw: dict[str, Any]

    @staticmethod
    def resolve_raw(obj, context) -> dict[str, Any]:
        request = (context or {}).get("request")
        masks = getattr(request, "pii_masks", None)
        if not masks:
            return obj.raw
        return {k: (MASKERS[masks[k]](v) if k in masks else v) for k, v in obj.raw.items()}


MASKERS = {"mobile": masking.mask_phone, "email": masking.mask_email, "id_number": masking.mask_id_number}


class ImportErrorPage(Schema):
    items: list[ImportErrorOut]
    next_cursor: str | None
    prev_cursor: str | None
