"""`clientwise scheduler`: keep every periodic chain of background tasks queued (core/scheduler.py)."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from clientwise.core import scheduler


class Command(BaseCommand):
    help = "Keep the periodic background jobs (nightly scoring, SLA check, report e-mails, heartbeat) queued."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between rounds (default 60)")
        parser.add_argument("--once", action="store_true", help="one round, then exit")

    def handle(self, *args, interval: float, once: bool, **options):
        jobs = ", ".join(j.key for j in scheduler.enabled_jobs()) or "none"
        self.stdout.write(f"Scheduler: keeping these periodic jobs queued every {interval:g} s: {jobs}")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        scheduler.loop(interval=interval, stop=stop, rounds=1 if once else None)
