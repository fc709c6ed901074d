"""API schemas of the reports app."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from clientwise.reports.spec import PivotSpec


class PivotResultOut(Schema):
    """rows × columns of cells; each cell maps measure id → value (null: no data). `rows`/`columns` are header
    paths: `keys` (what filters and drills), `labels` (what people read), `total` (a subtotal or the total).
    `pct`, `previous` and `change` have the cells' shape when the spec asks for them."""

    fact: str
    engine: str
    snapshot_at: str | None
    measures: list[dict[str, Any]]
    row_dims: list[dict[str, Any]]
    col_dims: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    columns: list[dict[str, Any]]
    cells: list[list[dict[str, Any] | None]]
    pct: list[list[dict[str, Any] | None]] | None = None
    previous: list[list[dict[str, Any] | None]] | None = None
    change: list[list[dict[str, Any] | None]] | None = None
    truncated: bool
    elapsed_ms: float
    cached: bool
    spec: dict[str, Any]


class ReportIn(Schema):
    name: str = Field(max_length=200)
    description: str = ""
    spec: PivotSpec
    chart: Literal["bar", "line", "pie", "table"] = "bar"
    shared_roles: list[str] = []


class ReportPatch(Schema):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = None
    spec: PivotSpec | None = None
    chart: Literal["bar", "line", "pie", "table"] | None = None
    shared_roles: list[str] | None = None


class ReportOut(Schema):
    id: int
    name: str
    description: str
    spec: dict[str, Any]
    chart: str
    owner_id: int | None
    shared_roles: list[str]
    system: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ReportPage(Schema):
    items: list[ReportOut]
    next_cursor: str | None


class DrillIn(Schema):
    spec: PivotSpec
    row: list[Any] = []
    column: list[Any] = []
    page: int = Field(default=1, ge=1, description="1-based page number")
    limit: int = Field(default=200, ge=1, le=1000, description="rows per page")


class DrillOut(Schema):
    kind: str = Field(description="lines (sales: order lines with their own amounts) or customers (other facts)")
    items: list[dict[str, Any]]
    filters: list[dict[str, Any]]
    page: int
    limit: int
    total: int = Field(description="how many lines (or customers) are behind the cell, over all pages")
    pages: int
    total_amount: Decimal | None = Field(default=None, description="sales: the sum of all the lines' amounts")


class ExportIn(Schema):
    spec: PivotSpec
    format: Literal["csv", "xlsx"] = "xlsx"
    report_id: int | None = None


class ScheduleIn(Schema):
    report_id: int
    recipients: list[str]
    frequency: Literal["daily", "weekly", "monthly"] = "weekly"
    format: Literal["csv", "xlsx"] = "xlsx"
    hour: int = Field(default=7, ge=0, le=23)


class ScheduleOut(Schema):
    id: int
    report_id: int
    recipients: list[str]
    frequency: str
    format: str
    hour: int
    active: bool
    next_run_at: dt.datetime
    last_sent_at: dt.datetime | None
