"""`clientwise sla_check`: mark SLA warnings and breaches of open tickets and escalate breaches (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from clientwise.service.services import run_sla_check
from clientwise.service.tasks import interval, schedule_sla_check


class Command(BaseCommand):
    help = "Check open tickets against their SLA targets: warn, mark breaches, escalate. Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument("--schedule", action="store_true",
                            help="also queue the periodic check for `clientwise worker` (every "
                                 "SERVICE_SLA_CHECK_MINUTES, default 5)")

    def handle(self, *args, **opts):
        result = run_sla_check()
        self.stdout.write(f"SLA check: {result.warnings} warnings, {result.breaches} breaches, "
                          f"{result.escalations} escalations.")
        if opts["schedule"]:
            queued = schedule_sla_check()
            minutes = int(interval().total_seconds() // 60)
            self.stdout.write(f"Periodic check queued (every {minutes} min)." if queued else
                              "A periodic check is already queued.")
