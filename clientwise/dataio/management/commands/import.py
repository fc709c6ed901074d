"""`clientwise import KIND FILE [--source S] [--mapping NAME] [--dry-run] [--resume JOB_ID]`."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from clientwise.accounts.models import User
from clientwise.core.errors import DomainError, ValidationFailed
from clientwise.dataio import services
from clientwise.dataio.models import ImportJob
from clientwise.dataio.registry import kinds


class Command(BaseCommand):
    help = ("Import customers, products, stores, orders, interactions or reference data (categories, brands, "
            "regions, branches, channels, units) from CSV (UTF-8/GBK/GB18030), XLSX or JSONL. Invalid rows go to "
            "the job's quarantine; the summary names the error file.")

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", choices=[k.name for k in kinds()])
        parser.add_argument("file", nargs="?", type=Path)
        parser.add_argument("--source", default="import", help="where the rows come from (upsert key with external id)")
        parser.add_argument("--mapping", default="", help="a saved mapping template of this source and kind")
        parser.add_argument("--key", default="", help="match rows on this field (external_id, member_number, mobile, ...)")
        parser.add_argument("--dry-run", action="store_true", help="validate everything, store nothing")
        parser.add_argument("--resume", type=int, metavar="JOB_ID", help="continue a job after its last committed row")
        parser.add_argument("--user", default="", help="act as this user (default: the first active administrator)")
        parser.add_argument("--batch-size", type=int, default=0)
        parser.add_argument("--create-missing", action="store_true",
                            help="products, stores, branches: create the categories, units, branches and regions "
                                 "the file names that do not exist yet (listed in the summary)")
        parser.add_argument("--line-policy", choices=["keep_valid", "whole_order"], default="",
                            help="orders: keep an order's valid lines (default; the order is partial until its "
                                 "quarantined lines are replayed) or take each order whole or not at all")
        parser.add_argument("--void-lines", choices=["skip", "keep", "quarantine"], default="",
                            help="orders: lines with quantity 0 are skipped and counted (default), kept as zero "
                                 "lines, or quarantined")
        parser.add_argument("--price-basis", choices=["unit_price", "amount"], default="",
                            help="orders: the line amount is quantity × unit price − discounts (default), or the "
                                 "file's amount is what was paid and the unit price is derived")
        parser.add_argument("--currency", default="", help="orders: currency of rows without one (default: "
                                                           "settings.CURRENCY)")
        parser.add_argument("--errors", type=Path, help="where to write the error rows CSV (default: next to FILE)")

    def handle(self, *args, **opts):
        actor = self._actor(opts["user"])
        try:
            if opts["resume"]:
                job = ImportJob.objects.filter(pk=opts["resume"]).first()
                if job is None:
                    raise CommandError(f"No import job {opts['resume']}.")
                if job.status == ImportJob.Status.DONE:
                    raise CommandError(f"Job {job.pk} is done; nothing to resume.")
                self.stdout.write(f"Resuming job {job.pk} after row {job.last_row:,}")
            else:
                if not opts["kind"] or not opts["file"]:
                    raise CommandError("Give KIND and FILE (or --resume JOB_ID).")
                path: Path = opts["file"]
                if not path.is_file():
                    raise CommandError(f"No such file: {path}")
                options = {}
                if opts["key"]:
                    options["key"] = opts["key"]
                if opts["batch_size"]:
                    options["batch_size"] = opts["batch_size"]
                if opts["create_missing"]:
                    options["create_missing"] = True
                for name in ("line_policy", "void_lines", "price_basis", "currency"):
                    if opts[name]:
                        options[name] = opts[name]
                with open(path, "rb") as fh:
                    job = services.create_job(actor=actor, kind=opts["kind"], upload=fh, source=opts["source"],
                                              template=opts["mapping"], options=options)
                self.stdout.write(f"Job {job.pk}: {job.kind} from {job.original_name} ({job.format}"
                                  f"{', ' + job.encoding if job.encoding else ''}), source {job.source}")
                self.stdout.write("Mapping: " + ", ".join(f"{h} → {t}" for t, h in job.mapping.items()))
                errors = services.mapping_errors(job)
                if errors:
                    raise ValidationFailed(errors)
            if opts["dry_run"]:
                return self._dry_run(actor, job)
            return self._run(actor, job, opts["errors"])
        except DomainError as exc:
            details = exc.errors if isinstance(exc, ValidationFailed) else [exc]
            raise CommandError("\n".join(f"{e.code}: {e.message}" + (f" ({e.field})" if e.field else "")
                                         for e in details)) from None

    def _actor(self, username: str):
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {username}.")
            return user
        user = User.objects.filter(is_active=True, is_superuser=True).order_by("id").first() or \
            User.objects.filter(is_active=True, role="admin").order_by("id").first()
        if user is None:
            raise CommandError("No administrator to act as: create one (clientwise createadmin) or pass --user.")
        return user

    def _dry_run(self, actor, job):
        result = services.dry_run(actor=actor, job_id=job.pk)
        self.stdout.write(f"Dry run (nothing stored): {result.total:,} rows — would create {result.created:,}, "
                          f"update {result.updated:,}, leave {result.unchanged:,} unchanged, reject {result.rejected:,}")
        for row in [r for r in result.rows if r.errors][:20]:
            e = row.errors[0]
            self.stdout.write(f"  row {row.number}: {e.field or '-'} {e.code}: {e.message}")

    def _run(self, actor, job, errors_path: Path | None):
        started = time.perf_counter()
        done = threading.Event()
        bar = tqdm(total=job.total_rows or None, initial=job.processed, unit="rows", unit_scale=True)

        def watch():
            try:
                while not done.wait(0.5):
                    fresh = ImportJob.objects.filter(pk=job.pk).values_list(
                        "created", "updated", "unchanged", "rejected").first()
                    if fresh:
                        bar.n = sum(fresh)
                        bar.refresh()
            finally:
                connection.close()

        watcher = threading.Thread(target=watch, daemon=True) if connection.vendor != "sqlite" or \
            connection.settings_dict["NAME"] not in (":memory:", "") else None
        if watcher:
            watcher.start()
        try:
            if job.status in (ImportJob.Status.FAILED, ImportJob.Status.RUNNING, ImportJob.Status.QUEUED):
                ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED)
            job = services.run_import(job_id=job.pk)
        except DomainError:
            raise
        except Exception as exc:
            raise CommandError(f"Job {job.pk} stopped: {exc}. Committed batches are kept; "
                               f"resume with: clientwise import --resume {job.pk}") from exc
        finally:
            done.set()
            if watcher:
                watcher.join()
            job.refresh_from_db()
            bar.n = job.processed
            bar.close()
        seconds = time.perf_counter() - started
        self.stdout.write(f"Job {job.pk} {job.status}: created {job.created:,}, updated {job.updated:,}, "
                          f"unchanged {job.unchanged:,}, rejected {job.rejected:,} "
                          f"in {seconds:.1f} s ({job.processed / seconds if seconds else 0:,.0f} rows/s)")
        for kind, refs in (job.result or {}).get("created_references", {}).items():
            self.stdout.write(f"Created {kind}: " + ", ".join(r["code"] for r in refs[:50])
                              + (f" and {len(refs) - 50:,} more" if len(refs) > 50 else ""))
        if job.rejected:
            path = errors_path or Path(job.file).with_name(f"errors-job{job.pk}.csv")
            with open(path, "w", encoding="utf-8", newline="") as fh:
                for chunk in services.error_rows_csv(actor=actor, job_id=job.pk):
                    fh.write(chunk)
            self.stdout.write(f"Error rows: {path} (fix them and replay on the job's page or with the API)")
