"""`clientwise backup DEST`: the database and the kept files in one checked folder (core/backup.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from clientwise.core import backup
from clientwise.core.errors import DomainError


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup or pg_dump) and the kept files into a new folder under DEST."

    def add_arguments(self, parser):
        parser.add_argument("dest", help="folder to write the backup folder into")

    def handle(self, *args, dest: str, **options):
        try:
            result = backup.backup(dest)
        except (DomainError, OSError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from exc
        rows = sum(result.tables.values())
        self.stdout.write(f"Backed up {rows:,} rows in {len(result.tables)} tables and {result.files} files "
                          f"({result.engine}) to {result.path}")
