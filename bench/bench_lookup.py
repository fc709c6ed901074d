"""Agent lookup benchmark: a call comes in → phone lookup → the rendered call screen, through the real pages.

    .venv/bin/python bench/bench_load.py --customers 1000000 --db bench/out/bench_lookup.sqlite3 --no-baseline
    .venv/bin/python bench/bench_lookup.py --db bench/out/bench_lookup.sqlite3

For each of ~300 phone numbers drawn from real customers it times, as a signed-in service agent (sees every
customer, no PII right, so phones are masked), with Django's test client in this process:

  lookup   GET /service/lookup/?phone=<11 digits>  → 200, the call screen itself (value tier, churn risk, next
                                                     best action, open tickets, recent orders); with --tail only
                                                     the last 8 digits are typed. This is what the agent waits for
                                                     after pressing Enter (until 2026-12-07 a 302 to the call
                                                     screen, whose GET the total added)
  call     GET /service/call/<id>/?phone=…         → 200, the same screen from its own address (a reload, a link)

and prints p50/p95 in ms with the number of SQL queries per request. The baseline is the bare indexed SQL an
agent's lookup needs at minimum: the contact point by normalized number (contact_value index) joined to its
customer row, through the raw DB-API connection. ratio = p95(total) / p95(baseline).

Before measuring, the service tables are migrated if needed and, when the database has no tickets yet, the
service demo rows (tickets, surveys, work orders for ~8 % of the customers; clientwise/service/demo_data.py)
are generated so the service card has real rows to show (--no-service-data skips that).
Target (issue 7): p95(total) < 100 ms at 1M customers / ~10M order lines.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=_setup.DEFAULT_DB)
    parser.add_argument("--phones", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--agent", default="agent_1", help="the service agent to look up as")
    parser.add_argument("--no-service-data", action="store_true")
    parser.add_argument("--tail", action="store_true", help="type only the last 8 digits of each number")
    args = parser.parse_args(argv)
    _setup.configure(args.db)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    from clientwise.accounts.models import User
    from clientwise.customers.models import ContactPoint, Customer
    from clientwise.service.models import Ticket

    agent = User.objects.get(username=args.agent)
    total = Customer.objects.count()
    if not args.no_service_data and not Ticket.objects.exists():
        started = time.perf_counter()
        counts = _service_demo(agent)
        print(f"service demo rows generated in {time.perf_counter() - started:.1f} s: {counts}")
    lines = _count("commerce_orderline")
    print(f"database: {connection.vendor}, {total:,} customers, {lines:,} order lines, "
          f"{Ticket.objects.count():,} tickets; {args.phones} phones as {agent.username} ({agent.role})")

    rng = np.random.default_rng(args.seed)
    hi = ContactPoint.objects.order_by("-id").values_list("id", flat=True).first()
    pick = sorted(set(rng.integers(1, hi + 1, args.phones * 4).tolist()))
    phones = list(ContactPoint.objects.filter(pk__in=pick, kind="mobile", customer__archived_at__isnull=True)
                  .values_list("value_normalized", flat=True))[: args.phones]
    # Phones several live customers share land on a choice list, not the 360: keep the one-customer numbers.
    phones = [p for p in phones if Customer.objects.filter(
        contact_points__value_normalized=p, contact_points__kind="mobile", archived_at__isnull=True).count() == 1]
    with_tickets = set(Ticket.objects.filter(customer__contact_points__value_normalized__in=phones)
                       .values_list("customer__contact_points__value_normalized", flat=True))

    client = Client()
    client.force_login(agent, backend="django.contrib.auth.backends.ModelBackend")
    if args.tail:  # only the last 8 digits, for numbers whose last 8 digits only one live customer has
        phones = [p for p in phones if Customer.objects.filter(
            contact_points__phone_tail=p[-8:], archived_at__isnull=True).distinct().count() == 1]
    typed = [p[-8:] if args.tail else p.removeprefix("+86") for p in phones]  # as the agent types them

    def lookup_and_render(text: str) -> tuple[float, float, int, int, float, float]:
        with CaptureQueriesContext(connection) as q1:
            c0, t0 = time.process_time(), time.perf_counter()
            r1 = client.get("/service/lookup/", {"phone": text})
            t1, c1 = time.perf_counter(), time.process_time()
        assert r1.status_code == 200 and b'id="call-screen"' in r1.content, (text, r1.status_code)
        address = re.search(rb'data-address="([^"]+)"', r1.content).group(1).decode().replace("&amp;", "&")
        with CaptureQueriesContext(connection) as q2:
            c2, t2 = time.process_time(), time.perf_counter()
            r2 = client.get(address)
            body = r2.content
            t3, c3 = time.perf_counter(), time.process_time()
        assert r2.status_code == 200 and b'id="call-screen"' in body, (text, r2.status_code)
        return (t1 - t0) * 1000, (t3 - t2) * 1000, len(q1), len(q2), (c1 - c0) * 1000, (c3 - c2) * 1000

    for text in typed[:5]:  # warm up caches and the code path
        lookup_and_render(text)
    raw = RawBaseline(connection)
    lookups, renders, totals, base, nq1, nq2, cpu = [], [], [], [], [], [], []
    panel_ms = []
    reset_queries()
    from django.template.loader import render_to_string

    from clientwise.customers.queries import get_customer_for
    from clientwise.service.queries import customer_panel

    load_before = os.getloadavg()[0]
    for text, e164 in zip(typed, phones, strict=True):
        a, b, n1, n2, ca, cb = lookup_and_render(text)
        cpu.append(ca)
        customer = get_customer_for(agent, Customer.objects.filter(
            contact_points__value_normalized=e164).values_list("pk", flat=True).first())
        started = time.perf_counter()
        render_to_string("service/_customer_panel.html", {"panel": customer_panel(agent, customer),
                                                          "customer": customer})
        panel_ms.append((time.perf_counter() - started) * 1000)
        lookups.append(a)
        renders.append(b)
        totals.append(a)  # the lookup answers with the call screen: what the agent waits for
        nq1.append(n1)
        nq2.append(n2)
        started = time.perf_counter()
        assert raw.query(e164), e164
        base.append((time.perf_counter() - started) * 1000)

    print(f"{'step':<28} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    for label, values, queries in (("lookup → call screen (200)", lookups, nq1),
                                   ("call screen by its address", renders, nq2),
                                   ("total: what the agent waits", totals, nq1),
                                   ("  of which process CPU", cpu, [0] * len(cpu)),
                                   ("service card (3 queries)", panel_ms, [3] * len(panel_ms)),
                                   ("baseline: raw indexed SQL", base, [1] * len(base))):
        print(f"{label:<28} {len(values):>4} {statistics.median(values):>8.2f} {_setup.percentile(values, 95):>8.2f} "
              f"{max(values):>8.2f} {statistics.median(queries):>8.0f}")
    ratio = _setup.percentile(totals, 95) / _setup.percentile(base, 95)
    print(f"ratio p95(total) / p95(baseline): {ratio:,.0f}")
    print(f"customers in the sample with tickets: {len(with_tickets)} of {len(phones)}")
    print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs (other processes' CPU use inflates wall time; see the process CPU row)")
    p95 = _setup.percentile(totals, 95)
    print(f"target p95 < 100 ms: {'met' if p95 < 100 else 'MISSED'} ({p95:.1f} ms)")


def _count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
        return cur.fetchone()[0]


def _service_demo(agent) -> dict:
    """The service demo rows on top of the bench's demo business (same seed and `now` as its DemoRun)."""
    from clientwise.accounts.models import User
    from clientwise.core.extensions import DemoContext
    from clientwise.demo import catalog as C
    from clientwise.demo.models import DemoRun
    from clientwise.demo.world import StaffUser
    from clientwise.service import demo_data

    run = DemoRun.objects.order_by("-id").first()
    staff = [StaffUser(u.username, u.role, "", str(u), False) for u in User.objects.filter(is_active=True)]
    ctx = DemoContext(seed=run.seed if run else 42, now=run.now if run else None, source=C.SOURCE, staff=staff)
    return demo_data.generate(ctx)


class RawBaseline:
    """The least an agent's lookup must read: the contact point by normalized number (contact_value index) and
    its customer's row by primary key, as one join on the raw connection."""

    def __init__(self, connection):
        self.connection = connection
        self.mark = "?" if connection.vendor == "sqlite" else "%s"

    def query(self, e164: str) -> list:
        m = self.mark
        sql = ("SELECT c.id, c.name, c.mobile, c.city, c.status, s.revenue, s.order_count, s.last_order_at "
               "FROM customers_contactpoint p JOIN customers_customer c ON c.id = p.customer_id "
               "JOIN customers_customerstats s ON s.customer_id = c.id "
               f"WHERE p.value_normalized = {m} AND p.kind = 'mobile' AND c.archived_at IS NULL LIMIT 2")
        cur = self.connection.connection.cursor()
        cur.execute(sql, [e164])
        rows = cur.fetchall()
        cur.close()
        return rows


if __name__ == "__main__":
    main()
