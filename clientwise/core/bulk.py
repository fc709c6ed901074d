"""Bulk inserts for hot write paths (imports, timelines): one prepared INSERT executed for all rows on SQLite,
one COPY on PostgreSQL, writing the column values Django's `bulk_create` would write.

`bulk_create` builds a model instance per row and compiles every value through the field's
`get_db_prep_save` into multi-row INSERT statements; at import sizes that costs more than the database's own
work. `BulkInsert` decides once per field how a value becomes a column value (the field's own
`get_db_prep_save`, skipped only for the Python types it returns unchanged; dates and datetimes cached per
value), fills the fields the caller leaves out with their defaults and auto_now / auto_now_add fields with
one timestamp per call, and writes row tuples. No signals are sent and no `save()` runs — as with
`bulk_create`.

Primary keys: `reserve_ids(model, n)` hands out the ids the database would (SQLite: past both MAX(id) and
sqlite_sequence, under the write lock; PostgreSQL: `nextval` of the table's sequence), so a caller can write
child rows that point at new parents without reading anything back. Call it inside the transaction that
writes the rows.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone


class JsonText(str):
    """JSON already encoded the way Django encodes a JSONField value (`json.dumps(value)`, default encoder):
    written as is instead of being encoded again."""


# Field classes whose get_db_prep_save returns a value of these exact types unchanged (or an equal value:
# DecimalField makes Decimal(value), PostgreSQL wraps ints for binding; the stored value is the same).
_PASS_THROUGH: dict[str, tuple[type, ...]] = {
    "CharField": (str,), "TextField": (str,), "SlugField": (str,), "EmailField": (str,), "URLField": (str,),
    "IntegerField": (int,), "BigIntegerField": (int,), "SmallIntegerField": (int,),
    "PositiveIntegerField": (int,), "PositiveBigIntegerField": (int,), "PositiveSmallIntegerField": (int,),
    "AutoField": (int,), "BigAutoField": (int,), "SmallAutoField": (int,),
    "BooleanField": (bool,), "DecimalField": (decimal.Decimal,),
}


def column_value(field: models.Field, connection) -> tuple[Callable[[Any], Any], frozenset[type]]:
    """(value -> column value equal to field.get_db_prep_save(value, connection), the exact Python types that
    converter returns unchanged)."""
    prep = field.get_db_prep_save
    internal = field.get_internal_type()
    if field.is_relation:
        internal = field.target_field.get_internal_type()
        if internal in ("AutoField", "BigAutoField", "SmallAutoField"):
            internal = "IntegerField"
    if internal == "JSONField":
        encoded = field.encoder is None  # JsonText is json.dumps(value), what Django writes without an encoder

        def json_value(value):
            if type(value) is JsonText:
                if not encoded:
                    raise ValueError(f"{field} has its own JSON encoder: pass the value, not JsonText")
                return str(value)
            return prep(value, connection)
        return json_value, frozenset()
    if internal == "DateTimeField" and settings.USE_TZ and connection.vendor in ("sqlite", "postgresql"):
        # An aware datetime: PostgreSQL takes it as it is; SQLite stores str() of it made naive in the
        # connection's time zone (DatabaseOperations.adapt_datetimefield_value). Anything else: the field.
        sqlite_zone = connection.timezone if connection.vendor == "sqlite" else None
        # SQLite: the same moment is often written again (an order, its timeline row). Keyed with its tzinfo and
        # fold: datetimes of one zone compare equal on their wall time alone, whatever their fold.
        texts: dict[tuple, str] = {}

        def aware(value):
            if type(value) is dt.datetime and value.tzinfo is not None:
                if sqlite_zone is None:
                    return value
                key = (value, value.tzinfo, value.fold)
                try:
                    return texts[key]
                except KeyError:
                    if len(texts) > 100_000:
                        texts.clear()
                    out = texts[key] = str(value.astimezone(sqlite_zone).replace(tzinfo=None))
                    return out
            return prep(value, connection)
        return aware, frozenset()
    if internal in ("DateTimeField", "DateField"):
        cache: dict[Any, Any] = {}

        def temporal(value):
            if value is None:
                return prep(None, connection)
            try:
                return cache[value]
            except KeyError:
                out = cache[value] = prep(value, connection)
                if len(cache) > 100_000:
                    cache.clear()
                    cache[value] = out
                return out
        return temporal, frozenset()
    if internal == "DecimalField" and connection.vendor == "sqlite" and _sqlite_binds_decimal_as_str():
        # Django's SQLite backend binds a Decimal as str(value) (sqlite3.register_adapter(Decimal, str)); the
        # adapter protocol costs more per value than the insert's own work on a column, so bind that text.
        none_ok = field.null and prep(None, connection) is None

        def decimal_text(value):
            if type(value) is decimal.Decimal:
                return str(value)
            if value is None and none_ok:
                return None
            out = prep(value, connection)
            return str(out) if type(out) is decimal.Decimal else out
        decimal_text.whole_column = (decimal.Decimal, str)  # a column of Decimals only: map(str, column)
        return decimal_text, frozenset()
    passing = _PASS_THROUGH.get(internal)
    if passing is None:
        return (lambda value: prep(value, connection)), frozenset()
    exact = passing[0]
    unchanged = {exact}
    if field.null and prep(None, connection) is None:
        unchanged.add(type(None))

    def simple(value):
        if type(value) in unchanged:
            return value
        return prep(value, connection)
    return simple, frozenset(unchanged)


def _sqlite_binds_decimal_as_str() -> bool:
    return sqlite3.adapters.get((decimal.Decimal, sqlite3.PrepareProtocol)) is str


class BulkInsert:
    """Rows of one model: `fields` are the field names (or attnames such as customer_id) the caller gives per
    row, in order; the primary key is among them only when the caller allocated ids (see reserve_ids).
    Every other concrete field gets its default; auto_now / auto_now_add fields get `now`."""

    def __init__(self, model: type[models.Model], fields: Sequence[str], *, using: str = DEFAULT_DB_ALIAS):
        self.model = model
        self.using = using
        connection = connections[using]
        opts = model._meta
        given = [opts.get_field(name) for name in fields]
        for f in given:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                raise ValueError(f"{model.__name__}.{f.name} is filled with the insert's timestamp")
        self.converters = [column_value(f, connection) for f in given]
        self.stamped: list[models.Field] = []
        self.defaulted: list[models.Field] = []
        for f in opts.concrete_fields:
            if f in given or f.primary_key or f.generated:  # a generated column is the database's to fill
                continue
            if getattr(f, "db_default", NOT_PROVIDED) is not NOT_PROVIDED and not f.has_default():
                # Only a database default: its value is not known here, so the caller must give one.
                raise ValueError(f"{model.__name__}.{f.name} has a database default; give it explicitly")
            (self.stamped if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
             else self.defaulted).append(f)
        self.columns = [f.column for f in given] + [f.column for f in self.stamped + self.defaulted]
        # Defaults are the same for every row (a callable default such as dict gives an equal value each call).
        self.default_values = tuple(f.get_db_prep_save(f.get_default(), connection) for f in self.defaulted)
        if connection.vendor == "sqlite" and _sqlite_binds_decimal_as_str():  # the text the adapter would bind
            self.default_values = tuple(str(x) if type(x) is decimal.Decimal else x for x in self.default_values)
        qn = connection.ops.quote_name
        collist = ", ".join(qn(c) for c in self.columns)
        self.insert_sql = (f"INSERT INTO {qn(opts.db_table)} ({collist}) "
                           f"VALUES ({', '.join(['%s'] * len(self.columns))})")
        self.copy_sql = f"COPY {qn(opts.db_table)} ({collist}) FROM STDIN"

    def _tail(self, now: dt.datetime | None) -> tuple:
        connection = connections[self.using]
        now = now or timezone.now()
        stamps = []
        for f in self.stamped:
            value = now if isinstance(f, models.DateTimeField) else dt.date.today()
            stamps.append(f.get_db_prep_save(value, connection))
        return (*stamps, *self.default_values)

    def rows(self, values: Iterable[Sequence], *, now: dt.datetime | None = None) -> list[tuple]:
        """Column tuples for rows of given values (in the order of `fields`). Converted column by column; a
        column whose values are all of types its field writes unchanged is not touched."""
        tail = self._tail(now)
        values = list(values)
        if not values:
            return []
        width = len(self.converters)
        if any(len(row) != width for row in values):
            raise ValueError(f"{self.model.__name__}: rows must have {width} values")
        columns = list(zip(*values, strict=True))
        converted = False
        for i, (convert, unchanged) in enumerate(self.converters):
            kinds = set(map(type, columns[i]))
            if not unchanged or not kinds <= unchanged:
                whole = getattr(convert, "whole_column", None)
                if whole is not None and kinds == {whole[0]}:
                    columns[i] = list(map(whole[1], columns[i]))
                else:
                    columns[i] = list(map(convert, columns[i]))
                converted = True
        if not converted:  # every value is written as given: the rows themselves
            return [tuple(row) + tail for row in values] if tail else [tuple(row) for row in values]
        if tail:
            return [row + tail for row in zip(*columns, strict=True)]
        return list(zip(*columns, strict=True))

    def insert(self, values: Iterable[Sequence], *, now: dt.datetime | None = None) -> int:
        """Convert and write rows; returns how many were written."""
        rows = self.rows(values, now=now)
        self.write(rows)
        return len(rows)

    def write(self, rows: list[tuple]) -> None:
        """Write column tuples (from `rows`) in the caller's transaction."""
        if not rows:
            return
        connection = connections[self.using]
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                with cur.cursor.copy(self.copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.executemany(self.insert_sql, rows)


def reserve_ids(model: type[models.Model], n: int, *, using: str = DEFAULT_DB_ALIAS) -> Sequence[int]:
    """n primary keys for new rows of model, the ones the database would hand out. Must run inside the
    transaction (atomic block) that inserts the rows."""
    if n <= 0:
        return []
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("reserve_ids must run inside the transaction that writes the rows")
    qn = connection.ops.quote_name
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                        [qn(table), pk, n])
            return [r[0] for r in cur.fetchall()]
        if connection.vendor != "sqlite":
            raise NotImplementedError(connection.vendor)
        # A write first: it takes the database's write lock, so no other connection inserts into the table
        # before this transaction ends. Django creates integer primary keys with AUTOINCREMENT: the next id
        # is one past both the largest id present and the largest ever handed out (sqlite_sequence).
        cur.execute("UPDATE sqlite_sequence SET seq = seq WHERE name = %s", [table])
        cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cur.fetchone()
        cur.execute(f"SELECT MAX({qn(pk)}) FROM {qn(table)}")
        start = max(found[0] if found else 0, cur.fetchone()[0] or 0) + 1
    return range(start, start + n)


@functools.cache
def inserter(model: type[models.Model], fields: tuple[str, ...], using: str = DEFAULT_DB_ALIAS) -> BulkInsert:
    """A BulkInsert per (model, fields, database), built once."""
    return BulkInsert(model, fields, using=using)


class PlannerStatistics:
    """Keeps PostgreSQL's planner statistics in step with tables a bulk job grows (imports, loads).

    Between ANALYZE runs the planner plans with the row counts of the last one; a table that went from empty to
    200,000 rows inside an import is still planned as "a few rows", so a lookup of 5,000 keys becomes a scan of
    the whole table (measured on an orders import: 58–112 ms per lookup instead of about 10, and a 574 ms totals
    update per batch). Autovacuum fixes this a minute later at best, and not at all where it is switched off.

    `after_commit()` (call it between batches, outside their transactions) looks at most every `interval`
    seconds at the tables that grew by more than `growth` (default: doubled) since their statistics were gathered
    (pg_class.reltuples against the live row count of pg_stat_user_tables) and ANALYZEs them; ANALYZE reads a
    fixed sample, so a million-row table costs about as much as a small one, and a table is analysed about
    log2(n / 1000) times over a whole import (a row estimate within a factor of two is enough to choose the
    index; at a quarter's growth, the ANALYZEs were 15 of a 200k-customer import's 161 s on a loaded machine). Does nothing on other databases (SQLite plans from its indexes without
    statistics)."""

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS, growth: float = 1.0, min_rows: int = 1000,
                 interval: float = 5.0):
        self.using, self.growth, self.min_rows, self.interval = using, growth, min_rows, interval
        self._last = float("-inf")
        self.analyzed: list[str] = []

    def after_commit(self) -> list[str]:
        """ANALYZE the tables that outgrew their statistics; returns their names."""
        connection = connections[self.using]
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return []
        now = time.monotonic()
        if now - self._last < self.interval:
            return []
        self._last = now
        qn = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.execute(
                "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                "WHERE s.schemaname = current_schema() AND s.n_live_tup >= %s "
                "AND s.n_live_tup > (1 + %s) * GREATEST(c.reltuples, 0)", [self.min_rows, self.growth])
            tables = [name for (name,) in cur.fetchall()]
            for name in tables:
                cur.execute(f"ANALYZE {qn(name)}")
        self.analyzed.extend(tables)
        return tables
