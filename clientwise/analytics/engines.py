"""SQL engines over a Parquet snapshot: DuckDB (embedded, the default) and Apache Spark (local mode or a cluster).

Feature SQL is written once, in DuckDB's dialect, and printed for Spark by sqlglot (`to_spark`). Each engine
exposes the snapshot's files as views named after the tables (customers, orders, lines, ...), runs a query and
returns an Arrow table, so the callers never see which engine ran.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlglot

from clientwise.analytics.extract import TABLES, Snapshot

ENGINES = ("duckdb", "spark")


@lru_cache(maxsize=256)
def to_spark(sql: str) -> str:
    """The same query in Spark SQL (sqlglot, DuckDB dialect → Spark)."""
    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write="spark"))


class Engine:
    name = ""

    def register(self, snapshot: Snapshot) -> None:
        raise NotImplementedError

    def arrow(self, sql: str) -> pa.Table:
        """Run a query written in the DuckDB dialect and return its result."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None):
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")

    def register(self, snapshot: Snapshot) -> None:
        for spec in TABLES:
            path = str(snapshot.file(spec.name)).replace("'", "''")
            self.con.execute(f"CREATE OR REPLACE VIEW {spec.name} AS SELECT * FROM read_parquet('{path}')")

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def close(self) -> None:
        self.con.close()


class SparkEngine(Engine):
    """Spark SQL over the same Parquet files. `master` defaults to $SPARK_MASTER or local[2]."""

    name = "spark"

    def __init__(self, *, master: str | None = None, app_name: str = "clientwise-analytics"):
        # pyspark (heavy, and only for the Spark engine) stays off the start-up path.
        from pyspark.sql import SparkSession

        master = master or os.environ.get("SPARK_MASTER", "local[2]")
        self.spark = (
            SparkSession.builder.master(master).appName(app_name)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "8"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")

    def register(self, snapshot: Snapshot) -> None:
        for spec in TABLES:
            self.spark.read.parquet(str(snapshot.file(spec.name))).createOrReplaceTempView(spec.name)

    def arrow(self, sql: str) -> pa.Table:
        return self.spark.sql(to_spark(sql)).toArrow()

    def close(self) -> None:
        # The session is shared by the process (getOrCreate); its temp views are dropped, the JVM is kept.
        for spec in TABLES:
            self.spark.catalog.dropTempView(spec.name)


def get_engine(name: str, **options) -> Engine:
    if name == "duckdb":
        return DuckDBEngine(**options)
    if name == "spark":
        return SparkEngine(**options)
    raise ValueError(f"unknown engine {name!r} (choose {', '.join(ENGINES)})")


def java_available() -> bool:
    """Whether a Java runtime is there for Spark (JAVA_HOME or java on PATH)."""
    home = os.environ.get("JAVA_HOME")
    return bool((home and Path(home, "bin", "java").exists()) or shutil.which("java"))
