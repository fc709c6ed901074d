"""Import benchmark: N customers and their orders (~10 lines each) from CSV through `clientwise import`'s code
path, beside a raw bulk load of the same rows in the same run.

    .venv/bin/python bench/bench_import.py --customers 1000000            # SQLite, bench/out/bench_import.sqlite3
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_import.py     # PostgreSQL (raw = COPY)

The CSV files are written first (names, places, phones and emails drawn like clientwise.demo's catalog, seeded),
then imported with dataio.services (streaming read, per-field validation, set-based upsert in batches of 1,000,
quarantine, timeline rows, customer totals, one audit row per batch). Some rows are deliberately bad (about
0.5 %) so the quarantine path is exercised.

Reported per file:
  import rows/s   input rows / wall time of run_import (read + validate + write + commit);
  raw rows/s      input rows / time to insert exactly the rows the import wrote (every table it touched, read
                  back from the database) into identical copies of those tables with sqlite3 executemany
                  (indexes in place, as during an import) or psycopg COPY on PostgreSQL;
  ratio           import / raw (target ≥ 0.5).
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


def table_counts(tables: list[str]) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cur:
        out = {}
        for t in tables:
            cur.execute(f'SELECT COUNT(*) FROM "{t}"')
            out[t] = cur.fetchone()[0]
    return out


def import_file(admin, kind: str, path: Path, batch: int):
    from clientwise.dataio import services

    with open(path, "rb") as fh:
        job = services.create_job(actor=admin, kind=kind, upload=fh, source="bench",
                                  options={"batch_size": batch})
    started = time.perf_counter()
    job = services.run_import(job_id=job.pk)
    return job, time.perf_counter() - started


def raw_load(tables: list[str]) -> tuple[int, float]:
    from bench_load import raw_postgres, raw_sqlite
    from django.db import connection

    path = _setup.sqlite_path()
    connection.close()
    out = raw_sqlite(path, tables, defer=False) if path else raw_postgres(tables)
    return sum(r for r, _s in out.values()), sum(s for _r, s in out.values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=None, help="default: as many as customers")
    parser.add_argument("--lines", type=int, default=10, help="mean lines per order")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--no-orders", action="store_true")
    args = parser.parse_args(argv)
    orders = args.customers if args.orders is None else args.orders

    if not os.environ.get("DATABASE_URL"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    os.environ.setdefault("CLIENTWISE_VAR_DIR", str(_setup.OUT / "var-import"))
    url = _setup.configure(args.db)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {url.split('@')[-1]}")
    if connection.vendor == "postgresql":
        # Start from empty business tables so the raw copy compares like with like.
        with connection.cursor() as cur:
            cur.execute("TRUNCATE commerce_orderline, commerce_order, customers_interaction, customers_consent, "
                        "customers_contactpoint, customers_customertag, customers_customershare, "
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
          f"{time.perf_counter() - t:.1f} s")

    results = []
    c_tables = ["customers_customer", "customers_contactpoint", "customers_interaction", "dataio_quarantinedrow"]
    before = table_counts(c_tables)
    job, seconds = import_file(admin, "customers", cpath, args.batch)
    print(f"customers: created {job.created:,} updated {job.updated:,} unchanged {job.unchanged:,} "
          f"rejected {job.rejected:,} in {seconds:.1f} s = {n_c / seconds:,.0f} rows/s")
    assert job.processed == n_c, (job.processed, n_c)
    results.append(("customers", n_c, seconds, c_tables, before))
    if n_o:
        o_tables = ["commerce_order", "commerce_orderline", "customers_interaction", "dataio_quarantinedrow"]
        job, seconds = import_file(admin, "orders", opath, args.batch)
        print(f"orders:    created {job.created:,} unchanged {job.unchanged:,} rejected {job.rejected:,} "
              f"(rows = order lines) in {seconds:.1f} s = {n_o / seconds:,.0f} rows/s")
        assert job.processed == n_o, (job.processed, n_o)
        results.append(("orders", n_o, seconds, o_tables, None))
    t = time.perf_counter()
    again, again_seconds = import_file(admin, "customers", cpath, args.batch)
    print(f"re-import customers: created {again.created:,} updated {again.updated:,} unchanged {again.unchanged:,} "
          f"rejected {again.rejected:,} in {again_seconds:.1f} s = {n_c / again_seconds:,.0f} rows/s")

    # Raw baseline: the tables the imports wrote, copied with executemany / COPY (customer interaction rows
    # and order interaction rows are both in customers_interaction, so it is counted once, with the orders).
    tables = ["customers_customer", "customers_contactpoint", "commerce_order", "commerce_orderline",
              "customers_interaction", "dataio_quarantinedrow"] if n_o else c_tables
    raw_rows, raw_seconds = raw_load(tables)
    total_in = sum(n for _k, n, *_r in results)
    import_seconds = sum(s for _k, _n, s, *_r in results)
    import_rate, raw_rate = total_in / import_seconds, total_in / raw_seconds
    how = "psycopg COPY" if connection.vendor == "postgresql" else "sqlite3 executemany, indexes in place"
    print(f"\nimport     {import_seconds:8.1f} s  {import_rate:12,.0f} input rows/s ({total_in:,} rows)")
    print(f"raw load   {raw_seconds:8.1f} s  {raw_rate:12,.0f} input rows/s ({raw_rows:,} table rows written by "
          f"the import, {how})")
    print(f"ratio import/raw: {import_rate / raw_rate:.2f}  (target ≥ 0.5)")


if __name__ == "__main__":
    main()
