"""The `clientwise` command: our own commands plus everything manage.py offers.

`clientwise serve` sets up the database and starts the web app; with `--demo N` it first fills an empty database
with a generated demo business. Every other command (demo, createadmin, migrate, ...) is a Django management
command, so `clientwise X` is the same as `manage.py X`; `clientwise worker` runs background tasks.
"""

from __future__ import annotations

import argparse
import os
import sys


def serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="clientwise serve", description="Migrate, optionally load demo data, serve.")
    parser.add_argument("--addr", default="127.0.0.1:8000", help="address:port to listen on")
    parser.add_argument("--demo", type=int, default=0, metavar="N",
                        help="when the database has no customers yet, generate a demo business with N customers")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    from clientwise.customers.models import Customer

    if args.demo and not Customer.objects.exists():
        print(f"Generating a demo business with {args.demo:,} customers (seed {args.seed})…", flush=True)
        call_command("demo", customers=args.demo, seed=args.seed)
    host, _, port = args.addr.rpartition(":")
    print(f"\nClientwise is running at http://{host or '127.0.0.1'}:{port}/  (Ctrl+C stops it)", flush=True)
    if args.demo:
        print("Sign in as admin / clientwise-demo (other demo users are listed above).", flush=True)
    call_command("runserver", args.addr, use_reloader=False, use_threading=True)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientwise.settings")
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "clientwise"
    if len(argv) > 1 and argv[1] == "serve":
        serve(argv[2:])
        return
    if len(argv) > 1 and argv[1] == "worker":
        argv[1] = "db_worker"  # the django-tasks database worker: runs queued imports, scoring, journeys
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
