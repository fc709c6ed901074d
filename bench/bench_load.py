"""Load benchmark: generate and bulk-load a demo business, then insert the same rows raw for comparison.

    .venv/bin/python bench/bench_load.py --customers 1000000

SQLite (default): a fresh database file bench/out/bench.sqlite3 (kept for bench_search.py).
PostgreSQL: set DATABASE_URL; demo data already there is replaced.

Reported:
  loader rows/s   rows written by clientwise.demo.loader divided by the time spent in it (turning NumPy
                  columns into row tuples plus the prepared executemany / COPY), all tables together;
  end-to-end      the same rows over the whole `generate()` call (org set-up, simulation, load, ANALYZE);
  raw rows/s      the same rows read back and inserted with a plain sqlite3 executemany (PostgreSQL: COPY)
                  into identical copies of the tables (same columns, types and indexes), one transaction
                  per batch, reading not timed;
  ratio           loader / raw (target ≥ 0.5 on SQLite).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

BATCH = 100_000


def raw_sqlite(path: Path, tables: list[str], *, defer: bool) -> dict[str, tuple[int, float]]:
    """Copy each table's rows into raw_<table> (same DDL and indexes) with plain sqlite3 executemany.

    defer: create the non-unique indexes after the rows (what the loader does on a fresh load), timed;
    otherwise they exist while rows go in."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-200000")
    out = {}
    try:
        for table in tables:
            raw = f"raw_{table}"
            later = _sqlite_clone(con, table, raw, defer=defer)
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            collist = ", ".join(f'"{c}"' for c in cols)
            sql = f'INSERT INTO "{raw}" ({collist}) VALUES ({", ".join("?" * len(cols))})'
            read = con.execute(f'SELECT {collist} FROM "{table}" ORDER BY rowid')
            rows, seconds = 0, 0.0
            while batch := read.fetchmany(BATCH):
                started = time.perf_counter()
                con.execute("BEGIN")
                con.executemany(sql, batch)
                con.execute("COMMIT")
                seconds += time.perf_counter() - started
                rows += len(batch)
            started = time.perf_counter()
            for sql in later:
                con.execute(sql)
            seconds += time.perf_counter() - started
            out[table] = (rows, seconds)
    finally:
        for table in tables:
            con.execute(f'DROP TABLE IF EXISTS "raw_{table}"')
        con.close()
    return out


def _sqlite_clone(con: sqlite3.Connection, table: str, raw: str, *, defer: bool) -> list[str]:
    """Create raw with table's DDL and indexes; return the index statements left for after the load."""
    con.execute(f'DROP TABLE IF EXISTS "{raw}"')
    ddl = con.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()[0]
    con.execute(ddl.replace(f'"{table}"', f'"{raw}"', 1))
    later = []
    for name, sql in con.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name=? "
                                 "AND sql IS NOT NULL", (table,)).fetchall():
        clone = sql.replace(f'"{name}"', f'"raw_{name}"', 1).replace(f'ON "{table}"', f'ON "{raw}"', 1)
        if defer and not sql.upper().startswith("CREATE UNIQUE"):
            later.append(clone)
        else:
            con.execute(clone)
    return later


def raw_postgres(tables: list[str]) -> dict[str, tuple[int, float]]:
    """Copy each table's rows into raw_<table> (LIKE ... INCLUDING ALL) with psycopg COPY."""
    from django.db import connection

    out = {}
    connection.ensure_connection()
    conn = connection.connection
    for table in tables:
        raw = f"raw_{table}"
        with conn.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{raw}"; CREATE TABLE "{raw}" (LIKE "{table}" INCLUDING ALL)')
            conn.commit()
            cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s AND is_generated = 'NEVER' "
                        "ORDER BY ordinal_position", [table])
            cols = ", ".join(f'"{r[0]}"' for r in cur.fetchall())
        rows, seconds = 0, 0.0
        with conn.transaction(), conn.cursor(name=f"read_{table}") as read:
            read.itersize = BATCH
            read.execute(f'SELECT {cols} FROM "{table}"')
            while batch := read.fetchmany(BATCH):
                started = time.perf_counter()
                with conn.cursor() as cur, cur.copy(f'COPY "{raw}" ({cols}) FROM STDIN') as copy:
                    for row in batch:
                        copy.write_row(row)
                seconds += time.perf_counter() - started
                rows += len(batch)
        conn.commit()
        out[table] = (rows, seconds)
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(f'DROP TABLE IF EXISTS "raw_{table}"')
    conn.commit()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--db", type=Path, default=_setup.DEFAULT_DB, help="SQLite file (ignored with DATABASE_URL)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw insert comparison")
    parser.add_argument("--raw-indexes", choices=["deferred", "in-place"], default="deferred",
                        help="SQLite baseline: build non-unique indexes after the rows like the loader does "
                             "(deferred, default) or keep them during the inserts (in-place)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    import os

    if not os.environ.get("DATABASE_URL"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    url = _setup.configure(args.db)
    from django.core.management import call_command
    from django.db import connection

    from clientwise.demo.generator import generate

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {url.split('@')[-1]}")
    result = generate(customers=args.customers, seed=args.seed, chunk_size=args.chunk_size, reset=True,
                      quiet=args.quiet)
    loader_rate = result.load_rows / result.load_seconds
    print(f"generated {result.customers:,} customers, {result.orders:,} orders, {result.order_lines:,} order lines, "
          f"{result.interactions:,} timeline rows ({result.future_orders:,} future orders held out)")
    print(f"end-to-end   {result.seconds:8.1f} s   {result.load_rows / result.seconds:12,.0f} rows/s "
          f"({result.load_rows:,} rows)")
    print(f"loader       {result.load_seconds:8.1f} s   {loader_rate:12,.0f} rows/s   (of which index rebuild "
          f"{result.table_seconds.get('(index rebuild)', 0):.1f} s)")
    print("  per table: " + ", ".join(f"{t}={n:,}" for t, n in result.tables.items()))
    if args.no_baseline:
        return
    tables = [t for t, n in result.tables.items() if n and not t.startswith("(")]
    path = _setup.sqlite_path()
    connection.close()
    raw = raw_sqlite(path, tables, defer=args.raw_indexes == "deferred") if path else raw_postgres(tables)
    raw_rows = sum(r for r, _s in raw.values())
    raw_seconds = sum(s for _r, s in raw.values())
    assert raw_rows == result.load_rows, (raw_rows, result.load_rows)
    raw_rate = raw_rows / raw_seconds
    how = f"sqlite3 executemany, indexes {args.raw_indexes}" if path else "psycopg COPY"
    print(f"raw insert   {raw_seconds:8.1f} s   {raw_rate:12,.0f} rows/s ({how}; same rows, identical tables)")
    print(f"ratio loader/raw: {loader_rate / raw_rate:.2f}  (target ≥ 0.5)")
    print("per table:                         rows   loader rows/s   raw rows/s")
    for table in tables:
        rows, seconds = raw[table]
        mine = result.table_seconds.get(table) or 0
        print(f"  {table:<28} {rows:>11,}  {rows / mine if mine else 0:>13,.0f}  {rows / seconds if seconds else 0:>11,.0f}")


if __name__ == "__main__":
    main()
