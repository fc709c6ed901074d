"""Dedup benchmark: identity resolution of a generated business end to end, beside Splink's predict alone.

    .venv/bin/python bench/bench_dedup.py --generate 1000000    # once: a demo business in bench/out/dedup.sqlite3
    .venv/bin/python bench/bench_dedup.py                       # extract, block, score, store + evaluation

End to end is what `clientwise dedup` does: stream customers from the operational database into DuckDB
through Arrow, train the Splink model (u by random sampling, m by EM), predict the pairs above the threshold,
and store them with their evidence as DuplicateCandidate rows. The baseline, in the same process and on the
same DuckDB table, is Splink's `predict` alone with the trained model. Prints seconds per stage, the ratio
end-to-end / predict, peak memory (max RSS, DuckDB included) and precision/recall against the demo ground truth.
Targets (issue 3): 1M customers in under 3 minutes and 8 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

DEFAULT_DB = _setup.OUT / "dedup.sqlite3"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--generate", type=int, default=0, metavar="N",
                        help="first (re)generate a demo business with N customers into the bench database")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threshold", type=float, default=0.9)
    args = parser.parse_args(argv)
    if args.generate and not os.environ.get("DATABASE_URL") and args.db.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    url = _setup.configure(args.db)

    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    if args.generate:
        t = time.perf_counter()
        call_command("demo", customers=args.generate, seed=args.seed, reset=True, verbosity=0)
        print(f"generated {args.generate:,} customers in {time.perf_counter() - t:.0f}s", flush=True)

    from splink import DuckDBAPI, Linker

    from clientwise.dataio.identity import services

    print(f"database: {url}; cores: {os.cpu_count()}", flush=True)
    out = services.run_dedup(threshold=args.threshold, evaluate=True, keep_connection=True)
    run, con = out.run, out.con
    s, c, m = run.seconds, run.counts, run.metrics

    # Baseline: Splink's predict alone, with the trained model, on the same DuckDB table.
    linker = Linker(DuckDBAPI(con).register("records"), run.model, log_level=logging.ERROR)
    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=args.threshold)
    baseline_pairs = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
    baseline = time.perf_counter() - t
    peak = services.peak_memory_mb()
    classes = evidence_classes(con, services.true_pairs(), args.threshold) if m else []
    con.close()

    print(f"\ncustomers (persons, not archived): {c['records']:,}")
    print(f"pairs ≥ {args.threshold}: {c['pairs']:,} (stored {c['stored']:,}); baseline predict found {baseline_pairs:,}")
    print("stage seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in s.items()))
    print(f"end to end (extract, block, score, store): {s['total']:.2f}s")
    print(f"Splink predict alone (baseline):          {baseline:.2f}s")
    print(f"ratio end-to-end / predict:               {s['total'] / baseline:.1f}x")
    print(f"peak memory (max RSS): {peak:,.0f} MB")
    if m:
        print(f"precision {m['precision']}, recall {m['recall']} on pairs "
              f"({m['true_positives']:,} true of {m['predicted_pairs']:,} predicted; {m['true_pairs']:,} true pairs)")
    for label, found, total in classes:
        print(f"  recall among true pairs {label}: {found:,} of {total:,} ({found / max(total, 1):.4f})")
    ok = s["total"] < 180 and peak < 8 * 1024
    print(f"target (< 3 min, < 8 GB): {'met' if ok else 'NOT met'}")


# What two records of one person have in common besides name and place: a shared identifying point (phone, its
# last 8 digits, email or its local part, birth date, street address) or none. Pairs with none look like two
# namesakes in one city; recall is reported for both kinds so a change of the generator's duplicates shows.
SHARED_POINT = """
    coalesce(l.phone_last8 = r.phone_last8, false) OR coalesce(l.email_local = r.email_local, false)
    OR coalesce(l.birth_date = r.birth_date, false) OR coalesce(l.address = r.address, false)
"""


def evidence_classes(con, truth: set[tuple[int, int]], threshold: float) -> list[tuple[str, int, int]]:
    import pyarrow as pa

    con.register("truth_in", pa.table({"a": [a for a, _ in truth], "b": [b for _, b in truth]}))
    rows = con.execute(f"""
        SELECT ({SHARED_POINT}) AS shared, count(*) AS total,
               count(*) FILTER (WHERE p.unique_id_l IS NOT NULL) AS found
        FROM truth_in t JOIN records l ON l.unique_id = t.a JOIN records r ON r.unique_id = t.b
        LEFT JOIN (SELECT least(unique_id_l, unique_id_r) AS unique_id_l, greatest(unique_id_l, unique_id_r)
                   AS unique_id_r FROM pairs WHERE match_probability >= {threshold}) p
               ON p.unique_id_l = t.a AND p.unique_id_r = t.b
        GROUP BY ALL ORDER BY shared DESC""").fetchall()
    con.unregister("truth_in")
    names = {True: "sharing a phone, email, birth date or address", False: "sharing only name and place"}
    return [(names[bool(shared)], found, total) for shared, total, found in rows]


if __name__ == "__main__":
    main()
