"""Bulk loading of generated rows: prepared executemany on SQLite, COPY on PostgreSQL.

The generator hands over whole columns (NumPy arrays or lists) for a table; the loader turns them into row
tuples and writes them in the caller's transaction. Primary keys are assigned by the caller, so there is no
per-row round trip. Nothing here knows about customers or orders: it loads any model's table.
"""

from __future__ import annotations

import re
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

    deferred: list[str] = field(default_factory=list)

    def prepare(self, model_list: Sequence[type[models.Model]] = (), on_defer=None) -> None:
        """Session settings for a bulk load (SQLite: no fsync per commit, FK checks off; ids are consistent by
        construction and the tests check them).

        For each model whose table is empty, its non-unique secondary indexes are dropped and rebuilt by
        `finish()`: building an index once over sorted keys is several times faster than updating a dozen
        B-trees per row. `on_defer(list_of_create_sql)` is called first so a caller can record them and
        restore them after a crash (see `restore_indexes`). Unique indexes stay and keep guarding the data.
        """
        conn = self.connection
        with conn.cursor() as cur:
            if self.is_sqlite and not conn.in_atomic_block:
                cur.execute("PRAGMA synchronous=OFF")
                cur.execute("PRAGMA foreign_keys=OFF")
            plan: list[tuple[str, str]] = []
            for model in model_list:
                table = model._meta.db_table
                cur.execute(f"SELECT 1 FROM {conn.ops.quote_name(table)} LIMIT 1")
                if cur.fetchone() is None:
                    plan.extend(self._secondary_indexes(cur, table))
            if not plan:
                return
            self.deferred = [sql for _name, sql in plan]
            if on_defer is not None:
                on_defer(list(self.deferred))
            for name, _sql in plan:
                cur.execute(f"DROP INDEX {conn.ops.quote_name(name)}")

    def _secondary_indexes(self, cur, table: str) -> list[tuple[str, str]]:
        if self.is_sqlite:
            cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                        "AND sql IS NOT NULL", [table])
        else:
            cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                        "AND tablename = %s", [table])
        return [(name, sql) for name, sql in cur.fetchall() if not sql.upper().startswith("CREATE UNIQUE")]

    def rebuild_indexes(self) -> None:
        """Create the indexes `prepare()` dropped (timed as part of the load)."""
        if not self.deferred:
            return
        started = time.perf_counter()
        conn = self.connection
        if self.is_postgres and conn.in_atomic_block:
            # Inside an outer transaction (tests) deferred FK checks are still queued, and PostgreSQL refuses
            # CREATE INDEX on a table with pending trigger events: run the checks now.
            with conn.cursor() as cur:
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cur.execute("SET CONSTRAINTS ALL DEFERRED")
        restore_indexes(self.deferred, using=self.using)
        self.deferred = []
        st = self.stats.setdefault("(index rebuild)", TableStats())
        st.seconds += time.perf_counter() - started

    def finish(self, model_list: Sequence[type[models.Model]], *, analyze: bool = True) -> None:
        """Restore session settings, move id sequences past the loaded ids (PostgreSQL) and refresh statistics."""
        conn = self.connection
        self.rebuild_indexes()
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


def restore_indexes(create_sql: Sequence[str], *, using: str = "default") -> None:
    """Run CREATE INDEX statements, skipping indexes that exist (also used to repair an interrupted load)."""
    with connections[using].cursor() as cur:
        for sql in create_sql:
            cur.execute(re.sub(r"^CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", sql, flags=re.IGNORECASE))


def _as_list(col) -> list:
    if isinstance(col, np.ndarray):
        return col.tolist()
    return col if isinstance(col, list) else list(col)
