"""Bulk loading of generated rows: prepared executemany on SQLite, COPY on PostgreSQL.

The generator hands over whole columns (NumPy arrays or lists) for a table; the loader turns them into row
tuples and writes them in the caller's transaction. Primary keys are assigned by the caller, so there is no
per-row round trip. Nothing here knows about customers or orders: it loads any model's table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.core.management.color import no_style
from django.db import connections, models


@dataclass
class TableStats:
    rows: int = 0
    seconds: float = 0.0


@dataclass
class BulkLoader:
    """Writes columns into tables. Call `prepare()` before the first chunk and `finish()` after the last."""

    using: str = "default"
    stats: dict[str, TableStats] = field(default_factory=dict)

    @property
    def connection(self):
        return connections[self.using]

    @property
    def is_sqlite(self) -> bool:
        return self.connection.vendor == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.connection.vendor == "postgresql"

    def prepare(self) -> None:
        """Session settings for a bulk load (SQLite: no fsync per commit, FK checks off; ids are consistent by
        construction and the tests check them)."""
        if self.is_sqlite and not self.connection.in_atomic_block:
            with self.connection.cursor() as cur:
                cur.execute("PRAGMA synchronous=OFF")
                cur.execute("PRAGMA foreign_keys=OFF")

    def finish(self, model_list: Sequence[type[models.Model]], *, analyze: bool = True) -> None:
        """Restore session settings, move id sequences past the loaded ids (PostgreSQL) and refresh statistics."""
        conn = self.connection
        with conn.cursor() as cur:
            if self.is_sqlite:
                if not conn.in_atomic_block:
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.execute("PRAGMA foreign_keys=ON")
                if analyze:
                    # A bounded sample per index keeps ANALYZE fast on millions of rows.
                    cur.execute("PRAGMA analysis_limit=2000")
                    cur.execute("ANALYZE")
            else:
                for sql in conn.ops.sequence_reset_sql(no_style(), list(model_list)):
                    cur.execute(sql)
                if analyze and not conn.in_atomic_block:
                    for model in model_list:
                        cur.execute(f"ANALYZE {conn.ops.quote_name(model._meta.db_table)}")

    @staticmethod
    def columns_for(model: type[models.Model], names: Sequence[str]) -> list[str]:
        """Database column names for model field names (or attnames such as customer_id)."""
        return [model._meta.get_field(name).column for name in names]

    def insert(self, model: type[models.Model], data: dict[str, Sequence | np.ndarray]) -> int:
        """Insert rows given as {field name: column}. Columns must all have the same length."""
        names = list(data)
        if not names:
            return 0
        cols = [_as_list(data[n]) for n in names]
        n = len(cols[0])
        if any(len(c) != n for c in cols):
            raise ValueError(f"{model.__name__}: columns of different lengths")
        if n == 0:
            return 0
        table = model._meta.db_table
        started = time.perf_counter()
        rows = list(zip(*cols, strict=True))
        self.write_rows(table, self.columns_for(model, names), rows)
        st = self.stats.setdefault(table, TableStats())
        st.rows += n
        st.seconds += time.perf_counter() - started
        return n

    def write_rows(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """The raw write: one prepared INSERT executed for all rows, or one COPY."""
        conn = self.connection
        qn = conn.ops.quote_name
        collist = ", ".join(qn(c) for c in columns)
        with conn.cursor() as cur:
            if self.is_postgres:
                with cur.cursor.copy(f"COPY {qn(table)} ({collist}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cur.executemany(f"INSERT INTO {qn(table)} ({collist}) VALUES ({marks})", rows)

    def max_id(self, model: type[models.Model]) -> int:
        with self.connection.cursor() as cur:
            cur.execute(f"SELECT MAX({self.connection.ops.quote_name(model._meta.pk.column)}) "
                        f"FROM {self.connection.ops.quote_name(model._meta.db_table)}")
            value = cur.fetchone()[0]
        return int(value or 0)

    def total(self) -> TableStats:
        return TableStats(rows=sum(s.rows for s in self.stats.values()),
                          seconds=sum(s.seconds for s in self.stats.values()))


def _as_list(col) -> list:
    if isinstance(col, np.ndarray):
        return col.tolist()
    return col if isinstance(col, list) else list(col)
