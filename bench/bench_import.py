"""Import benchmark: N customers and their orders (~10 lines each) from CSV through `clientwise import`'s code
path, beside a raw bulk load of the same rows in the same run.

    .venv/bin/python bench/bench_import.py --customers 1000000            # SQLite, bench/out/bench_import.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/bench_import.py --customers 100000

PostgreSQL: the server of $DATABASE_URL, but always its own database `clientwise_bench_import` (--pg-db; created
when missing, its business tables emptied first), never the database named in the URL.

The CSV files are written first (names, places, phones and emails drawn like clientwise.demo's catalog, seeded),
then imported with dataio.services (streaming read, per-field validation, set-based upsert in batches,
quarantine, timeline rows, customer totals, one audit row per batch). Some rows are deliberately bad (about
0.5 %) so the quarantine path is exercised.

Reported per file (customers, then orders):
  import rows/s   input rows / wall time of run_import (read + validate + write + commit); cpu s is this
                  process's CPU time for it (the machine may be shared: compare with the load average printed);
  raw rows/s      input rows / time to insert exactly the rows that import wrote (every table it touched, the key
                  ranges it added, read back from the database) into copies of those tables with the same
                  indexes and the same foreign keys, checked as the application's tables check them (deferred to
                  the commit), with sqlite3 executemany (indexes in place, as during an import) or psycopg COPY,
                  100,000 rows per transaction: what the database must do for these rows in any case;
  ratio           import rows/s / raw rows/s (target >= 0.5).

--raw-without-fks adds the same raw load into copies without the foreign keys (the baseline before 2026-12-07,
informational).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

DEFAULT_DB = _setup.OUT / "bench_import.sqlite3"
BAD_SHARE = 0.005
RAW_BATCH = 100_000
RAW_CPU = [0.0]  # CPU seconds of the last raw_load (SQLite: the database's own work, in this process)


def write_customers(path: Path, n: int, rng: random.Random) -> int:
    from clientwise.demo import catalog as C

    surnames = [s for s, _w in C.SURNAMES]
    weights = [w for _s, w in C.SURNAMES]
    places = [(p, c) for _r, _rn, branches in C.REGIONS for _b, _bn, cities in branches for p, c, *_x in cities]
    given = C.GIVEN_FEMALE + C.GIVEN_MALE + C.GIVEN_COMMON
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["客户编号", "姓名", "手机", "邮箱", "会员号", "性别", "出生日期", "省", "市"])
        for i in range(n):
            name = rng.choices(surnames, weights)[0] + "".join(rng.choices(given, k=rng.choice((1, 2))))
            mobile = f"1{rng.choice((38, 39, 58, 86, 37)):02d}{i:08d}"
            email = f"u{i}@{rng.choice(C.EMAIL_DOMAINS)}" if rng.random() < 0.6 else ""
            birth = f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            if rng.random() < BAD_SHARE:
                mobile = "12345"  # quarantined: invalid phone
            province, city = rng.choice(places)
            w.writerow([f"C{i}", name, mobile, email, f"M{i:08d}", rng.choice("男女"), birth, province, city])
    return n


def write_orders(path: Path, customers: int, orders: int, lines: int, skus: list[str], stores: list[str],
                 rng: random.Random) -> int:
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["订单号", "客户编号", "门店编码", "下单时间", "商品编码", "数量", "单价"])
        for o in range(orders):
            cust = f"C{rng.randrange(customers)}"
            at = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(9, 21):02d}:{rng.randint(0, 59):02d}"
            store = rng.choice(stores)
            for _ln in range(max(1, int(rng.gauss(lines, 2)))):
                sku = rng.choice(skus)
                if rng.random() < BAD_SHARE / lines:
                    sku = "NO-SUCH-SKU"  # quarantines the whole order
                w.writerow([f"B{o:09d}", cust, store, at, sku, rng.randint(1, 3), f"{rng.randint(5, 500)}.00"])
                rows += 1
    return rows


def setup_world(n_products: int, n_stores: int):
    from clientwise.accounts.models import User
    from clientwise.commerce.models import Branch, Product, ProductCategory, Region, Store

    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", password="bench-admin-pass", role="admin")
    region, _ = Region.objects.get_or_create(code="B", defaults={"name": "Bench"})
    branch, _ = Branch.objects.get_or_create(code="B1", defaults={"name": "Bench", "region": region})
    cat, _ = ProductCategory.objects.get_or_create(code="BENCH", defaults={"name": "Bench"})
    Product.objects.bulk_create([Product(sku=f"BK-{i:04d}", name=f"Item {i}", category=cat, list_price=100,
                                         unit_cost=50) for i in range(n_products)], ignore_conflicts=True)
    Store.objects.bulk_create([Store(code=f"BS{i:03d}", name=f"Store {i}", branch=branch)
                               for i in range(n_stores)], ignore_conflicts=True)
    return admin, [f"BK-{i:04d}" for i in range(n_products)], [f"BS{i:03d}" for i in range(n_stores)]


# The column each table's new rows are found by (ascending keys): the id, or the customer's id for the one-row-
# per-customer purchase totals.
KEYS = {"customers_customerstats": "customer_id"}


def id_ranges(tables: list[str]) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cur:
        out = {}
        for t in tables:
            cur.execute(f'SELECT MAX("{KEYS.get(t, "id")}") FROM "{t}"')
            out[t] = cur.fetchone()[0] or 0
    return out


def import_file(admin, kind: str, path: Path, batch: int | None):
    from clientwise.dataio import services

    with open(path, "rb") as fh:
        job = services.create_job(actor=admin, kind=kind, upload=fh, source="bench",
                                  options={"batch_size": batch} if batch else {})
    started, cpu = time.perf_counter(), time.process_time()
    job = services.run_import(job_id=job.pk)
    job.cpu_seconds = time.process_time() - cpu
    return job, time.perf_counter() - started


def raw_load(ranges: dict[str, tuple[int, int]], *, fks: bool = True) -> tuple[int, float]:
    """Insert the rows with keys in (low, high] of each table into raw_<table> (same columns and indexes): sqlite3
    executemany or psycopg COPY, RAW_BATCH rows per transaction; reading is not timed. Returns (rows, seconds).
    fks: the copies also check the tables' foreign keys, as the application's tables do (the baseline); without
    them, the informational --raw-without-fks run."""
    from django.db import connection

    connection.ensure_connection()
    rows, seconds = 0, 0.0
    RAW_CPU[0] = 0.0
    if connection.vendor == "sqlite":
        import sqlite3

        path = _setup.sqlite_path()
        connection.close()
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")  # what the app's connections use
        con.execute("PRAGMA cache_size=-200000")
        if fks:  # the copied DDL keeps the REFERENCES clauses (to the original tables); enforce them
            con.execute("PRAGMA foreign_keys=ON")
        for table, (low, high) in ranges.items():
            raw = f"raw_{table}"
            if not con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (raw,)).fetchone():
                ddl = con.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()[0]
                con.execute(ddl.replace(f'"{table}"', f'"{raw}"', 1))
                for name, sql in con.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name=? "
                                             "AND sql IS NOT NULL", (table,)).fetchall():
                    con.execute(sql.replace(f'"{name}"', f'"raw_{name}"', 1).replace(f'ON "{table}"', f'ON "{raw}"', 1))
            cols = ", ".join(f'"{r[1]}"' for r in con.execute(f'PRAGMA table_info("{table}")'))
            sql = f'INSERT INTO "{raw}" ({cols}) VALUES ({", ".join("?" * len(cols.split(", ")))})'
            key = KEYS.get(table, "id")
            read = con.execute(f'SELECT {cols} FROM "{table}" WHERE "{key}" > ? AND "{key}" <= ? ORDER BY "{key}"',
                               (low, high))
            while batch := read.fetchmany(RAW_BATCH):
                started, cpu = time.perf_counter(), time.process_time()
                con.execute("BEGIN")
                con.executemany(sql, batch)
                con.execute("COMMIT")
                seconds += time.perf_counter() - started
                RAW_CPU[0] += time.process_time() - cpu
                rows += len(batch)
        con.close()
        return rows, seconds
    conn = connection.connection
    for table, (low, high) in ranges.items():
        raw = f"raw_{table}"
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", [f'"{raw}"'])
            new = cur.fetchone()[0] is None  # customers_interaction is loaded by both files into one copy
            cur.execute(f'CREATE TABLE IF NOT EXISTS "{raw}" (LIKE "{table}" INCLUDING ALL)')
            if fks and new:
                cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' "
                            "AND conrelid = %s::regclass", [table])
                for name, definition in cur.fetchall():
                    cur.execute(f'ALTER TABLE "{raw}" ADD CONSTRAINT "raw_{name}" {definition}')
            cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s AND is_generated = 'NEVER' "
                        "ORDER BY ordinal_position", [table])
            cols = ", ".join(f'"{r[0]}"' for r in cur.fetchall())
        conn.commit()
        # One transaction per table: a server-side cursor reads RAW_BATCH rows at a time (not timed), each batch
        # goes in with one COPY (timed), and the commit at the end is timed too.
        tx = conn.transaction()
        tx.__enter__()
        try:
            with conn.cursor(name=f"read_{table}") as read:
                read.itersize = RAW_BATCH
                key = KEYS.get(table, "id")
                read.execute(f'SELECT {cols} FROM "{table}" WHERE "{key}" > %s AND "{key}" <= %s ORDER BY "{key}"',
                             [low, high])
                while batch := read.fetchmany(RAW_BATCH):
                    started = time.perf_counter()
                    with conn.cursor() as cur, cur.copy(f'COPY "{raw}" ({cols}) FROM STDIN') as copy:
                        for row in batch:
                            copy.write_row(row)
                    seconds += time.perf_counter() - started
                    rows += len(batch)
        except BaseException as exc:
            tx.__exit__(type(exc), exc, exc.__traceback__)
            raise
        started = time.perf_counter()
        tx.__exit__(None, None, None)
        seconds += time.perf_counter() - started
    return rows, seconds


def drop_raw(tables: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for t in tables:
            cur.execute(f'DROP TABLE IF EXISTS "raw_{t}"')


def bench_database_url(url: str, name: str) -> str:
    """The same PostgreSQL server, database `name` (created when missing)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as con:
        if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            con.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=None, help="default: as many as customers")
    parser.add_argument("--lines", type=int, default=10, help="mean lines per order")
    parser.add_argument("--batch", type=int, default=None, help="rows per batch (default: the import's own)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--pg-db", default="clientwise_bench_import", help="PostgreSQL database to use")
    parser.add_argument("--no-orders", action="store_true")
    parser.add_argument("--no-reimport", action="store_true")
    parser.add_argument("--raw-without-fks", action="store_true",
                        help="also time the raw load into copies without the foreign keys (informational)")
    args = parser.parse_args(argv)
    orders = args.customers if args.orders is None else args.orders

    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        os.environ["DATABASE_URL"] = bench_database_url(os.environ["DATABASE_URL"], args.pg_db)
    elif not os.environ.get("DATABASE_URL"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    os.environ.setdefault("CLIENTWISE_VAR_DIR", str(_setup.OUT / "var-import"))
    url = _setup.configure(args.db)
    from django.core.management import call_command
    from django.db import connection

    from clientwise.commerce.imports.orders import OrderHandler
    from clientwise.dataio.services import BATCH_SIZE

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {url.split('@')[-1]}; batch {args.batch or BATCH_SIZE:,} rows "
          f"(orders {args.batch or OrderHandler.batch_size:,} lines); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if connection.vendor == "postgresql":
        # Start from empty business tables so the raw copy compares like with like.
        with connection.cursor() as cur:
            cur.execute("TRUNCATE commerce_orderline, commerce_order, customers_interaction, customers_consent, "
                        "customers_contactpoint, customers_customertag, customers_customershare, customers_customerstats, "
                        "customers_customer, dataio_quarantinedrow, dataio_importjob CASCADE")
    rng = random.Random(args.seed)
    admin, skus, stores = setup_world(400, 60)
    data = _setup.OUT / "import-data"
    data.mkdir(exist_ok=True)
    cpath, opath = data / f"customers-{args.customers}.csv", data / f"orders-{args.customers}.csv"
    t = time.perf_counter()
    n_c = write_customers(cpath, args.customers, rng)
    n_o = 0 if args.no_orders else write_orders(opath, args.customers, orders, args.lines, skus, stores, rng)
    print(f"wrote {n_c:,} customer rows and {n_o:,} order-line rows ({orders:,} orders) in "
          f"{time.perf_counter() - t:.1f} s", flush=True)

    results = []  # (kind, input rows, seconds, cpu seconds, {table: (low, high)})
    c_tables = ["customers_customer", "customers_customerstats", "customers_contactpoint", "customers_interaction",
                "dataio_quarantinedrow"]
    before = id_ranges(c_tables)
    job, seconds = import_file(admin, "customers", cpath, args.batch)
    print(f"customers: created {job.created:,} updated {job.updated:,} unchanged {job.unchanged:,} "
          f"rejected {job.rejected:,} in {seconds:.1f} s (cpu {job.cpu_seconds:.1f} s) = {n_c / seconds:,.0f} rows/s",
          flush=True)
    assert job.processed == n_c, (job.processed, n_c)
    after = id_ranges(c_tables)
    results.append(("customers", n_c, seconds, job.cpu_seconds, {t: (before[t], after[t]) for t in c_tables}))
    o_tables = ["commerce_order", "commerce_orderline", "customers_interaction", "dataio_quarantinedrow"]
    if n_o:
        before = id_ranges(o_tables)
        job, seconds = import_file(admin, "orders", opath, args.batch)
        print(f"orders:    created {job.created:,} unchanged {job.unchanged:,} rejected {job.rejected:,} "
              f"(rows = order lines) in {seconds:.1f} s (cpu {job.cpu_seconds:.1f} s) = {n_o / seconds:,.0f} rows/s",
              flush=True)
        assert job.processed == n_o, (job.processed, n_o)
        after = id_ranges(o_tables)
        results.append(("orders", n_o, seconds, job.cpu_seconds, {t: (before[t], after[t]) for t in o_tables}))
    if not args.no_reimport:
        again, again_seconds = import_file(admin, "customers", cpath, args.batch)
        print(f"re-import customers: created {again.created:,} updated {again.updated:,} "
              f"unchanged {again.unchanged:,} rejected {again.rejected:,} in {again_seconds:.1f} s = "
              f"{n_c / again_seconds:,.0f} rows/s", flush=True)

    # Raw baseline: the rows each import added, copied with executemany / COPY into indexed clones, customers'
    # rows first, then the orders' (the same order the import wrote them in).
    how = ("psycopg COPY" if connection.vendor == "postgresql" else "sqlite3 executemany, indexes in place") + \
        ", same foreign keys"
    print(f"\n{'file':10} {'input rows':>12} {'import s':>9} {'cpu s':>7} {'rows/s':>9} {'raw s':>7} "
          f"{'raw rows/s':>11} {'ratio':>6}   (raw: {how})")
    total = [0, 0.0, 0.0, 0.0, 0]
    try:
        for kind, n, seconds, cpu, ranges in results:
            raw_rows, raw_seconds = raw_load(ranges)
            raw_cpu = f", raw cpu {RAW_CPU[0]:.1f} s" if connection.vendor == "sqlite" else ""
            print(f"{kind:10} {n:12,} {seconds:9.1f} {cpu:7.1f} {n / seconds:9,.0f} {raw_seconds:7.1f} "
                  f"{n / raw_seconds:11,.0f} {raw_seconds / seconds:6.2f}   ({raw_rows:,} table rows{raw_cpu})")
            total = [total[0] + n, total[1] + seconds, total[2] + cpu, total[3] + raw_seconds, total[4] + raw_rows]
    finally:
        drop_raw(sorted({t for *_x, ranges in results for t in ranges}))
    n, seconds, cpu, raw_seconds, raw_rows = total
    print(f"{'both':10} {n:12,} {seconds:9.1f} {cpu:7.1f} {n / seconds:9,.0f} {raw_seconds:7.1f} "
          f"{n / raw_seconds:11,.0f} {raw_seconds / seconds:6.2f}   ({raw_rows:,} table rows)")
    print(f"target ratio >= 0.5; load average now {os.getloadavg()[0]:.1f}")
    if args.raw_without_fks:
        print("\nraw load into copies without the foreign keys (informational):")
        try:
            for kind, n, seconds, _cpu, ranges in results:
                raw_rows, raw_seconds = raw_load(ranges, fks=False)
                print(f"{kind:10} {n:12,} raw-fk {raw_seconds:7.1f} s = {n / raw_seconds:11,.0f} rows/s; "
                      f"import/raw-fk ratio {raw_seconds / seconds:.2f}")
        finally:
            drop_raw(sorted({t for *_x, ranges in results for t in ranges}))


if __name__ == "__main__":
    main()
