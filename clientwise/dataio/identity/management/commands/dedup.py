"""`clientwise dedup`: find likely duplicate customers (Splink) and store them for review."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from clientwise.core.errors import DomainError
from clientwise.dataio.identity import services


class Command(BaseCommand):
    help = ("Extract customers, block, score pairs with Splink and store the likely duplicates for review. "
            "Prints counts, seconds and peak memory; --evaluate compares with the demo ground truth.")

    def add_arguments(self, parser):
        parser.add_argument("--threshold", type=float, default=None,
                            help="store pairs with at least this match probability (default: settings, 0.9)")
        parser.add_argument("--auto-merge-above", type=float, default=None, metavar="P",
                            help="merge pairs at or above P at once (off unless given or set in settings)")
        parser.add_argument("--evaluate", action="store_true",
                            help="print precision and recall on pairs against the demo generator's ground truth")
        parser.add_argument("--user", default=None,
                            help="the user auto-merges are made as (default: the first active superuser)")

    def handle(self, *args, **opts):
        auto = opts["auto_merge_above"]
        if auto is None:
            auto = services.default_auto_merge_above()
        actor = None
        if auto is not None:
            actor = self._actor(opts["user"])
        try:
            run = services.run_dedup(actor=actor, threshold=opts["threshold"], auto_merge_above=auto,
                                     evaluate=opts["evaluate"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        c, s = run.counts, run.seconds
        self.stdout.write(f"dedup run {run.pk}: {c.get('records', 0):,} customers, {c.get('pairs', 0):,} pairs ≥ "
                          f"{run.params['threshold']}, {c.get('stored', 0):,} stored for review, "
                          f"{c.get('skipped_decided', 0):,} already decided")
        if "auto_merged" in c:
            self.stdout.write(f"auto-merged {c['auto_merged']:,} pairs ≥ {auto}")
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in s.items() if k != "total")
        self.stdout.write(f"seconds: {s.get('total', 0):.2f} ({stages}); peak memory {run.peak_memory_mb:,.0f} MB")
        if run.metrics:
            m = run.metrics
            self.stdout.write(f"evaluation: precision {m['precision']}, recall {m['recall']} "
                              f"({m['true_positives']:,} of {m['predicted_pairs']:,} predicted pairs are true; "
                              f"{m['true_pairs']:,} true pairs)")

    def _actor(self, username):
        users = get_user_model().objects.filter(is_active=True)
        user = users.filter(username=username).first() if username else users.filter(is_superuser=True).order_by(
            "id").first()
        if user is None:
            raise CommandError("Auto-merge needs a user: pass --user NAME (an admin or manager).")
        return user
