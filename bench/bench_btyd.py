"""BG/NBD fit benchmark: clientwise.analytics.btyd beside lifetimes.BetaGeoFitter on the same customers.

    .venv/bin/python bench/bench_btyd.py                      # 1,000,000 simulated customers (days)
    .venv/bin/python bench/bench_btyd.py --snapshot DIR       # the (x, t_x, T) of a scoring snapshot instead

Data: by default customers simulated from the BG/NBD story with the demo business's parameters (purchase rate
λ ~ Gamma(r = 0.9, α = 365/8 days): about 7 purchases a year while alive; drop-out p ~ Beta(1.2, 8)), first
purchases spread over two years, summarised in whole days as the pipeline does (x = repeat purchase days,
t_x and T in days).
With --snapshot, the customers of a Parquet snapshot (features as of its last order day).

Timed, in this process, on the same arrays:
  ours            btyd.unique_rows + btyd.fit_bgnbd on the unique (x, t_x, T) with counts as weights
                  (what the pipeline does);
  ours, all rows  btyd.fit_bgnbd on every customer (no grouping) — how much of the speed is the grouping;
  lifetimes       BetaGeoFitter().fit(frequency, recency, T) on every customer (how it is usually called);
  lifetimes, weighted  BetaGeoFitter().fit(...) on the same unique rows with weights=counts;
  lifetimes, BLAS 1 thread  the all-rows fit again with BLAS limited to one thread, as our fit runs.
Prints seconds, speed-ups, and the parameters side by side to 3 significant digits.
Target (issue 4): at least 10× faster than lifetimes, same parameters to 3 significant digits.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clientwise.analytics import btyd  # noqa: E402

NAMES = ("r", "alpha", "a", "b")


def simulate(n: int, *, seed: int, r: float = 0.9, alpha: float = 365 / 8, a: float = 1.2, b: float = 8.0,
             days: int = 730) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD customers in whole days: first purchase on a day in [0, days), observed to day `days`."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    first = np.floor(rng.random(n) * days)
    end = float(days)
    now = first + rng.random(n)  # within the first day
    last_day = np.floor(now)
    buy_days = np.zeros(n)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1.0 / lam[active])
        active = active[now[active] < end]
        day = np.floor(now[active])
        new = day > last_day[active]  # several purchases on one day are one purchase day
        buy_days[active[new]] += 1
        last_day[active] = day
        active = active[rng.random(active.size) >= p[active]]
    T = end - 1 - first
    t_x = last_day - first
    return buy_days, t_x, T


def from_snapshot(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import duckdb

    con = duckdb.connect()
    as_of = con.execute(f"SELECT max(day) FROM read_parquet('{path / 'orders.parquet'}')").fetchone()[0]
    rows = con.execute(f"""
        WITH pd AS (SELECT customer_id, day FROM read_parquet('{path / 'orders.parquet'}') GROUP BY customer_id, day)
        SELECT count(*) - 1, max(day) - min(day), {as_of} - min(day) FROM pd GROUP BY customer_id
    """).fetchnumpy()
    x, t_x, T = (np.asarray(v, dtype=float) for v in rows.values())
    return x, t_x, T


def sig3(value: float) -> str:
    return f"{value:.3g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--snapshot", type=Path, default=None)
    parser.add_argument("--skip-lifetimes-all-rows", action="store_true",
                        help="only run lifetimes on the weighted unique rows (its all-rows fit takes minutes)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.snapshot:
        x, t_x, T = from_snapshot(args.snapshot)
        source = f"snapshot {args.snapshot}"
    else:
        x, t_x, T = simulate(args.customers, seed=args.seed)
        source = f"simulated (seed {args.seed})"
    print(f"data: {x.size:,} customers, {source}, prepared in {time.perf_counter() - started:.1f} s; "
          f"mean x {x.mean():.2f}, x = 0 for {np.mean(x == 0):.0%}", flush=True)

    results: dict[str, tuple[float, dict]] = {}

    t = time.perf_counter()
    (ux, utx, uT), counts, _ = btyd.unique_rows(x, t_x, T)
    params, info = btyd.fit_bgnbd(ux, utx, uT, counts)
    results["ours"] = (time.perf_counter() - t, params.as_dict())
    print(f"ours                 {results['ours'][0]:8.2f} s   {ux.size:,} unique (x, t_x, T), "
          f"{info.iterations} iterations, converged={info.converged}", flush=True)

    t = time.perf_counter()
    params_all, _ = btyd.fit_bgnbd(x, t_x, T)
    results["ours, all rows"] = (time.perf_counter() - t, params_all.as_dict())
    print(f"ours, all rows       {results['ours, all rows'][0]:8.2f} s", flush=True)

    from lifetimes import BetaGeoFitter

    warnings.simplefilter("ignore")
    t = time.perf_counter()
    weighted = BetaGeoFitter().fit(ux, utx, uT, weights=counts)
    results["lifetimes, weighted"] = (time.perf_counter() - t, {k: float(weighted.params_[k]) for k in NAMES})
    print(f"lifetimes, weighted  {results['lifetimes, weighted'][0]:8.2f} s   (same unique rows and counts)",
          flush=True)
    if not args.skip_lifetimes_all_rows:
        t = time.perf_counter()
        full = BetaGeoFitter().fit(x, t_x, T)
        results["lifetimes"] = (time.perf_counter() - t, {k: float(full.params_[k]) for k in NAMES})
        print(f"lifetimes            {results['lifetimes'][0]:8.2f} s   (every customer)", flush=True)
        # Our fit keeps BLAS on one thread (btyd._single_threaded_blas); give lifetimes the same chance.
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            t = time.perf_counter()
            full1 = BetaGeoFitter().fit(x, t_x, T)
            results["lifetimes, BLAS 1 thread"] = (time.perf_counter() - t,
                                                   {k: float(full1.params_[k]) for k in NAMES})
        print(f"lifetimes, BLAS 1 thread {results['lifetimes, BLAS 1 thread'][0]:4.2f} s   (every customer)",
              flush=True)

    ours_s = results["ours"][0]
    print("\nspeed-up of ours:")
    for name, (seconds, _) in results.items():
        if name != "ours":
            print(f"  vs {name:<20} {seconds / ours_s:8.1f}×")
    print("\nparameters (time unit: day)        " + "".join(f"{n:>14}" for n in NAMES))
    for name, (_, p) in results.items():
        print(f"  {name:<32}" + "".join(f"{p[k]:>14.6g}" for k in NAMES))
    ref_name = "lifetimes" if "lifetimes" in results else "lifetimes, weighted"
    ref = results[ref_name][1]
    same = all(sig3(results["ours"][1][k]) == sig3(ref[k]) for k in NAMES)
    print(f"\nours vs {ref_name}, 3 significant digits: " + ", ".join(
        f"{k} {sig3(results['ours'][1][k])}/{sig3(ref[k])}" for k in NAMES) + f"  → {'same' if same else 'DIFFERENT'}")
    rel = max(abs(results["ours"][1][k] - ref[k]) / abs(ref[k]) for k in NAMES)
    print(f"largest relative difference: {rel:.2e}")


if __name__ == "__main__":
    main()
