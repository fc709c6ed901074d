"""API schemas of data-subject requests (ninja): the request, its page, its inputs, and the access export."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from django.utils import timezone
from ninja import Field, Schema

from clientwise.privacy import rules
from clientwise.privacy.models import SubjectRequest

Kind = enum.StrEnum("Kind", {v: v for v in SubjectRequest.Kind.values})
Via = enum.StrEnum("Via", {v: v for v in SubjectRequest.Via.values})
StatusFilter = enum.StrEnum("StatusFilter", {v: v for v in ("active", *SubjectRequest.Status.values)})
Sort = enum.StrEnum("Sort", {"due_on": "due_on", "received_desc": "-received_at"})


class SubjectRequestIn(Schema):
    customer_id: int = Field(..., ge=1, le=2 ** 62)
    kind: Kind
    received_at: dt.datetime | None = Field(None, description="when the request arrived; default now. The answer "
                                                              "is due counted from its local date.")
    received_via: Via = Via.other
    notes: str = Field("", max_length=5000, description="no personal data: the log is kept after an erasure")


class RejectIn(Schema):
    reason: str = Field(..., min_length=1, max_length=1000)


class CompleteIn(Schema):
    resolution: str = Field("", max_length=5000)


class EraseIn(Schema):
    confirm: str = Field(..., max_length=30, description="the customer's number (its id), typed to confirm")


class SubjectRequestOut(Schema):
    id: int
    customer_id: int
    kind: str
    status: str
    received_at: dt.datetime
    received_via: str
    due_on: dt.date
    overdue: bool
    notes: str
    resolution: str
    created_by_id: int | None
    handled_by_id: int | None
    created_at: dt.datetime
    closed_at: dt.datetime | None
    exported_at: dt.datetime | None
    export_count: int
    result: dict[str, Any]
    file_status: str = Field(..., description="erasures: '', pending, running, done or failed (the after-commit "
                                              "clean-up of files)")
    file_report: dict[str, Any]

    @staticmethod
    def resolve_overdue(obj: SubjectRequest) -> bool:
        return rules.is_overdue(obj.status, obj.due_on, timezone.localdate())


class SubjectRequestPage(Schema):
    items: list[SubjectRequestOut]
    next_cursor: str | None


class ExportTable(Schema):
    key: str
    title: str
    columns: dict[str, str] = Field(..., description="column → label in the reader's language")
    rows: list[dict[str, Any]]


class ExportSection(Schema):
    key: str
    title: str
    tables: list[ExportTable]


class ExportRequest(Schema):
    id: int
    kind: str
    status: str
    received_at: dt.datetime
    due_on: dt.date


class PersonalDataExport(Schema):
    request: ExportRequest
    customer_id: int
    customer_ids: list[int] = Field(..., description="the customer and every record merged into it")
    generated_at: dt.datetime
    sections: list[ExportSection]
