"""Export benchmark: the order and customer lists as XLSX, CSV and Parquet, as an administrator (every row).

    flock /tmp/clientwise-bench.lock .venv/bin/python bench/bench_export.py --customers 20000   # generate once, measure
    flock /tmp/clientwise-bench.lock .venv/bin/python bench/bench_export.py                    # measure the data there

Database: bench/out/bench_export.sqlite3 (or $DATABASE_URL), var dir bench/out/var-export; the demo business
(`clientwise.demo.generator.generate`, the code behind `clientwise demo`) is generated when the database has no
orders, or with `--generate`.

Each export is the service the page and the API call (`dataio.exports.export_orders` / `export_customers`: rights,
filters, visibility, PII masking, audit row), run to the last byte (CSV's generator is drained). Printed per export:
wall seconds (median of --repeat), process CPU seconds, rows, file size. In the same process, on the same rows:

  raw query    the SQL the export runs (Django's compiled values_list query), executed on the database cursor and
               fetched whole — reading the rows and nothing else;
  bare writer  the rows of the export (already built, in memory) written by the same library with no conversion
               (rustpy-xlsxwriter for XLSX, the csv module for CSV, one pyarrow Table for Parquet);
  ratio        export / (raw query + bare writer): what masking, names, spreadsheet safety, time zones and
               streaming cost on top of the two irreducible parts.
`--openpyxl` also times the same rows written by openpyxl's write-only workbook (the writer used before).
Target (issue 15 item 13): orders.xlsx at 20,000 customers under 5 s.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def drain(export) -> int:
    """Bytes of the export, read to the end (the CSV generator runs here)."""
    if export.chunks is not None:
        return sum(len(chunk.encode()) for chunk in export.chunks)
    export.file.seek(0, os.SEEK_END)
    size = export.file.tell()
    export.file.close()
    return size


def raw_query(qs, fields) -> int:
    from django.db import connections

    sql, params = qs.values_list(*fields).query.sql_with_params()
    with connections[qs.db].cursor() as cur:
        cur.execute(sql, params)
        return len(cur.fetchall())


def bare_write(fmt: str, columns, rows) -> None:
    import pyarrow as pa

    names = [c.name for c in columns]
    if fmt == "xlsx":
        from rustpy_xlsxwriter import write_worksheet

        with tempfile.TemporaryFile() as out:
            write_worksheet((dict(zip(names, r, strict=True)) for r in rows), out, sheet_name="Sheet1")
    elif fmt == "csv":
        w = csv.writer(io.StringIO())
        w.writerow(names)
        w.writerows(rows)
    else:
        import pyarrow.parquet as pq

        table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
        with tempfile.TemporaryFile() as out:
            pq.write_table(table, out, compression="zstd")


def openpyxl_write(columns, rows) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append([c.name for c in columns])
    for r in rows:
        ws.append([v.replace(tzinfo=None) if hasattr(v, "tzinfo") and v.tzinfo else v for v in r])
    with tempfile.TemporaryFile() as out:
        wb.save(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20000, help="generate a business of N customers if none")
    parser.add_argument("--generate", action="store_true", help="regenerate even if the database has orders")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--formats", default="xlsx,csv,parquet")
    parser.add_argument("--kinds", default="orders,customers")
    parser.add_argument("--openpyxl", action="store_true", help="also time openpyxl write-only on the same rows")
    parser.add_argument("--db", type=Path, default=_setup.OUT / "bench_export.sqlite3")
    args = parser.parse_args(argv)
    os.environ.setdefault("CLIENTWISE_VAR_DIR", str(_setup.OUT / "var-export"))
    if args.generate and not os.environ.get("DATABASE_URL"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    url = _setup.configure(args.db)

    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    from clientwise.commerce.models import Order

    if args.generate or not Order.objects.exists():
        from clientwise.demo.generator import generate

        wall, _cpu, result = timed(lambda: generate(customers=args.customers, seed=args.seed, reset=True))
        print(f"generated {result.customers:,} customers, {result.orders:,} orders in {wall:.0f} s", flush=True)

    import pandas  # noqa: F401 - pyarrow imports it on first use; not part of any export's time
    from django.utils import translation

    from clientwise.accounts.models import User
    from clientwise.commerce import queries as commerce_queries
    from clientwise.commerce.schemas import OrderFilterIn
    from clientwise.customers import queries as customer_queries
    from clientwise.customers.filters import CustomerListParams
    from clientwise.customers.models import Customer
    from clientwise.dataio import exports

    translation.activate("zh-hans")
    admin = User.objects.filter(is_superuser=True).order_by("id").first()
    print(f"database: {connection.vendor} {url.split('@')[-1]}; {Customer.objects.count():,} customers, "
          f"{Order.objects.count():,} orders; cores {os.cpu_count()}; load average {os.getloadavg()[0]:.2f} "
          f"(shared machine)", flush=True)

    def orders(fmt):
        return exports.export_orders(actor=admin, filters=OrderFilterIn(), fmt=fmt)

    def customers(fmt):
        return exports.export_customers(actor=admin, params=CustomerListParams(), fmt=fmt)

    order_qs = commerce_queries.visible_orders(admin).order_by("-ordered_at", "-id")
    customer_qs = customer_queries.visible_customers(admin).order_by("name_pinyin", "id")
    cases = {
        "orders": (orders, order_qs, exports._ORDER_FIELDS[:-1],  # noqa: SLF001 - the export's own fields
                   exports.ORDER_COLUMNS + exports.ORDER_COST_COLUMNS,
                   lambda exact: exports.order_rows(order_qs, pii=True, costs=True, exact=exact)),
        "customers": (customers, customer_qs, exports._CUSTOMER_FIELDS, exports.CUSTOMER_COLUMNS,  # noqa: SLF001
                      lambda exact: exports.customer_rows(customer_qs, pii=True, exact=exact)),
    }
    print(f"{'export':<16} {'rows':>8} {'MB':>6} {'wall s':>7} {'cpu s':>6} {'raw query':>9} {'bare writer':>11} "
          f"{'ratio':>6}", flush=True)
    for kind in args.kinds.split(","):
        run, qs, fields, columns, rows_of = cases[kind]
        raw_wall, _c, n_raw = timed(lambda qs=qs, fields=fields: raw_query(qs, fields))
        for fmt in args.formats.split(","):
            drain(run(fmt))  # warm: imports, first query plan
            runs = [timed(lambda run=run, fmt=fmt: drain(run(fmt))) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            size = runs[0][2]
            rows = list(rows_of(fmt != "xlsx"))
            bare, _c, _ = timed(lambda fmt=fmt, columns=columns, rows=rows: bare_write(fmt, columns, rows))
            print(f"{kind + '.' + fmt:<16} {len(rows):>8,} {size / 1e6:>6.1f} {wall:>7.2f} {cpu:>6.2f} "
                  f"{raw_wall:>9.2f} {bare:>11.2f} {wall / (raw_wall + bare):>6.2f}", flush=True)
            assert len(rows) == n_raw, (len(rows), n_raw)
            if fmt == "xlsx" and args.openpyxl:
                old, _c, _ = timed(lambda columns=columns, rows=rows: openpyxl_write(columns, rows))
                print(f"{'  openpyxl':<16} {'':>8} {'':>6} {old:>7.2f}   (write-only workbook, the same rows, "
                      f"writing only)", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB (includes the bare writers' in-memory rows); load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
