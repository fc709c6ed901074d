"""`clientwise createadmin`: create an administrator, or reset an existing one's password (safe to re-run)."""

from __future__ import annotations

import getpass

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clientwise.accounts.services import ensure_admin
from clientwise.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an administrator, or set a new password for an existing one (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--username", help="the administrator's username (asked for when missing)")
        parser.add_argument("--password", help="the password (asked for when missing; avoid in shell history)")
        parser.add_argument("--email", default="", help="an email address (optional)")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="never prompt; fail when --username or --password is missing")
        parser.add_argument("--allow-weak-password", action="store_true", dest="weak_ok",
                            help="accept a password that fails the password rules (e.g. for a demo)")

    def handle(self, *args, username=None, password=None, email="", interactive=True, weak_ok=False, **options):
        if not username:
            if not interactive:
                raise CommandError("--username is required with --noinput.")
            username = input("Username: ").strip()
        if not password:
            if not interactive:
                raise CommandError("--password is required with --noinput.")
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        if not weak_ok:
            try:
                password_validation.validate_password(password)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        try:
            user, created = ensure_admin(username=username, password=password, email=email or "")
        except DomainError as exc:
            raise CommandError(exc.message) from None
        verb = "Created administrator" if created else "Updated administrator"
        self.stdout.write(self.style.SUCCESS(f"{verb} “{user.username}”."))
