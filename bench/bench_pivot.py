"""Pivot benchmark: region × category × month, revenue and buyers, over the analytics snapshot.

    .venv/bin/python bench/bench_pivot.py --customers 1000000   # generate (once), extract, measure (~9.2M lines)
    .venv/bin/python bench/bench_pivot.py --customers 20000     # a quick run
    .venv/bin/python bench/bench_pivot.py                       # measure on the data already there

Database: bench/out/bench_pivot.sqlite3 (or $DATABASE_URL), var dir bench/out/var-pivot; the demo business is
generated when the database has none (or `--generate`), and a snapshot is extracted when none has the columns
reports need (or `--extract`).

In one process, on the same Parquet snapshot:
  engine       clientwise.reports.runner.run_pivot (spec → sqlglot → DuckDB → rows × columns), result cache off;
               buyers counted from sorted (cell, customer) pairs (reports/distinct.py), and once more with
               DuckDB's own COUNT(DISTINCT) (REPORTS_SORTED_DISTINCT off) for comparison;
               cold = a new DuckDB connection (views, small dimension tables read from the database, building the
               denormalized `sales_lines` table — its build time is printed on its own line — and the first query),
               warm = median of --repeat runs on that connection;
  hand DuckDB  the same query written by hand against read_parquet(), on a new connection (cold, then warm);
  pandas       the Parquet files read into pandas, merged, and pandas.pivot_table (sum, nunique).
Target (issue 5): engine warm under 1 s and within 2× of hand-written DuckDB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

SPEC = {"fact": "sales", "measures": ["revenue", "buyers"], "rows": ["region", "category"],
        "columns": ["order_month"], "totals": False, "engine": "snapshot"}

HAND_SQL = """
SELECT r.name AS region, c.name AS category, date_trunc('month', DATE '1970-01-01' + o.day) AS month,
       sum(l.amount) AS revenue, count(DISTINCT l.customer_id) AS buyers
FROM read_parquet('{lines}') l
JOIN read_parquet('{orders}') o ON o.id = l.order_id
LEFT JOIN read_parquet('{products}') p ON p.id = l.product_id
LEFT JOIN read_parquet('{categories}') c ON c.id = p.category_id
LEFT JOIN stores s ON s.id = o.store_id
LEFT JOIN branches b ON b.id = s.branch_id
LEFT JOIN regions r ON r.id = b.region_id
GROUP BY 1, 2, 3
"""


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=0, help="generate a business of N customers if none")
    parser.add_argument("--generate", action="store_true", help="regenerate even if the database has data")
    parser.add_argument("--extract", action="store_true", help="extract a new snapshot even if one fits")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", type=Path, default=_setup.OUT / "bench_pivot.sqlite3")
    args = parser.parse_args(argv)
    # One var dir (snapshots) per database, so a quick run never leaves its snapshot beside the big one.
    var = "var-pivot" if args.db == _setup.OUT / "bench_pivot.sqlite3" else f"var-{args.db.stem}"
    os.environ.setdefault("CLIENTWISE_VAR_DIR", str(_setup.OUT / var))
    if args.generate and not os.environ.get("DATABASE_URL"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    url = _setup.configure(args.db)

    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    from clientwise.commerce.models import OrderLine
    from clientwise.demo.generator import generate

    generated = False
    if args.generate or (args.customers and not OrderLine.objects.exists()):
        generated = True
        t = time.perf_counter()
        result = generate(customers=args.customers or 20000, seed=args.seed, reset=True)
        print(f"generated {result.customers:,} customers, {result.order_lines:,} order lines in "
              f"{time.perf_counter() - t:.0f} s", flush=True)

    from clientwise.accounts.models import User
    from clientwise.analytics.extract import extract_snapshot
    from clientwise.reports import runner

    snap = runner.latest_snapshot()
    if snap is None or args.extract or generated:
        t = time.perf_counter()
        s = extract_snapshot()
        print(f"extracted snapshot {s.path.name} in {time.perf_counter() - t:.1f} s: "
              + ", ".join(f"{k} {v:,}" for k, v in s.rows.items()), flush=True)
        snap = runner.latest_snapshot()
    import pyarrow.parquet as pq

    lines = pq.read_metadata(snap.path / "lines.parquet").num_rows
    print(f"database: {connection.vendor} {url.split('@')[-1]}; snapshot {snap.stamp}: {lines:,} order lines; "
          f"cores {os.cpu_count()}; load average {os.getloadavg()[0]:.2f} (shared machine)", flush=True)
    admin = User.objects.filter(is_superuser=True).order_by("id").first()

    # --- engine -------------------------------------------------------------------------------------------
    runner.reset_connections()
    cold_engine, res = timed(lambda: runner.run_pivot(actor=admin, spec=SPEC, use_cache=False))
    build = runner.snapshot_connection(snap).build_seconds
    warm = [timed(lambda: runner.run_pivot(actor=admin, spec=SPEC, use_cache=False))[0] for _ in range(args.repeat)]
    warm_engine = statistics.median(warm)
    cells = sum(1 for row in res.cells for c in row if c)
    total_revenue = sum(c["revenue"] for row in res.cells for c in row if c)
    total_buyers = sum(c["buyers"] for row in res.cells for c in row if c)
    spec_sum = {**SPEC, "measures": ["revenue"]}
    runner.run_pivot(actor=admin, spec=spec_sum, use_cache=False)
    warm_sum = statistics.median(timed(lambda: runner.run_pivot(actor=admin, spec=spec_sum, use_cache=False))[0]
                                 for _ in range(args.repeat))
    spec_totals = {**SPEC, "totals": True, "subtotals": True}
    runner.run_pivot(actor=admin, spec=spec_totals, use_cache=False)
    warm_totals = statistics.median(timed(lambda: runner.run_pivot(actor=admin, spec=spec_totals, use_cache=False))[0]
                                    for _ in range(args.repeat))
    # The same pivots with DuckDB's own COUNT(DISTINCT) instead of the sorted (cell, customer) pairs.
    from django.conf import settings

    settings.REPORTS_SORTED_DISTINCT = False
    warm_plain = statistics.median(timed(lambda: runner.run_pivot(actor=admin, spec=SPEC, use_cache=False))[0]
                                   for _ in range(args.repeat))
    warm_plain_totals = statistics.median(
        timed(lambda: runner.run_pivot(actor=admin, spec=spec_totals, use_cache=False))[0] for _ in range(args.repeat))
    settings.REPORTS_SORTED_DISTINCT = True

    # --- hand-written DuckDB ------------------------------------------------------------------------------
    import duckdb

    from clientwise.commerce.measures import load_branches, load_regions, load_stores

    def hand_cold():
        con = duckdb.connect(":memory:")
        stores, branches, regions = load_stores(), load_branches(), load_regions()  # noqa: F841 - scanned by name
        for name in ("stores", "branches", "regions"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}")
        sql = HAND_SQL.format(**{t: str(snap.path / f"{t}.parquet") for t in ("lines", "orders", "products",
                                                                                "categories")})
        rows = con.execute(sql).fetchall()
        return con, sql, rows

    cold_hand, (con, sql, hand_rows) = timed(hand_cold)
    warm_hand = statistics.median(timed(lambda: con.execute(sql).fetchall())[0] for _ in range(args.repeat))
    hand_revenue = sum(r[3] for r in hand_rows)
    hand_buyers = sum(r[4] for r in hand_rows)
    sum_sql = sql.replace(", count(DISTINCT l.customer_id) AS buyers", "")
    con.execute(sum_sql).fetchall()
    warm_hand_sum = statistics.median(timed(lambda: con.execute(sum_sql).fetchall())[0] for _ in range(args.repeat))

    # --- pandas pivot_table -------------------------------------------------------------------------------
    import pandas as pd

    def pandas_load():
        cols = {"lines": ["order_id", "customer_id", "product_id", "amount"], "orders": ["id", "store_id", "day"],
                "products": ["id", "category_id"], "categories": ["id", "name"]}
        f = {t: pd.read_parquet(snap.path / f"{t}.parquet", columns=c) for t, c in cols.items()}
        st = load_stores().to_pandas()[["id", "branch_id"]]
        br = load_branches().to_pandas()[["id", "region_id"]]
        rg = load_regions().to_pandas().rename(columns={"name": "region"})
        df = f["lines"].merge(f["orders"], left_on="order_id", right_on="id")
        df = df.merge(f["products"], left_on="product_id", right_on="id", how="left", suffixes=("", "_p"))
        df = df.merge(f["categories"].rename(columns={"name": "category"}), left_on="category_id", right_on="id",
                      how="left", suffixes=("", "_c"))
        df = df.merge(st, left_on="store_id", right_on="id", how="left", suffixes=("", "_s"))
        df = df.merge(br, left_on="branch_id", right_on="id", how="left", suffixes=("", "_b"))
        df = df.merge(rg, left_on="region_id", right_on="id", how="left", suffixes=("", "_r"))
        df["month"] = (pd.Timestamp("1970-01-01") + pd.to_timedelta(df["day"], unit="D")).dt.to_period("M")
        df["region"] = df["region"].fillna("(blank)")
        df["category"] = df["category"].fillna("(blank)")
        return df[["region", "category", "month", "amount", "customer_id"]]

    load_pd, frame = timed(pandas_load)

    def pandas_pivot():
        return pd.pivot_table(frame, index=["region", "category"], columns="month",
                              values=["amount", "customer_id"], aggfunc={"amount": "sum", "customer_id": "nunique"})

    cold_pd_pivot, table = timed(pandas_pivot)
    warm_pd = statistics.median(timed(pandas_pivot)[0] for _ in range(max(1, args.repeat // 2)))
    pd_revenue = float(table["amount"].sum().sum())
    pd_buyers = int(table["customer_id"].sum().sum())

    print(f"result: {cells:,} cells ({len(res.rows)} rows × {len(res.columns)} months); revenue engine "
          f"{total_revenue:,.2f}, hand {hand_revenue:,.2f}, pandas {pd_revenue:,.2f}; buyers summed over the cells "
          f"engine {total_buyers:,}, hand {hand_buyers:,}, pandas {pd_buyers:,}")
    print(f"{'':24}{'cold s':>10}{'warm s':>10}")
    print(f"{'engine (run_pivot)':24}{cold_engine:10.3f}{warm_engine:10.3f}")
    for name, seconds in build.items():
        print(f"{'  of cold: build ' + name:24}{seconds:10.3f}   (once per snapshot and process, not per query)")
    print(f"{'  with subtotals+totals':24}{'':>10}{warm_totals:10.3f}")
    print(f"{'  revenue only':24}{'':>10}{warm_sum:10.3f}")
    print(f"{'  COUNT(DISTINCT) in DuckDB':24}{'':>10}{warm_plain:10.3f}   (REPORTS_SORTED_DISTINCT off)")
    print(f"{'    with subtotals+totals':24}{'':>10}{warm_plain_totals:10.3f}")
    print(f"{'hand-written DuckDB':24}{cold_hand:10.3f}{warm_hand:10.3f}")
    print(f"{'  revenue only':24}{'':>10}{warm_hand_sum:10.3f}")
    print(f"{'pandas load+merge':24}{load_pd:10.3f}")
    print(f"{'pandas pivot_table':24}{cold_pd_pivot:10.3f}{warm_pd:10.3f}")
    print(f"ratio engine / hand DuckDB: cold {cold_engine / cold_hand:.2f}, warm {warm_engine / warm_hand:.2f}; "
          f"pandas (load+pivot) / engine warm: {(load_pd + warm_pd) / warm_engine:.1f}×")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    ok = warm_engine < 1.0 and warm_engine <= 2 * warm_hand
    print(f"target (warm < 1 s and ≤ 2× hand DuckDB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
