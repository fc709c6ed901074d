"""Search benchmark: first page of the customer list for a search, through the real code path.

    .venv/bin/python bench/bench_search.py            # on the database bench_load.py made

For each kind of query (phone, member number, name prefix, pinyin prefix) it times ~200 searches as an admin
(sees everyone) and as a sales rep (sees own and shared customers): customers.queries.customer_page, i.e.
visible_customers + filter_customers + core.pagination.keyset_page sorted by name, as the list page runs it,
including fetching the 25 rows. The baseline is a raw sqlite3 (or psycopg) query answering the same question
straight from the index that should serve it. Prints p50/p95 in ms and the ratio p95(code path)/p95(raw).
Use --explain to print the query plans of the slowest query of each kind.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

PAGE = 25


def sample_queries(rng: np.random.Generator, customers: list[tuple], n: int) -> dict[str, list[str]]:
    """Query strings as people type them, drawn from real rows: 11-digit phone, member number, the first two
    characters of a name, the first five pinyin letters."""
    picks = [customers[i] for i in rng.choice(len(customers), size=min(n, len(customers)), replace=False)]
    chinese = [c for c in picks if c[3] and not c[3].isascii()]
    return {
        "phone": [c[1].removeprefix("+86") for c in picks if c[1]][:n],
        "member": [c[2] for c in picks if c[2]][:n],
        "name prefix": [c[3].replace(" ", "")[:2] for c in chinese][:n],
        "pinyin prefix": [c[4][:5] for c in chinese if len(c[4]) >= 5][:n],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=_setup.DEFAULT_DB)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rep", default="rep_sh_1", help="the sales rep to search as")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args(argv)
    _setup.configure(args.db)

    from django.db import connection, reset_queries

    from clientwise.accounts.models import User
    from clientwise.customers import queries
    from clientwise.customers.models import Customer

    admin = User.objects.get(username="admin")
    rep = User.objects.get(username=args.rep)
    rng = np.random.default_rng(args.seed)
    total = Customer.objects.count()
    print(f"database: {connection.vendor}, {total:,} customers; {args.queries} queries per kind and user")

    fields = ("id", "mobile", "member_number", "name", "name_pinyin")

    def sample_for(qs) -> list[tuple]:
        if qs is None:  # everyone: random ids across the table
            hi = Customer.objects.order_by("-id").values_list("id", flat=True).first()
            pick = sorted(set(rng.integers(1, hi + 1, args.queries * 3).tolist()))
            return list(Customer.objects.filter(pk__in=pick).values_list(*fields))
        return list(qs.values_list(*fields)[:50_000])

    workloads = {
        "admin": (admin, sample_queries(rng, sample_for(None), args.queries)),
        f"{args.rep} (sales rep)": (rep, sample_queries(rng, sample_for(queries.visible_customers(rep)),
                                                         args.queries)),
    }
    raw = RawBaseline(connection)
    failures = []
    print(f"{'user':<22} {'query':<14} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'raw p50':>8} {'raw p95':>8} "
          f"{'ratio p95':>9} {'hits':>6}")
    for label, (user, kinds) in workloads.items():
        for kind, texts in kinds.items():
            # Warm up the caches and the code path once.
            run_page(queries, user, texts[0])
            times, raw_times, hits, slowest = [], [], 0, (0.0, "")
            for text in texts:
                reset_queries()
                started = time.perf_counter()
                page = run_page(queries, user, text)
                elapsed = (time.perf_counter() - started) * 1000
                times.append(elapsed)
                hits += bool(page.items)
                slowest = max(slowest, (elapsed, text))
                started = time.perf_counter()
                raw.query(kind, text, user)
                raw_times.append((time.perf_counter() - started) * 1000)
            p50, p95 = statistics.median(times), _setup.percentile(times, 95)
            r50, r95 = statistics.median(raw_times), _setup.percentile(raw_times, 95)
            print(f"{label:<22} {kind:<14} {len(texts):>4} {p50:>8.2f} {p95:>8.2f} {r50:>8.2f} {r95:>8.2f} "
                  f"{p95 / r95 if r95 else 0:>9.1f} {hits:>6}")
            if p95 >= 100:
                failures.append(f"{label} / {kind}: p95 {p95:.1f} ms")
            if args.explain:
                explain(connection, queries, user, slowest[1])
    print("target p95 < 100 ms: " + ("met" if not failures else "MISSED for " + "; ".join(failures)))


def run_page(queries, user, text: str):
    """The list page's search: the same call customers.views makes for ?q=text (sorted by name)."""
    filters = queries.CustomerFilters(q=text)
    if hasattr(queries, "customer_page"):
        return queries.customer_page(user, filters, sort="name", size=PAGE)
    from clientwise.core.pagination import keyset_page

    return keyset_page(queries.filter_customers(queries.visible_customers(user), filters), sort="name", size=PAGE)


def explain(connection, queries, user, text: str) -> None:
    filters = queries.CustomerFilters(q=text)
    sort = getattr(queries, "SORTS", {}).get("name", "name")
    qs = queries.filter_customers(queries.visible_customers(user), filters).order_by(sort, "id")[: PAGE + 1]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cur.execute(prefix + sql, params)
        print(f"    plan for {text!r}:")
        for row in cur.fetchall():
            print("      " + " | ".join(str(x) for x in row))


class RawBaseline:
    """The same lookups as hand-written SQL on the index meant to serve each one (no visibility filter for
    the admin, the owner filter for a rep), fetching the same 25 rows."""

    def __init__(self, connection):
        self.connection = connection
        self.mark = "?" if connection.vendor == "sqlite" else "%s"

    def query(self, kind: str, text: str, user) -> list:
        from clientwise.core.normalize import phone_search_key

        m = self.mark
        totals = "FROM customers_customerstats s WHERE s.customer_id = c.id"  # the purchase totals row
        cols = (f"c.id, c.name, c.mobile, c.email, c.member_number, c.status, c.city, (SELECT s.revenue {totals}), "
                f"(SELECT s.order_count {totals})")
        owner = f" AND c.owner_id = {int(user.pk)}" if user.role == "sales_rep" else ""
        if kind == "phone":
            sql = (f"SELECT {cols} FROM customers_contactpoint p JOIN customers_customer c ON c.id = p.customer_id "
                   f"WHERE p.value_normalized = {m}{owner} ORDER BY c.name, c.id LIMIT {PAGE + 1}")
            params = [phone_search_key(text)]
        elif kind == "member":
            sql = f"SELECT {cols} FROM customers_customer c WHERE c.member_number = {m}{owner} LIMIT {PAGE + 1}"
            params = [text]
        else:
            field = "name" if kind == "name prefix" else "name_pinyin"
            sql = (f"SELECT {cols} FROM customers_customer c WHERE c.{field} >= {m} AND c.{field} < {m}{owner} "
                   f"ORDER BY c.{field}, c.id LIMIT {PAGE + 1}")
            params = [text, text + "\U0010ffff"]
        raw = self.connection.connection
        cur = raw.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
        return rows


if __name__ == "__main__":
    main()
