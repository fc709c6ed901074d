"""`clientwise restore SRC`: load a backup folder and check every table's row count (core/backup.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from clientwise.core import backup
from clientwise.core.errors import DomainError


class Command(BaseCommand):
    help = "Restore a folder written by `clientwise backup` into the configured database and var folder."

    def add_arguments(self, parser):
        parser.add_argument("src", help="the backup folder (clientwise-YYYYmmdd-HHMMSS)")
        parser.add_argument("--force", action="store_true", help="replace a database that already holds customers")

    def handle(self, *args, src: str, force: bool, **options):
        try:
            result = backup.restore(src, force=force)
        except (DomainError, OSError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from exc
        if result.mismatches:
            listed = ", ".join(f"{t}: expected {e:,}, found {f:,}" for t, (e, f) in sorted(result.mismatches.items()))
            raise CommandError(f"Restored, but row counts differ from the backup: {listed}")
        rows = sum(result.tables.values())
        self.stdout.write(f"Restored {rows:,} rows in {len(result.tables)} tables and {result.files} files from "
                          f"{result.path}; every table has the row count of the backup.")
