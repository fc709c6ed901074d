"""API schemas of the quality app."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class QualityRunOut(Schema):
    id: int
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    stale_months: int
    customers: int
    counts: dict[str, int]
    avg_completeness: float | None
    avg_validity: float | None


class QualitySummaryOut(Schema):
    """Counts by problem and score distributions over the customers the caller may see."""

    run: QualityRunOut | None
    total: int
    avg_completeness: float | None
    avg_validity: float | None
    counts: dict[str, int]
    completeness_bands: list[int] = Field(description="customers with completeness 0–9, 10–19, …, 90–100")
    validity_bands: list[int] = Field(description="customers with validity 0–9, 10–19, …, 90–100")


class CustomerQualityOut(Schema):
    customer_id: int
    name: str = ""
    completeness: int
    validity: int
    filled: int
    fields: int
    passed: int
    checks: int
    problems: list[str]
    computed_at: dt.datetime


class CustomerQualityPage(Schema):
    items: list[CustomerQualityOut]
    next_cursor: str | None
    prev_cursor: str | None


class QualityRunIn(Schema):
    stale_months: int | None = Field(None, ge=1, le=240)


class QualityRunQueuedOut(Schema):
    task_id: str
    status: str
    run: QualityRunOut | None = Field(None, description="the finished run when the task ran at once")
