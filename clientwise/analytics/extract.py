"""Extract the operational tables the models need into a Parquet snapshot, streamed in Arrow record batches.

Rows are read with a chunked cursor (server-side on PostgreSQL) `CHUNK_ROWS` at a time; each chunk becomes one
Arrow record batch and is appended to the table's Parquet file, so memory stays at one chunk per table no matter
how many orders there are. Conversions happen in the database where they are cheap and identical on both
back ends: timestamps become epoch seconds, money becomes double precision (float64 is fine for analytics;
write-back turns it into Decimal again), dates become day numbers. Timestamps are turned into the local
calendar day (`day`: days since 1970-01-01 in settings.TIME_ZONE) with Arrow compute, so the feature SQL only
does integer arithmetic on days and reads the same in DuckDB and Spark.

Snapshot layout (settings.ANALYTICS_DIR, default var/analytics): <dir>/<stamp>/<table>.parquet for the tables in
`TABLES`, plus manifest.json with row counts and timings.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.apps import apps
from django.conf import settings
from django.db import connection

CHUNK_ROWS = 100_000
EPOCH = dt.date(1970, 1, 1)


def analytics_dir() -> Path:
    return Path(getattr(settings, "ANALYTICS_DIR", None) or Path(settings.VAR_DIR) / "analytics")


# One column: (name, Arrow type, SQL expression kind, source column). Kinds: "plain" is read as is, "epoch"
# a timestamp read as epoch seconds (→ timestamp[s, UTC]), "float" a decimal read as double, "dayno" a date
# read as days since 1970-01-01 (int32), "bool" a boolean (SQLite gives 0/1).
@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "plain"
    type: pa.DataType = pa.int64()
    source: str = ""

    @property
    def src(self) -> str:
        return self.source or self.name


@dataclass(frozen=True)
class TableSpec:
    name: str
    model: str  # "app_label.ModelName": only its db_table is used, the rows never become model instances
    columns: tuple[Column, ...]
    where: str = ""
    params: tuple = ()
    day_from: str = ""  # an "epoch" column whose local calendar day is added as `day_column` (int32)
    day_column: str = "day"


def _str(name: str, source: str = "") -> Column:
    return Column(name, "plain", pa.string(), source)


TABLES: tuple[TableSpec, ...] = (
    TableSpec("customers", "customers.Customer", (
        Column("id"), _str("kind"), Column("organization_id"), _str("status"), Column("created_at", "epoch"),
        Column("since_day", "dayno", pa.int32(), "customer_since"),
        Column("birth_day", "dayno", pa.int32(), "birth_date"), _str("gender"), _str("province"), _str("city"),
        _str("urban_rural"), _str("income_band"), Column("owner_id"), Column("team_id"),
        Column("total_demand", "demand", pa.float64(), "custom"),
    ), where="{archived_at} IS NULL", day_from="created_at", day_column="created_day"),
    # Money in the base currency (settings.CURRENCY): an order's amount is its base_amount, its fx_rate converts
    # its lines' amounts (features.py multiplies them); the orders are those every total counts (completed and
    # converted: commerce.models.COUNTED), so an order waiting for an exchange rate is in no feature or report.
    TableSpec("orders", "commerce.Order", (
        Column("id"), Column("customer_id"), Column("ordered_at", "epoch"), Column("channel_id"),
        Column("store_id"), Column("amount", "float", pa.float64(), "base_amount"), Column("cost", "float", pa.float64()),
        Column("line_count"), Column("sales_rep_id"), Column("promoter_id"),  # reports: by rep / promoter
        Column("fx_rate", "float", pa.float64()),
    ), where="{status} = %s AND {fx_rate} IS NOT NULL", params=("completed",), day_from="ordered_at"),
    TableSpec("lines", "commerce.OrderLine", (
        Column("order_id"), Column("customer_id"), Column("product_id"),
        Column("quantity", "float", pa.float64()),  # NUMERIC(14,3): fractions for kg, L
        Column("amount", "float", pa.float64()),  # in the order's currency: × orders.fx_rate for the base currency
        Column("cost", "float", pa.float64()),
    )),
    TableSpec("returns", "commerce.Return", (
        Column("id"), Column("order_id"), Column("customer_id"), Column("returned_at", "epoch"),
        Column("amount", "float", pa.float64(), "base_amount"),
    ), where="{base_amount} IS NOT NULL", day_from="returned_at"),
    TableSpec("products", "commerce.Product", (
        Column("id"), _str("sku"), _str("name"), Column("category_id"), Column("unit_cost", "float", pa.float64()),
        Column("list_price", "float", pa.float64()),
    )),
    TableSpec("categories", "commerce.ProductCategory", (
        Column("id"), _str("code"), _str("name"), Column("parent_id"), Column("replenishable", "bool", pa.bool_()),
        Column("cycle_days"),
    )),
    TableSpec("channels", "commerce.Channel", (Column("id"), _str("code"), _str("kind"))),
)


def demand_attribute() -> str:
    """The custom attribute holding a customer's total yearly demand for what we sell (key accounts record it;
    share of wallet = our revenue over the last 12 months / this). settings.ANALYTICS_DEMAND_ATTRIBUTE."""
    key = str(getattr(settings, "ANALYTICS_DEMAND_ATTRIBUTE", "annual_demand"))
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", key):
        raise ValueError("ANALYTICS_DEMAND_ATTRIBUTE must be a custom attribute key (a-z, 0-9, _)")
    return key


def _expression(col: Column, qn: Callable[[str], str]) -> str:
    c = qn(col.src)
    if col.kind == "demand":  # a number stored in the custom-attributes JSON; anything else reads as null
        key = demand_attribute()
        if connection.vendor == "postgresql":
            return f"CASE WHEN jsonb_typeof({c} -> '{key}') = 'number' THEN CAST({c} ->> '{key}' AS DOUBLE PRECISION) END"
        return f"CASE WHEN json_type({c}, '$.{key}') IN ('integer', 'real') THEN json_extract({c}, '$.{key}') END"
    if connection.vendor == "postgresql":
        return {
            "plain": c, "bool": c,
            "epoch": f"CAST(EXTRACT(EPOCH FROM {c}) AS BIGINT)",
            "float": f"CAST({c} AS DOUBLE PRECISION)",
            "dayno": f"({c} - DATE '1970-01-01')",
        }[col.kind]
    return {  # SQLite: datetimes are stored as UTC text, decimals with numeric affinity, dates as text
        "plain": c, "bool": c,
        # %% because the query always goes through Django's format-style placeholders (params is a list).
        "epoch": f"CAST(strftime('%%s', {c}) AS INTEGER)",
        "float": f"CAST({c} AS REAL)",
        "dayno": f"CAST(julianday({c}) - 2440587.5 AS INTEGER)",
    }[col.kind]


def table_sql(spec: TableSpec) -> tuple[str, list]:
    qn = connection.ops.quote_name
    table = apps.get_model(spec.model)._meta.db_table
    cols = ", ".join(_expression(c, qn) for c in spec.columns)
    sql = f"SELECT {cols} FROM {qn(table)}"
    if spec.where:
        names = {c: qn(c) for c in ("archived_at", "status", "fx_rate", "base_amount")}
        sql += " WHERE " + spec.where.format(**names)
    return sql, list(spec.params)


def arrow_schema(spec: TableSpec) -> pa.Schema:
    fields = []
    for col in spec.columns:
        if col.kind == "epoch":
            fields.append(pa.field(col.name, pa.timestamp("s", tz="UTC")))
        else:
            fields.append(pa.field(col.name, col.type))
    if spec.day_from:
        fields.append(pa.field(spec.day_column, pa.int32()))
    return pa.schema(fields)


def local_day(ts: pa.Array, tz: str) -> pa.Array:
    """Days since 1970-01-01 of the local calendar date of UTC timestamps (int32)."""
    local = pc.local_timestamp(ts.cast(pa.timestamp("s", tz=tz)))
    return local.cast(pa.date32()).cast(pa.int32())


NUMERIC_KINDS = {"plain", "epoch", "float", "dayno"}


def _numeric(spec: TableSpec) -> bool:
    return all(c.kind in NUMERIC_KINDS and (pa.types.is_integer(c.type) or pa.types.is_floating(c.type))
               for c in spec.columns)


def _batch(spec: TableSpec, schema: pa.Schema, rows: list[tuple], tz: str) -> pa.RecordBatch:
    if _numeric(spec):
        # One C-level conversion of the whole chunk (None → NaN) instead of a Python pass per column: ids,
        # epochs and day numbers are far below 2^53, so float64 holds them exactly.
        matrix = np.array(rows, dtype=np.float64)
        columns = []
        for i, col in enumerate(spec.columns):
            values = matrix[:, i]
            missing = np.isnan(values)
            mask = missing if missing.any() else None
            if pa.types.is_floating(col.type):
                columns.append(pa.array(values, type=col.type, mask=mask))
            else:
                as_int = np.where(missing, 0, values).astype(np.int64)
                columns.append(pa.array(as_int, type=pa.int64() if col.kind == "epoch" else col.type, mask=mask))
    else:
        transposed = list(zip(*rows, strict=True))
        columns = []
        for i, col in enumerate(spec.columns):
            if col.kind == "bool":
                columns.append(pa.array([None if v is None else bool(v) for v in transposed[i]], type=pa.bool_()))
            else:
                columns.append(pa.array(transposed[i], type=pa.int64() if col.kind == "epoch" else col.type))
    arrays = []
    epochs: dict[str, pa.Array] = {}
    for col, arr in zip(spec.columns, columns, strict=True):
        if col.kind == "epoch":
            arr = arr.cast(pa.timestamp("s", tz="UTC"))
            epochs[col.name] = arr
        arrays.append(arr)
    if spec.day_from:
        arrays.append(local_day(epochs[spec.day_from], tz))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def stream_table(spec: TableSpec, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """Yield the table's rows as Arrow record batches of at most `chunk_rows` rows (read in this thread: the
    Django connection belongs to it)."""
    sql, params = table_sql(spec)
    schema = arrow_schema(spec)
    tz = settings.TIME_ZONE
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_rows):
            yield _batch(spec, schema, rows, tz)


@dataclass
class Snapshot:
    """A directory of Parquet files, one per table in TABLES."""

    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def file(self, table: str) -> Path:
        return self.path / f"{table}.parquet"

    @classmethod
    def open(cls, path: Path | str) -> Snapshot:
        path = Path(path)
        manifest = json.loads((path / "manifest.json").read_text())
        return cls(path=path, rows=manifest.get("rows", {}), seconds=manifest.get("seconds", {}))


def _write_table(spec: TableSpec, path: Path, chunk_rows: int, *, own_connection: bool) -> tuple[int, float]:
    started = time.perf_counter()
    n = 0
    try:
        with pq.ParquetWriter(path, arrow_schema(spec), compression="zstd") as writer:
            for batch in stream_table(spec, chunk_rows=chunk_rows):
                writer.write_batch(batch)
                n += batch.num_rows
    finally:
        if own_connection:
            connection.close()  # this worker thread's own connection
    return n, round(time.perf_counter() - started, 3)


def _threads() -> int:
    """Tables are read in parallel (one database connection per thread) unless the caller is inside a
    transaction (its uncommitted rows would be invisible to other connections) or the database is in memory."""
    if connection.in_atomic_block or connection.vendor == "sqlite" and connection.is_in_memory_db():
        return 1
    return max(1, int(getattr(settings, "ANALYTICS_EXTRACT_THREADS", 2)))


def extract_snapshot(*, stamp: str | None = None, chunk_rows: int = CHUNK_ROWS, root: Path | None = None,
                     progress: Callable[[str, int], None] | None = None) -> Snapshot:
    """Write every table of TABLES to <root>/<stamp>/<table>.parquet and return the snapshot.

    Each chunk is written as it arrives (one Parquet row group per chunk); with settings.ANALYTICS_EXTRACT_THREADS
    > 1 (default 2) the big tables are read at the same time over separate connections. `progress(table, rows)`
    is called after each table. A failure removes the half-written directory.
    """
    root = root or analytics_dir()
    stamp = stamp or dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    path = root / stamp
    path.mkdir(parents=True, exist_ok=False)
    snap = Snapshot(path=path)
    threads = _threads()
    try:
        if threads == 1:
            for spec in TABLES:
                snap.rows[spec.name], snap.seconds[spec.name] = _write_table(spec, snap.file(spec.name), chunk_rows,
                                                                             own_connection=False)
                if progress:
                    progress(spec.name, snap.rows[spec.name])
        else:
            # Largest first, so the long table does not start last.
            order = sorted(TABLES, key=lambda t: ("lines", "orders", "customers").index(t.name)
                           if t.name in ("lines", "orders", "customers") else 9)
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="extract") as pool:
                futures = {spec.name: pool.submit(_write_table, spec, snap.file(spec.name), chunk_rows,
                                                  own_connection=True) for spec in order}
                for spec in TABLES:
                    snap.rows[spec.name], snap.seconds[spec.name] = futures[spec.name].result()
                    if progress:
                        progress(spec.name, snap.rows[spec.name])
        (path / "manifest.json").write_text(json.dumps({"rows": snap.rows, "seconds": snap.seconds,
                                                        "time_zone": settings.TIME_ZONE, "threads": threads},
                                                       indent=1))
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return snap


def prune_snapshots(*, keep: int, root: Path | None = None, protect: Path | None = None) -> list[Path]:
    """Delete all but the `keep` newest snapshot directories (never `protect`). Returns what was removed."""
    root = root or analytics_dir()
    if not root.exists():
        return []
    dirs = sorted((p for p in root.iterdir() if p.is_dir() and (p / "manifest.json").exists()), key=lambda p: p.name)
    removed = []
    for old in dirs[:-keep] if keep > 0 else dirs:
        if protect is not None and old.resolve() == protect.resolve():
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed
