"""Scoring benchmark: `clientwise score` end to end on a generated business, beside raw baselines.

    .venv/bin/python bench/bench_score.py --generate 1000000   # (re)generate the business first, then score
    .venv/bin/python bench/bench_score.py                      # score the business already in the database

Database: bench/out/bench.sqlite3 (the one bench_load.py writes; reused when present), or $DATABASE_URL.
End to end is `analytics.services.run_scoring` — what `clientwise score` and the nightly task run: stream the
operational tables through Arrow into a Parquet snapshot, feature SQL in DuckDB (or Spark with --engine spark)
at the four cut-offs the models need, RFM, BG/NBD + Gamma-Gamma + CLV with holdout validation, the churn model,
and the bulk write of one CustomerScore per customer with a ModelRun per model, in one transaction.

Baselines, in the same process and on the same data:
  raw scan   DuckDB reading every column of the snapshot's Parquet files once (count + sums) — the least any
             SQL engine must do to compute features from them; ratio = feature stage / raw scan;
  raw read   the order-line table read through a plain sqlite3 cursor in 100,000-row fetchmany chunks, no
             Arrow (SQLite only) — the least the extract must do; ratio = extract stage / raw read of all tables.
Target (issue 4): 1M customers and ~10M order lines end to end in under 5 minutes on 2 cores.

After the run: the purchase model the run chose (BG/NBD or MBG/NBD) with both holdout RMSEs, and the time to
explain the churn risk of a page of 25 customers scoring did not explain (dashboards.explain_churn, 21 random
pages; the first includes loading LightGBM and the model).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402


def raw_scan_seconds(snapshot_path: Path) -> tuple[float, int]:
    """Read every column of every Parquet file once with DuckDB (count + sum/count of each column)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    con = duckdb.connect()
    rows = 0
    started = time.perf_counter()
    for file in sorted(snapshot_path.glob("*.parquet")):
        schema = pq.read_schema(file)
        parts = ["count(*)"]
        for field in schema:
            name = f'"{field.name}"'
            numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
            parts.append(f"sum({name})" if numeric else f"count({name})")
        result = con.execute(f"SELECT {', '.join(parts)} FROM read_parquet('{file}')").fetchone()
        rows += int(result[0])
    con.close()
    return time.perf_counter() - started, rows


def raw_read_seconds(db_path: Path, tables: list[str]) -> tuple[float, int]:
    """SELECT * of the given tables through a plain sqlite3 cursor, 100,000 rows per fetchmany."""
    con = sqlite3.connect(db_path)
    rows = 0
    started = time.perf_counter()
    for table in tables:
        cur = con.execute(f'SELECT * FROM "{table}"')
        while batch := cur.fetchmany(100_000):
            rows += len(batch)
    con.close()
    return time.perf_counter() - started, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=_setup.DEFAULT_DB)
    parser.add_argument("--generate", type=int, default=0, metavar="N",
                        help="first (re)generate a demo business with N customers into the bench database")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--horizon-days", type=int, default=365)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    if args.generate and not os.environ.get("DATABASE_URL"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    url = _setup.configure(args.db)

    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    if args.generate:
        from clientwise.demo.generator import generate

        t = time.perf_counter()
        result = generate(customers=args.generate, seed=args.seed, reset=True)
        print(f"generated {result.customers:,} customers, {result.orders:,} orders, {result.order_lines:,} order "
              f"lines in {time.perf_counter() - t:.0f} s", flush=True)

    from clientwise.analytics.extract import TABLES
    from clientwise.analytics.services import run_scoring

    print(f"database: {connection.vendor} {url.split('@')[-1]}; cores: {os.cpu_count()}; engine: {args.engine}; "
          f"load average {os.getloadavg()[0]:.2f} (the machine is shared)", flush=True)

    def progress(stage: str, seconds: float, rows: dict) -> None:
        shown = ", ".join(f"{k} {v:,}" for k, v in rows.items() if isinstance(v, int))
        print(f"  {stage:<10} {seconds:8.1f} s   {shown}", flush=True)

    started = time.perf_counter()
    batch = run_scoring(engine=args.engine, horizon_days=args.horizon_days, progress=progress)
    total = time.perf_counter() - started
    stages = batch.stages
    extracted = stages["extract"]["rows"]
    lines = extracted.get("lines", 0)
    print(f"end to end   {total:8.1f} s   {batch.scores / total:10,.0f} customers/s   "
          f"{lines / total:10,.0f} order lines/s   ({batch.scores:,} customers, {lines:,} order lines, "
          f"{extracted.get('orders', 0):,} orders)")
    print(f"peak memory  {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MB (max RSS); "
          f"process CPU {time.process_time():.0f} s; load average now {os.getloadavg()[0]:.2f}")
    for run in batch.model_runs.order_by("id"):
        m = run.metrics
        extra = ""
        if run.model == "bgnbd":
            extra = (f"holdout predicted/actual {m['ratio']:.3f}, MAE {m['mae']:.3f}, r {m['correlation']:.3f}; "
                     f"{run.rows_in:,} unique (x, t_x, T) for {run.rows_out:,} customers")
        elif run.model == "clv":
            extra = f"holdout revenue ratio {m['ratio']:.3f}, r {m['correlation']:.3f}"
        elif m.get("auc") is not None:
            extra = f"AUC {m['auc']:.3f} vs recency-only {m['baseline_auc']:.3f}"
        print(f"  model {run.model:<14} {run.status:<6} {run.seconds:7.1f} s  {extra}")
        if run.model == "bgnbd" and m.get("selection"):
            errors = ", ".join(f"{name} RMSE {c['rmse']:.4f}" for name, c in m["selection"]["candidates"].items())
            print(f"  purchase model chosen: {m['selection']['chosen']} ({errors})")
    explain_pages(batch)
    if args.no_baseline:
        return
    scan_s, scan_rows = raw_scan_seconds(Path(batch.snapshot))
    feature_s = stages["features"]["seconds"]
    print(f"raw scan     {scan_s:8.1f} s   {scan_rows / scan_s:10,.0f} rows/s (DuckDB, every Parquet column once)")
    print(f"ratio features / raw scan: {feature_s / scan_s:.1f}  (features: 4 cut-offs + 4 activity windows)")
    if connection.vendor == "sqlite":
        from django.apps import apps

        tables = [apps.get_model(spec.model)._meta.db_table for spec in TABLES]
        read_s, read_rows = raw_read_seconds(Path(connection.settings_dict["NAME"]), tables)
        extract_s = stages["extract"]["seconds"]
        print(f"raw read     {read_s:8.1f} s   {read_rows / read_s:10,.0f} rows/s (sqlite3 SELECT *, no Arrow)")
        print(f"ratio extract / raw read: {extract_s / read_s:.2f}")


def explain_pages(batch, pages: int = 21, size: int = 25) -> None:
    """Churn reasons computed when shown: pages of customers the scoring run did not explain."""
    import random

    from clientwise.analytics import dashboards
    from clientwise.analytics.models import CustomerScore

    ids = list(CustomerScore.objects.filter(batch=batch, churn_probability__isnull=False, churn_reasons=[])
               .values_list("customer_id", flat=True))
    if len(ids) < size:
        return
    rng = random.Random(1)
    times = []
    for _ in range(pages):
        rows = list(CustomerScore.objects.filter(batch=batch, customer_id__in=rng.sample(ids, size)))
        started = time.perf_counter()
        dashboards.explain_churn(batch, rows)
        times.append(time.perf_counter() - started)
    rest = sorted(times[1:])
    print(f"on-demand reasons: {len(ids):,} customers not explained by scoring; a page of {size}: first "
          f"{times[0] * 1000:.0f} ms (loads LightGBM and the model), then median {rest[len(rest) // 2] * 1000:.0f} "
          f"ms, max {rest[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
