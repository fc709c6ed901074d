"""API shapes for identity: candidate pairs, merges."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema


class EvidenceItem(Schema):
    label: str
    weight: float
    bf: float


class DuplicateOut(Schema):
    id: int
    customer_a_id: int
    customer_b_id: int
    customer_a_name: str = ""
    customer_b_name: str = ""
    probability: float
    match_weight: float
    status: str
    evidence: dict[str, EvidenceItem]
    run_id: int | None
    created_at: dt.datetime
    decided_at: dt.datetime | None


class DuplicatePage(Schema):
    items: list[DuplicateOut]
    next_cursor: str | None
    prev_cursor: str | None


class DuplicateListParams(Schema):
    status: Literal["pending", "merged", "rejected"] = "pending"
    cursor: str | None = None
    size: int = Field(25, ge=1, le=100)


class DuplicateMergeIn(Schema):
    survivor_id: int | None = Field(None, description="One of the pair; by default the survivorship rules choose.")


class CustomerMergeIn(Schema):
    survivor_id: int
    duplicate_ids: list[int] = Field(..., min_length=1, max_length=50)


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_ids: list[int]
    moved: dict[str, Any]
    automatic: bool
    created_at: dt.datetime
    undone_at: dt.datetime | None
