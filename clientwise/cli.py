"""The `clientwise` command: our own commands plus everything manage.py offers.

`clientwise serve` sets up the database and starts everything the product needs — web, task worker and scheduler
(clientwise/processes.py; `--production` for gunicorn); with `--demo N` it first fills an empty database with a
generated demo business. Every other command (demo, createadmin, migrate, ...) is a Django management
command, so `clientwise X` is the same as `manage.py X`; `clientwise worker` runs background tasks.
"""

from __future__ import annotations

import argparse
import os
import sys

import django
from django.core.management import call_command, execute_from_command_line
from django.db import connections

from clientwise import processes


def serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="clientwise serve",
        description="Migrate, optionally load demo data, then run web, task worker and scheduler together.")
    parser.add_argument("--addr", default="127.0.0.1:8000", help="address:port to listen on")
    parser.add_argument("--demo", type=int, default=0, metavar="N",
                        help="when the database has no customers yet, generate a demo business with N customers")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--production", action="store_true",
                        help="gunicorn instead of the development server; static files collected (again only "
                             "when they changed) and served with cache-busting names (docs/deploy.md)")
    parser.add_argument("--web-processes", type=int, default=int(os.environ.get("WEB_PROCESSES", "2")),
                        help="gunicorn processes (production; default 2 or $WEB_PROCESSES)")
    parser.add_argument("--web-threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")),
                        help="threads per gunicorn process (production; default 4 or $WEB_THREADS)")
    parser.add_argument("--task-workers", type=int, default=int(os.environ.get("TASK_WORKERS", "1")),
                        help="task worker processes (default 1 or $TASK_WORKERS; 0 runs none)")
    parser.add_argument("--print-procfile", action="store_true", help="print the processes as a Procfile and exit")
    args = parser.parse_args(argv)

    specs = processes.process_set(addr=args.addr, production=args.production, web_processes=args.web_processes,
                                  web_threads=args.web_threads, task_workers=args.task_workers)
    if args.print_procfile:
        sys.stdout.write(processes.procfile(specs))
        return
    env = {"CLIENTWISE_PRODUCTION": "1"} if args.production else {}
    os.environ.update(env)

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    if args.production:
        print("Collecting static files (unchanged sources are not collected again)…", flush=True)
        if not processes.collect_static():
            print("Static files are up to date.", flush=True)
    # Models load only once django.setup() above has filled the app registry.
    from clientwise.customers.models import Customer

    if args.demo and not Customer.objects.exists():
        print(f"Generating a demo business with {args.demo:,} customers (seed {args.seed})…", flush=True)
        call_command("demo", customers=args.demo, seed=args.seed)

    connections.close_all()  # the children open their own
    host, _, port = args.addr.rpartition(":")
    names = ", ".join(s.name for s in specs)
    print(f"\nClientwise is running at http://{host or '127.0.0.1'}:{port}/  ({names}; Ctrl+C stops them all)",
          flush=True)
    if args.demo:
        print("Sign in as admin / clientwise-demo (other demo users are listed above).", flush=True)
    sys.exit(processes.run(specs, env=env))


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientwise.settings")
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "clientwise"
    if len(argv) > 1 and argv[1] == "serve":
        serve(argv[2:])
        return
    if len(argv) > 1 and argv[1] == "worker":
        argv[1] = "db_worker"  # the django-tasks database worker: runs queued imports, scoring, journeys

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
