"""Audited exports of the customer list and the order list to CSV, XLSX and Parquet.

The service (`export_customers`, `export_orders`) checks the rights, applies exactly the filters the list pages
use to the rows the user may see, masks PII for users without view_pii and writes one audit row per export
(`export.customers` / `export.orders`, detail: format, filters, count, masked). Rows are read with
`values_list(...).iterator(chunk_size=…)` and written as they arrive, so a million-row export never holds the
whole result in memory:

- CSV (UTF-8 with a BOM, so Excel opens Chinese text correctly) is a generator streamed to the client; the audit
  row is written before the first byte leaves, with the count of the filtered queryset.
- XLSX (rustpy-xlsxwriter, constant memory) and Parquet (pyarrow, record batches of PARQUET_BATCH rows) are written to an
  anonymous temporary file which is then sent with FileResponse; the audit row carries the number of rows
  actually written.

Headers: the pages write the columns' names in the reader's language and the values that are codes (kind,
status, source) as their labels (core/labels.py) — a file is read by people. `?headers=codes` on a page, every
API call and every Parquet file keep the stable machine names and codes (`id, name, kind, …`, `person`, `active`)
that scripts read by name.

The thin page views and the API router at the bottom only parse the request and call the service.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connections
from django.db.models import DecimalField, ExpressionWrapper, F
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from ninja import Query, Router
from pydantic import ValidationError
from pydantic.json_schema import SkipJsonSchema
from rustpy_xlsxwriter import Format, write_worksheet

from clientwise.commerce import queries as commerce_queries
from clientwise.commerce.schemas import OrderFilterIn
from clientwise.core import labels, masking, spreadsheet
from clientwise.core import permissions as perms
from clientwise.core.audit import audit
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.customers import queries as customer_queries
from clientwise.customers.filters import CustomerListParams
from clientwise.customers.models import ContactPoint, CustomerTag

ExportFormat = Literal["csv", "xlsx", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "parquet")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
CHUNK = 2000  # rows fetched per database round trip (and per lookup of tags, contact points, names)
PARQUET_BATCH = 50_000  # rows per Parquet record batch (row group)

MONEY = pa.decimal128(14, 2)
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    """One exported column: its machine name, its Arrow type (Parquet), for PII the masking function, its header
    for people (a lazy translation) and, for a column of codes, the label kind its values are read through."""

    name: str
    arrow: pa.DataType = field(default_factory=pa.string)
    mask: Callable[[str | None], str] | None = None
    label: Any = ""
    kind: str = ""


Headers = Literal["labels", "codes"]


# The first 18 customer columns are those of the customer list's original CSV export, in the same order.
CUSTOMER_COLUMNS = (
    Column("id", pa.int64(), label=pgettext_lazy("export column", "ID")),
    Column("name", label=pgettext_lazy("export column", "Name")),
    Column("kind", kind="customers.customer.kind", label=pgettext_lazy("export column", "Kind")),
    Column("member_number", label=pgettext_lazy("export column", "Member number")),
    Column("status", kind="customers.customer.status", label=pgettext_lazy("export column", "Status")),
    Column("mobile", mask=masking.mask_phone, label=pgettext_lazy("export column", "Mobile")),
    Column("email", mask=masking.mask_email, label=pgettext_lazy("export column", "Email")),
    Column("id_number", mask=masking.mask_id_number, label=pgettext_lazy("export column", "ID number")),
    Column("province", label=pgettext_lazy("export column", "Province")),
    Column("city", label=pgettext_lazy("export column", "City")),
    Column("owner", label=pgettext_lazy("export column", "Owner")),
    Column("team", label=pgettext_lazy("export column", "Team")),
    Column("tags", label=pgettext_lazy("export column", "Tags")),
    Column("order_count", pa.int64(), label=pgettext_lazy("export column", "Orders")),
    Column("revenue", MONEY, label=pgettext_lazy("export column", "Revenue")),
    Column("first_order_at", TIMESTAMP, label=pgettext_lazy("export column", "First order")),
    Column("last_order_at", TIMESTAMP, label=pgettext_lazy("export column", "Last order")),
    Column("created_at", TIMESTAMP, label=pgettext_lazy("export column", "Created")),
    Column("wechat", mask=masking.mask_wechat, label=pgettext_lazy("export column", "WeChat ID")),
    Column("address", mask=masking.mask_text, label=pgettext_lazy("export column", "Postal address")),
)
_CUSTOMER_FIELDS = ("id", "name", "kind", "member_number", "status", "mobile", "email", "id_number", "province",
                    "city", "owner_id", "team_id", "stats__order_count", "stats__revenue", "stats__first_order_at",
                    "stats__last_order_at",
                    "created_at")

ORDER_COLUMNS = (
    Column("id", pa.int64(), label=pgettext_lazy("export column", "ID")),
    Column("number", label=pgettext_lazy("export column", "Order number")),
    Column("ordered_at", TIMESTAMP, label=pgettext_lazy("export column", "Ordered at")),
    Column("status", kind="commerce.order.status", label=pgettext_lazy("export column", "Status")),
    Column("customer_id", pa.int64(), label=pgettext_lazy("export column", "Customer ID")),
    Column("customer_name", label=pgettext_lazy("export column", "Customer")),
    Column("customer_mobile", mask=masking.mask_phone, label=pgettext_lazy("export column", "Customer mobile")),
    Column("store_code", label=pgettext_lazy("export column", "Store code")),
    Column("store_name", label=pgettext_lazy("export column", "Store")),
    Column("channel", label=pgettext_lazy("export column", "Channel")),
    Column("sales_rep", label=pgettext_lazy("export column", "Sales rep")),
    Column("currency", label=pgettext_lazy("export column", "Currency")),
    Column("subtotal", MONEY, label=pgettext_lazy("export column", "Subtotal")),
    Column("discount", MONEY, label=pgettext_lazy("export column", "Discount")),
    Column("amount", MONEY, label=pgettext_lazy("export column", "Amount")),
    Column("line_count", pa.int64(), label=pgettext_lazy("export column", "Lines")),
    Column("source", kind="source", label=pgettext_lazy("export column", "Source")),
    Column("external_id", label=pgettext_lazy("export column", "External ID")),
)
# only for users with orders.view_costs
ORDER_COST_COLUMNS = (Column("cost", MONEY, label=pgettext_lazy("export column", "Cost")),
                      Column("margin", MONEY, label=pgettext_lazy("export column", "Margin")))
_ORDER_FIELDS = ("id", "number", "ordered_at", "status", "customer_id", "customer__name", "customer__mobile",
                 "store__code", "store__name", "channel__name", "sales_rep_id", "currency", "subtotal", "discount",
                 "amount", "line_count", "source", "external_id", "cost", "export_margin")


@dataclass
class ExportFile:
    """A finished (or streaming) export: exactly one of `chunks` (CSV) and `file` (XLSX, Parquet) is set."""

    filename: str
    content_type: str
    count: int
    masked: bool
    chunks: Iterator[str] | None = None
    file: IO[bytes] | None = None


# ----- rows ---------------------------------------------------------------------------------------------------


def _batched(iterable: Iterable, size: int) -> Iterator[list]:
    it = iter(iterable)
    while batch := list(islice(it, size)):
        yield batch


def _utc_datetime(value: dt.datetime | str | None) -> dt.datetime | None:
    """A stored UTC time as an aware datetime: Django's SQLite connection already parses a datetime column's text
    into a naive datetime (detect_types); an expression's value is still ISO text."""
    if value is None:
        return None
    if type(value) is str:
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC)


def _fast_converter(expression, connection, *, exact: bool) -> Callable[[Any], Any] | None | bool:
    """For SQLite, one direct conversion of a column's raw value to what Django's converters give (None when the
    raw value is already right, False when this column needs Django's own converters): times are naive UTC and
    become aware; money comes back as float or int and becomes a Decimal with the field's places
    (the same correctly rounded value Django's quantize gives), or stays a float when not `exact` (XLSX)."""
    field = expression.output_field
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return _utc_datetime
    if kind == "DecimalField" and not exact:
        return None  # the driver's float or int: the number a spreadsheet stores anyway
    if kind == "DecimalField" and field.decimal_places is not None:
        spec = f".{field.decimal_places}f"
        return lambda v: None if v is None else Decimal(format(v, spec))
    if connection.ops.get_db_converters(expression) or expression.get_db_converters(connection):
        return False
    return None


def _value_chunks(qs, fields: tuple[str, ...], size: int = CHUNK, *, exact: bool = True) -> Iterator[list[tuple]]:
    """`qs.values_list(*fields)` in lists of `size` rows, with the values Django would give.

    On SQLite Django converts every time and money value through a chain of generic per-value converters — most
    of an export's time at 100,000 orders (profiled). Here the query Django compiles is run as it is and each
    column that needs it is converted once per chunk with one direct function (see _fast_converter). Other
    databases' drivers already return datetimes and Decimals, so their rows come from values_list unchanged.
    Without `exact`, money on SQLite stays the float the driver gives (for XLSX, whose numbers are doubles)."""
    vqs = qs.values_list(*fields)
    connection = connections[vqs.db]
    compiler = vqs.query.get_compiler(using=vqs.db)
    sql, params = compiler.as_sql()
    converters = [_fast_converter(expr, connection, exact=exact) for expr, _sql, _alias in compiler.select]
    query = vqs.query
    names = [*query.extra_select, *query.values_select, *query.annotation_select]  # the SELECT's column order
    if connection.vendor != "sqlite" or names != list(fields) or len(converters) != len(fields) or False in converters:
        yield from _batched(vqs.iterator(chunk_size=size), size)
        return
    todo = [(i, f) for i, f in enumerate(converters) if f]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(size):
            if todo:
                columns = list(zip(*chunk, strict=True))
                for i, f in todo:
                    columns[i] = list(map(f, columns[i]))
                chunk = list(zip(*columns, strict=True))
            yield chunk


class _Names:
    """str() of users and teams by id, looked up once per id (there are few of them, and many rows)."""

    def __init__(self, model_label: str):
        self.model = apps.get_model(model_label)
        self.names: dict[int, str] = {}

    def fill(self, ids: Iterable[int | None]) -> None:
        missing = {i for i in ids if i is not None and i not in self.names}
        if missing:
            self.names.update({obj.pk: str(obj) for obj in self.model.objects.filter(pk__in=missing)})

    def __getitem__(self, pk: int | None) -> str:
        return self.names.get(pk, "") if pk is not None else ""


def _customer_extras(ids: list[int]) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Tags (sorted, ';'-joined), primary WeChat ID and primary postal address of a chunk of customers."""
    tags: dict[int, list[str]] = {}
    for customer_id, name in CustomerTag.objects.filter(customer_id__in=ids).values_list("customer_id", "tag__name"):
        tags.setdefault(customer_id, []).append(name)
    wechat: dict[int, str] = {}
    address: dict[int, str] = {}
    points = (ContactPoint.objects.filter(customer_id__in=ids, kind__in=("wechat", "address"))
              .order_by("customer_id", "-is_primary", "id").values_list("customer_id", "kind", "value"))
    for customer_id, kind, value in points:
        target = wechat if kind == "wechat" else address
        target.setdefault(customer_id, value)  # the primary one, else the oldest
    return {k: ";".join(sorted(v)) for k, v in tags.items()}, wechat, address


def customer_rows(qs, *, pii: bool, exact: bool = True) -> Iterator[tuple]:
    """Rows of CUSTOMER_COLUMNS for a Customer queryset (already filtered and ordered), PII masked unless `pii`;
    money as Decimal, or as float when not `exact` (see _value_chunks)."""
    owners, teams = _Names("accounts.User"), _Names("accounts.Team")
    masks = {i: c.mask for i, c in enumerate(CUSTOMER_COLUMNS) if c.mask and not pii}
    for chunk in _value_chunks(qs, _CUSTOMER_FIELDS, exact=exact):
        owners.fill(r[10] for r in chunk)
        teams.fill(r[11] for r in chunk)
        tags, wechat, address = _customer_extras([r[0] for r in chunk])
        for r in chunk:
            row = (*r[:10], owners[r[10]], teams[r[11]], tags.get(r[0], ""), *r[12:],
                   wechat.get(r[0], ""), address.get(r[0], ""))
            yield tuple(masks[i](v) if i in masks else v for i, v in enumerate(row)) if masks else row


def order_rows(qs, *, pii: bool, costs: bool, exact: bool = True) -> Iterator[tuple]:
    """Rows of ORDER_COLUMNS (+ ORDER_COST_COLUMNS when `costs`) for an Order queryset, PII masked unless `pii`;
    money as Decimal, or as float when not `exact` (see _value_chunks)."""
    reps = _Names("accounts.User")
    mask_mobile = None if pii else masking.mask_phone
    qs = qs.annotate(export_margin=ExpressionWrapper(F("amount") - F("cost"), output_field=MONEY_FIELD))  # the margin in SQL, not per row in Python
    for chunk in _value_chunks(qs, _ORDER_FIELDS, exact=exact):
        reps.fill(r[10] for r in chunk)
        for r in chunk:
            mobile = mask_mobile(r[6]) if mask_mobile else r[6]
            row = (*r[:6], mobile, r[7] or "", r[8] or "", r[9] or "", reps[r[10]], *r[11:18])
            yield (*row, r[18], r[19]) if costs else row


# ----- writers ------------------------------------------------------------------------------------------------


def _maybe_formula(text: str) -> bool:
    """A cheap necessary condition for spreadsheet.neutralize to change `text`: it can only mark a text whose first
    character is a formula trigger, white space or the mark itself. Most cells fail it and skip the full rule."""
    first = text[:1]
    return first in spreadsheet.FORMULA_TRIGGERS or first == spreadsheet.MARK or first.isspace()


def _csv_converters(columns: tuple[Column, ...]) -> list[Callable[[Any], Any]]:
    """One function per column turning a value into its CSV cell (chosen once, not per cell): times as local
    `YYYY-MM-DD HH:MM`, None as "", formula-like text marked (core/spreadsheet.py), anything else as it is."""
    tz = timezone.get_current_timezone()

    def time_cell(v):
        if v is None:
            return ""
        if isinstance(v, dt.datetime):
            return (v.astimezone(tz) if v.tzinfo is not None else v).strftime("%Y-%m-%d %H:%M")
        return text_cell(v)

    def text_cell(v):
        if v is None:
            return ""
        if type(v) is str:
            return spreadsheet.neutralize(v) if _maybe_formula(v) else v
        if isinstance(v, dt.datetime):
            return time_cell(v)
        return v

    def number_cell(v):
        return "" if v is None else (v if isinstance(v, int | float | Decimal) else text_cell(v))

    return [time_cell if pa.types.is_timestamp(c.arrow)
            else number_cell if pa.types.is_integer(c.arrow) or pa.types.is_decimal(c.arrow)
            else text_cell for c in columns]


class _Echo:
    """A file-like object whose write() returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def header_names(columns: tuple[Column, ...], headers: Headers = "codes") -> list[str]:
    """The header row: machine names, or the columns' names in the active language."""
    return [str(c.label) if headers == "labels" and c.label else c.name for c in columns]


def labelled_rows(columns: tuple[Column, ...], rows: Iterable[tuple]) -> Iterator[tuple]:
    """Rows with the values of code columns (Column.kind) as their labels in the active language; a value no
    table knows stays as it is (a source an installation named itself)."""
    tables = {i: dict(labels.choices(c.kind)) for i, c in enumerate(columns) if c.kind}
    if not tables:
        yield from rows
        return
    for row in rows:
        yield tuple(tables[i].get(v, v) if i in tables and isinstance(v, str) else v for i, v in enumerate(row))


def csv_chunks(columns: tuple[Column, ...], rows: Iterable[tuple], names: list[str] | None = None) -> Iterator[str]:
    """The header (after a BOM) and then about CHUNK rows per yielded string."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([spreadsheet.neutralize(n) for n in names or header_names(columns)])
    cells = _csv_converters(columns)
    for batch in _batched(rows, CHUNK):
        yield "".join([writer.writerow([f(v) for f, v in zip(cells, row, strict=True)]) for row in batch])


_SHEET_NAME_BAD = re.compile(r"[\\/*?:\[\]]")


def sheet_name(title: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of \\ / * ? : [ ] (each becomes "_")."""
    return _SHEET_NAME_BAD.sub("_", title).strip("'")[:31] or "Sheet1"


def _unique_headers(names: list[str]) -> list[str]:
    """The header texts with a repeated one numbered ("Revenue", "Revenue (2)"): the writer keys a row by header."""
    used: set[str] = set()
    out = []
    for name in names:
        label, n = name, 1
        while label in used:
            n += 1
            label = f"{name} ({n})"
        used.add(label)
        out.append(label)
    return out


EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of Excel's (1900) date system, as used after 1900-03-01
XLSX_TIME_FORMAT = "yyyy-mm-dd hh:mm"


def excel_serial(value: dt.datetime | None, tz: dt.tzinfo | None = None) -> float | None:
    """A time as Excel stores it: days since EXCEL_EPOCH in local wall-clock time (Excel has no time zones),
    with the fraction of the day down to the microsecond (a datetime written by the library keeps only seconds).
    `tz` is the display time zone (looked up when not given)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(tz or timezone.get_current_timezone()).replace(tzinfo=None)
    return (value - EXCEL_EPOCH) / _DAY


_DAY = dt.timedelta(days=1)


def write_xlsx(columns: tuple[Column, ...], rows: Iterable[tuple], out: IO[bytes], *, title: str,
               names: list[str] | None = None) -> int:
    """Write a one-sheet workbook (bold frozen header) and return the number of data rows.

    rustpy-xlsxwriter (rust_xlsxwriter underneath) streams the rows in its constant-memory mode: each row goes to
    the sheet's temporary file as it comes, and only the zip is assembled at the end. Every ``str`` is written as
    a text cell, never as a formula, so a formula-like value (core/spreadsheet.py) stays inert text, unchanged;
    numbers (int, float, Decimal) are numbers, timestamp columns local ``yyyy-mm-dd hh:mm``, None an empty cell.
    """
    keys = _unique_headers(names or header_names(columns))
    times = [i for i, c in enumerate(columns) if pa.types.is_timestamp(c.arrow)]
    tz = timezone.get_current_timezone()
    count = 0

    def records() -> Iterator[dict[str, Any]]:
        nonlocal count
        for row in rows:
            count += 1
            if times:
                row = list(row)
                for i in times:
                    row[i] = excel_serial(row[i], tz)
            yield dict(zip(keys, row, strict=True))

    time_format = Format().set_num_format(XLSX_TIME_FORMAT)
    write_worksheet(records(), out, sheet_name=sheet_name(title), freeze_row=1, bold_headers=True,
                    datetime_format=XLSX_TIME_FORMAT, column_formats={keys[i]: time_format for i in times})
    return count


def _arrow_value(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if kind == MONEY and not isinstance(value, Decimal):
        return Decimal(str(value))
    if pa.types.is_string(kind) and not isinstance(value, str):
        return str(value)
    return value


def _arrow_array(values: list, kind: pa.DataType) -> pa.Array:
    """One column of a record batch: pyarrow converts the values in C; only a column holding other Python types
    than its Arrow type takes (money as float, a number in a text column) goes value by value."""
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_arrow_value(v, kind) for v in values], type=kind)


def write_parquet(columns: tuple[Column, ...], rows: Iterable[tuple], out: IO[bytes]) -> int:
    """Write Parquet in record batches of PARQUET_BATCH rows (one row group each); returns the count."""
    schema = pa.schema([pa.field(c.name, c.arrow) for c in columns])
    count = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for batch in _batched(rows, PARQUET_BATCH):
            arrays = [_arrow_array([row[i] for row in batch], c.arrow) for i, c in enumerate(columns)]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            count += len(batch)
    return count


def _build(*, fmt: str, stem: str, title: str, columns: tuple[Column, ...], rows: Iterable[tuple],
           count_first: Callable[[], int], record: Callable[[int], None], masked: bool,
           headers: Headers = "codes") -> ExportFile:
    filename = f"{stem}-{timezone.localdate():%Y%m%d}.{fmt}"
    labelled = headers == "labels" and fmt != "parquet"  # Parquet is read by tools: always the machine names
    names = header_names(columns, "labels" if labelled else "codes")
    if labelled:
        rows = labelled_rows(columns, rows)
    if fmt == "csv":
        count = count_first()
        record(count)
        return ExportFile(filename, CONTENT_TYPES[fmt], count, masked, chunks=csv_chunks(columns, rows, names))
    # No name on disk, gone when closed; FileResponse closes it after sending, so no `with` here.
    out = tempfile.TemporaryFile(prefix="clientwise-export-")  # noqa: SIM115
    try:
        count = (write_xlsx(columns, rows, out, title=title, names=names) if fmt == "xlsx"
                 else write_parquet(columns, rows, out))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    record(count)
    return ExportFile(filename, CONTENT_TYPES[fmt], count, masked, file=out)


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise DomainError(ErrorCode.INVALID, _("Choose CSV, XLSX or Parquet."), "format")
    return fmt


# ----- the service --------------------------------------------------------------------------------------------


def export_customers(*, actor, params: CustomerListParams, fmt: str, headers: Headers = "codes") -> ExportFile:
    """Export the customers `actor` may see that match the customer list's filters, in its sort order;
    `headers="labels"`: column names and coded values in the active language (CSV and XLSX).

    Needs customers.view and data.export (PermissionDenied otherwise, and nothing is recorded). PII columns
    (mobile, email, ID number, WeChat, address) are masked unless the actor has view_pii. Writes one audit row
    `export.customers` with {format, filters, count, masked}.
    """
    perms.require(actor, perms.VIEW_CUSTOMERS)
    perms.require(actor, perms.EXPORT)
    _check_format(fmt)
    pii = perms.can_view_pii(actor)
    sort_field = customer_queries.SORTS.get(params.sort, "name_pinyin")
    qs = customer_queries.filter_customers(customer_queries.visible_customers(actor), params.to_filters())
    qs = qs.order_by(sort_field, "-id" if sort_field.startswith("-") else "id")
    filters = params.filter_dict()

    def record(count: int) -> None:
        audit(actor=actor, action="export.customers", object_type="customers.customer",
              detail={"format": fmt, "filters": filters, "count": count, "masked": not pii})

    return _build(fmt=fmt, stem="customers", title=_("Customers"), columns=CUSTOMER_COLUMNS,
                  rows=customer_rows(qs, pii=pii, exact=fmt != "xlsx"), count_first=qs.count, record=record,
                  masked=not pii, headers=headers)


def order_filters(data: OrderFilterIn) -> commerce_queries.OrderFilters:
    """The order list's filter dataclass from its query-string schema."""
    return commerce_queries.OrderFilters(
        q=data.q, date_from=data.date_from, date_to=data.date_to, store=data.store_id, channel=data.channel_id,
        status=data.status, customer=data.customer_id, amount_min=data.amount_min, amount_max=data.amount_max)


def export_orders(*, actor, filters: OrderFilterIn, fmt: str, headers: Headers = "codes") -> ExportFile:
    """Export the orders `actor` may see that match the order list's filters, newest first (`headers` as for
    export_customers).

    Needs orders.view and data.export. The customer's mobile is masked unless the actor has view_pii; cost
    and margin columns are present only for users with orders.view_costs. Writes one audit row
    `export.orders` with {format, filters, count, masked}.
    """
    perms.require(actor, perms.VIEW_ORDERS)
    perms.require(actor, perms.EXPORT)
    _check_format(fmt)
    pii = perms.can_view_pii(actor)
    costs = commerce_queries.can_view_cost(actor)
    qs = commerce_queries.filter_orders(commerce_queries.visible_orders(actor), order_filters(filters), actor)
    qs = qs.order_by("-ordered_at", "-id")
    detail_filters = {k: (v if isinstance(v, bool | int) else str(v))
                      for k, v in filters.model_dump(exclude_defaults=True).items()}

    def record(count: int) -> None:
        audit(actor=actor, action="export.orders", object_type="commerce.order",
              detail={"format": fmt, "filters": detail_filters, "count": count, "masked": not pii})

    columns = ORDER_COLUMNS + ORDER_COST_COLUMNS if costs else ORDER_COLUMNS
    return _build(fmt=fmt, stem="orders", title=_("Orders"), columns=columns,
                  rows=order_rows(qs, pii=pii, costs=costs, exact=fmt != "xlsx"), count_first=qs.count, record=record,
                  masked=not pii, headers=headers)


def as_response(export: ExportFile) -> HttpResponseBase:
    """StreamingHttpResponse for CSV, FileResponse (which closes the temporary file) for XLSX and Parquet."""
    if export.chunks is not None:
        response: HttpResponseBase = StreamingHttpResponse(export.chunks, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    else:
        response = FileResponse(export.file, as_attachment=True, filename=export.filename,
                                content_type=export.content_type)
    response["X-Export-Rows"] = str(export.count)
    response["Cache-Control"] = "no-store"
    return response


# ----- pages (thin) -------------------------------------------------------------------------------------------


def parse_order_query(query) -> OrderFilterIn:
    """The order list page's lenient parsing: an invalid filter in the address bar is dropped, not fatal."""
    data = {k: query.get(k) for k in OrderFilterIn.model_fields if (query.get(k) or "").strip()}
    while True:
        try:
            return OrderFilterIn.model_validate(data)
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")} & set(data)
            if not bad:
                return OrderFilterIn()
            for name in bad:
                data.pop(name)


def _page_export(run: Callable[[], ExportFile]) -> HttpResponseBase:
    try:
        return as_response(run())
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(exc.message) from None
        raise


def _page_headers(request) -> Headers:
    """A page's download is read by people (labels), unless `?headers=codes` asks for the machine names."""
    return "codes" if request.GET.get("headers") == "codes" else "labels"


@login_required
def customer_export_view(request, fmt: str):
    """/data/export/customers.<fmt>?<the customer list's query string>[&headers=codes]"""
    params = CustomerListParams.from_query(request.GET)
    return _page_export(lambda: export_customers(actor=request.user, params=params, fmt=fmt,
                                                 headers=_page_headers(request)))


@login_required
def order_export_view(request, fmt: str):
    """/data/export/orders.<fmt>?<the order list's query string>[&headers=codes]"""
    filters = parse_order_query(request.GET)
    return _page_export(lambda: export_orders(actor=request.user, filters=filters, fmt=fmt,
                                              headers=_page_headers(request)))


# ----- API (thin; mounted by dataio.api) ----------------------------------------------------------------------

router = Router(tags=["exports"])


class CustomerExportQuery(CustomerListParams):
    """The customer list filters plus the file format (an export has no page: cursor and size are ignored)."""

    cursor: SkipJsonSchema[str | None] = None
    size: SkipJsonSchema[int] = 25
    # Spelled out: Customer.Kind would register a schema named "Kind" that clashes with Interaction.Kind.
    kind: Literal["person", "organization"] | None = None
    format: ExportFormat = "csv"


class OrderExportQuery(OrderFilterIn):
    """The order list filters plus the file format."""

    format: ExportFormat = "csv"


@router.get("/exports/customers", summary="Export customers")
def api_export_customers(request, query: Query[CustomerExportQuery]):
    """The visible customers matching the list filters as a CSV (streamed), XLSX or Parquet file.
    PII is masked without view_pii; needs data.export; audited as export.customers."""
    # An export has no page: cursor and size are ignored (not validated against the list's page size).
    params = CustomerListParams.model_validate(query.model_dump(exclude={"format", "cursor", "size"}))
    return as_response(export_customers(actor=request.user, params=params, fmt=query.format))


@router.get("/exports/orders", summary="Export orders")
def api_export_orders(request, query: Query[OrderExportQuery]):
    """The visible orders matching the order list filters as a CSV (streamed), XLSX or Parquet file.
    The customer's mobile is masked without view_pii; needs data.export; audited as export.orders."""
    filters = OrderFilterIn.model_validate(query.model_dump(exclude={"format"}))
    return as_response(export_orders(actor=request.user, filters=filters, fmt=query.format))
