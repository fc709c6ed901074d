"""`clientwise demo`: generate a believable business with a known future (see clientwise.demo.generator)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clientwise.analytics.services import run_scoring
from clientwise.core.errors import DomainError
from clientwise.core.extensions import DemoContext, demo_modules
from clientwise.dataio.identity.services import run_dedup
from clientwise.dataio.quality.services import run_quality
from clientwise.demo import catalog as demo_catalog
from clientwise.demo.generator import generate

ROLE_ORDER = ["admin", "manager", "sales_rep", "service_agent", "marketer", "analyst"]


class Command(BaseCommand):
    help = "Generate demo customers, orders and staff (deterministic for a seed) with a held-out future."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=10_000, help="number of customers (default 10000)")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--history-days", type=int, default=730, help="simulated days before now")
        parser.add_argument("--future-days", type=int, default=180, help="held-out days after now")
        parser.add_argument("--now", default="", help="the date that splits past and future (YYYY-MM-DD; "
                                                       "default today)")
        parser.add_argument("--chunk-size", type=int, default=50_000)
        parser.add_argument("--reset", action="store_true", help="delete the previous demo data first")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        parser.add_argument("--data-only", action="store_true",
                            help="skip the data-quality pass, the duplicate search and the analytics scoring that "
                                 "follow the generation")

    def handle(self, *args, **opts):
        now = None
        if opts["now"]:
            try:
                day = dt.date.fromisoformat(opts["now"])
            except ValueError:
                raise CommandError(f"--now: {opts['now']!r} is not a date (YYYY-MM-DD).") from None
            now = timezone.make_aware(dt.datetime.combine(day, dt.time()))
        try:
            result = generate(customers=opts["customers"], seed=opts["seed"], history_days=opts["history_days"],
                              future_days=opts["future_days"], reset=opts["reset"], quiet=opts["quiet"], now=now,
                              chunk_size=opts["chunk_size"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        out = self.stdout
        local_now = timezone.localtime(result.now)
        out.write(self.style.SUCCESS(
            f"Demo business generated in {result.seconds:.1f} s (seed {result.seed}, now {local_now:%Y-%m-%d}, "
            f"history from {timezone.localtime(result.history_start):%Y-%m-%d}, {result.future_days} future days)."))
        out.write(f"  customers      {result.customers:>12,}  (organizations {result.organizations:,}, "
                  f"injected duplicates {result.duplicates:,})")
        out.write(f"  orders         {result.orders:>12,}  (held-out future orders {result.future_orders:,})")
        out.write(f"  order lines    {result.order_lines:>12,}")
        out.write(f"  returns        {result.returns:>12,}")
        out.write(f"  timeline rows  {result.interactions:>12,}")
        rate = result.load_rows / result.load_seconds if result.load_seconds else 0
        out.write(f"  rows loaded    {result.load_rows:>12,}  in {result.load_seconds:.1f} s ({rate:,.0f} rows/s)")
        self._apps(out, result, opts)
        if not opts["data_only"]:
            self._derived(out)
        out.write("")
        out.write(f"Sign in with any of these users; the password for all of them is: {result.password}")
        staff = sorted(result.staff, key=lambda s: (ROLE_ORDER.index(s.role) if s.role in ROLE_ORDER else 99,
                                                     s.username))
        for s in staff:
            note = "" if s.created else "  (existing user: password unchanged)"
            out.write(f"  {s.username:<14} {s.role:<14} {s.team:<12} {s.display_name}{note}")

    def _apps(self, out, result, opts) -> None:
        """Each app's own demo rows (leads and opportunities, tickets and surveys…) on top of the business."""
        ctx = DemoContext(seed=result.seed, now=result.now, source=demo_catalog.SOURCE, quiet=opts["quiet"],
                          staff=list(result.staff))
        for module in demo_modules():
            if not hasattr(module, "generate"):
                continue
            for label, count in (module.generate(ctx) or {}).items():
                out.write(f"  {label:<14} {count:>12,}")

    def _derived(self, out) -> None:
        """Run what a real installation runs nightly, so the data pages show the demo's own problems."""
        quality = run_quality()
        out.write(f"  data quality   {quality.customers:>12,}  customers scored (see /data/quality/)")
        dedup = run_dedup()
        out.write(f"  duplicates     {dedup.counts.get('stored', 0):>12,}  candidate pairs to review "
                  f"(see /data/duplicates/)")

        batch = run_scoring()
        out.write(f"  scores         {batch.scores:>12,}  customers scored: value, churn risk, next purchase "
                  f"(see /analytics/)")
