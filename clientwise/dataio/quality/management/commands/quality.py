"""`clientwise quality`: recompute every customer's data-quality scores and print the counts by problem."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from clientwise.core.errors import DomainError
from clientwise.dataio.quality.queries import PROBLEMS
from clientwise.dataio.quality.services import run_quality


class Command(BaseCommand):
    help = "Score every customer's completeness and validity and flag stale or broken records."

    def add_arguments(self, parser):
        parser.add_argument("--stale-months", type=int, default=None,
                            help="no update, interaction or order for this many months flags a record as stale "
                                 "(default: settings.QUALITY_STALE_MONTHS or 12)")

    def handle(self, *args, stale_months=None, **options):
        try:
            run = run_quality(actor=None, stale_months=stale_months)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Scored {run.customers:,} customers in {run.seconds:.1f} s "
                          f"(run {run.pk}, stale after {run.stale_months} months).")
        if run.customers:
            self.stdout.write(f"Average completeness {run.avg_completeness:.1f}, validity {run.avg_validity:.1f}.")
        for problem in PROBLEMS:
            if problem.key in run.counts:
                self.stdout.write(f"  {problem.key:<16} {run.counts[problem.key]:>10,}")
