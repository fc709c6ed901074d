"""Recommendations: time and holdout hit rate beside recommending the most popular products (the ratio).

Runs the scoring pipeline's recommendation step (`pipeline.recommend_model`: fit as of the calibration cut-off,
check a sample against the holdout window, refit and recommend to everyone) on

- grocery: `analytics.grocery.grocery_lines` — 2,500 customers, 70,000 products (Zipf), a year of weekly-ish
  baskets of 10-30 products with staples and tastes;
- light: `analytics.grocery.light_lines` — many light shoppers over 5,000 products (`--light N` customers),
  the shape of a 1M-customer retailer, to measure how the step scales;
- demo: the demo business (`clientwise demo` generator) loaded into bench/out (`--demo N` customers, 0 skips),
  extracted and read the way the pipeline reads it.

Every set is checked with the evaluation protocol of the pipeline (recommend.holdout_metrics): lists as of
as_of − holdout against what each customer bought afterwards. Run it under the shared benchmark lock:

    flock /tmp/clientwise-bench.lock .venv/bin/python bench/bench_recommend.py [--demo 20000] [--light 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _catalog(lines: pd.DataFrame) -> pd.DataFrame:
    ids = np.unique(lines["product_id"].to_numpy())
    return pd.DataFrame({"product_id": ids, "name": [f"P{i}" for i in ids], "category": "GROCERY"})


def run_step(name: str, lines: pd.DataFrame, catalog: pd.DataFrame, *, holdout: int, k: int) -> dict:
    from clientwise.analytics import features, pipeline

    as_of = features.from_day(int(lines["day"].max()))
    config = pipeline.ScoringConfig(as_of=as_of, holdout_days=holdout, recommendations=k)
    ids = np.unique(lines["customer_id"].to_numpy(dtype=np.int64))
    started = time.perf_counter()
    lists, out = pipeline.recommend_model(config, ids, lines, catalog, k)
    seconds = time.perf_counter() - started
    m = out.metrics
    ratio = m["hit_rate"] / m["baseline_hit_rate"] if m.get("baseline_hit_rate") else float("nan")
    print(f"{name:<34} customers {ids.size:>9,}  products {catalog.shape[0]:>6,}  lines {len(lines):>11,}  "
          f"{seconds:7.2f} s  hit@{k} {m['hit_rate']:.4f}  most popular {m['baseline_hit_rate']:.4f}  "
          f"ratio {ratio:.3f}  precision {m['precision_at_k']:.4f} vs {m['baseline_precision_at_k']:.4f}  "
          f"served {out.parameters.get('served')}  guard {m['guard']['serving']}", flush=True)
    return {"seconds": seconds, **m}


def demo_lines(customers: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dt.date]:
    import _setup

    _setup.configure()
    from django.core.management import call_command

    from clientwise.analytics import extract, features
    from clientwise.analytics.engines import get_engine
    from clientwise.demo.generator import generate

    call_command("migrate", verbosity=0)
    now = dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC)
    generate(customers=customers, seed=seed, now=now, future_days=0, reset=True)
    as_of = dt.date(2026, 6, 30)
    snap = extract.extract_snapshot(stamp=f"bench-recommend-{customers}-{time.time_ns()}")
    with get_engine("duckdb") as eng:
        eng.register(snap)
        lines = eng.arrow(features.lines_sql(as_of)).to_pandas()
        catalog = eng.arrow(features.catalog_sql()).to_pandas()
    return lines, catalog, as_of


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=2_500, help="grocery shoppers (0 skips)")
    parser.add_argument("--products", type=int, default=70_000)
    parser.add_argument("--light", type=int, default=100_000, help="light shoppers over 5,000 products (0 skips)")
    parser.add_argument("--demo", type=int, default=5_000, help="demo customers (0 skips)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-k", type=int, default=3)
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientwise.settings")
    from clientwise.analytics.grocery import grocery_lines, light_lines

    if args.customers:
        lines = grocery_lines(customers=args.customers, products=args.products, seed=args.seed)
        for holdout in (180, 28):
            run_step(f"grocery, holdout {holdout} d", lines, _catalog(lines), holdout=holdout, k=args.k)
    if args.light:
        lines = light_lines(customers=args.light, seed=args.seed)
        run_step(f"light shoppers ({args.light:,}), 180 d", lines, _catalog(lines), holdout=180, k=args.k)
    if args.demo:
        lines, catalog, _ = demo_lines(args.demo, args.seed or 42)
        run_step("demo, holdout 180 d", lines, catalog, holdout=180, k=args.k)


if __name__ == "__main__":
    main()
