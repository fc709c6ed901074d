"""Import operations: the only code that writes import jobs, quarantine rows and mapping templates, and (through
the kind handlers in handlers.py) the customers, products, stores, orders and interactions a file brings in.

The flow: `create_job` stores the upload under var/imports/ and suggests a mapping → `set_mapping` →
`preview` (a dry run of the first rows, rolled back) → `enqueue_import` (a django-tasks task runs
`run_import`) → `error_rows_csv` → `replay_errors` with the fixed file. The CLI, the API, the pages and the
entry grid (`import_grid_rows`) all go through these functions.

Batches: rows are read one at a time and handled in batches of BATCH_SIZE (orders never split). Each batch
is one transaction: the rows it stores, its quarantine rows, the job's counters and `last_row` commit together,
so a crash leaves no half batch and `resume_import` continues after `last_row`.

Audit: one audit row per committed batch (action import.batch: counts and the ids created and updated) plus one
for the upload and one per replay, rather than one per record; each created customer and each order still gets
its own timeline row.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.accounts.models import Team, User
from clientwise.commerce import rules
from clientwise.core import permissions as perms
from clientwise.core import spreadsheet
from clientwise.core.audit import audit
from clientwise.core.bulk import PlannerStatistics
from clientwise.core.errors import DomainError, ErrorCode, ValidationFailed
from clientwise.core.masking import mask_email, mask_id_number, mask_phone
from clientwise.core.uploads import save_upload
from clientwise.dataio import readers
from clientwise.dataio.errors import DataioErrorCode
from clientwise.dataio.handlers import HANDLERS, Row, error_dicts, make_rows, row_maker
from clientwise.dataio.identity import services as identity_services
from clientwise.dataio.mapping import NATURAL_KEYS, TARGETS, missing_required, pii_columns, suggest_mapping
from clientwise.dataio.models import ImportJob, MappingTemplate, QuarantinedRow
from clientwise.dataio.queries import get_job_for
from clientwise.dataio.registry import kind_choices
from clientwise.dataio.tasks import run_import_task

BATCH_SIZE = 5000  # rows per batch (one transaction) unless the handler has its own (orders: 50,000)
AUDIT_IDS = 50_000  # ids listed per import.batch audit row: every id of a default-size batch
PREVIEW_ROWS = 200
MAX_UPLOAD_BYTES = 2 * 1024 ** 3
SOURCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,39}$")
ERROR_COLUMNS = ("_row", "_error_field", "_error_code", "_error_message")
MASKERS = {"mobile": mask_phone, "email": mask_email, "id_number": mask_id_number}


# Kinds whose rows may create the reference rows they name when the option create_missing is on.
CREATE_MISSING_KINDS = ("products", "stores", "branches")


def import_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _store_upload(upload, *, prefix: str = "") -> tuple[Path, str]:
    """Copy an uploaded file (Django UploadedFile or any object with read()) to var/imports/ in chunks."""
    return save_upload(upload, import_dir() / f"{timezone.now():%Y%m}", prefix=prefix, max_bytes=MAX_UPLOAD_BYTES,
                       too_large=DomainError(ErrorCode.INVALID, _("The file is larger than 2 GB; split it."), "file"))


def _inspect(path: Path, name: str) -> tuple[str, str, list[str]]:
    fmt = readers.detect_format(name)
    encoding = "" if fmt == "xlsx" else readers.detect_encoding(path)
    headers, rows = readers.open_rows(path, fmt, encoding)
    rows.close()
    return fmt, encoding, headers


def _check_source(source: str) -> str:
    source = (source or "").strip()
    if not SOURCE_RE.match(source):
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _(
            "Source: up to 40 letters, digits and - _ . (for example pos-shanghai)."), "source")])
    return source


def _handler_class(kind: str):
    if kind not in HANDLERS:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Unknown kind “%(kind)s”: one of %(kinds)s.") % {
            "kind": kind, "kinds": ", ".join(HANDLERS)}, "kind")])
    return HANDLERS[kind]


def create_job(*, actor, kind: str, upload, source: str, mapping: dict[str, str] | None = None,
               options: dict[str, Any] | None = None, template: str = "") -> ImportJob:
    """Store the file, read its header, and create a job with a mapping: the given one, the named template's,
    or one suggested from the headers. Errors in the file itself (encoding, format, empty) are 400s."""
    cls = _handler_class(kind)
    cls.check_permission(actor)
    source = _check_source(source)
    saved = None
    if template:
        saved = MappingTemplate.objects.filter(source=source, kind=kind, name=template).first()
        if saved is None:
            raise ValidationFailed([DomainError(ErrorCode.UNKNOWN_REFERENCE, _(
                "No mapping template “%(name)s” for %(source)s / %(kind)s.") % {
                "name": template, "source": source, "kind": kind}, "mapping")])
    path, name = _store_upload(upload)
    try:
        fmt, encoding, headers = _inspect(path, name)
    except DomainError:
        path.unlink(missing_ok=True)
        raise
    if saved is not None:
        mapping = {t: h for t, h in saved.mapping.items() if h in headers}
        options = {**saved.options, **(options or {})}
    elif not mapping:
        mapping = suggest_mapping(kind, headers)
    probe = ImportJob(kind=kind, headers=headers)
    _apply_mapping(probe, mapping, options or {})
    # A mapping or options the caller gave that do not fit the file are refused; a missing required field is
    # left for the mapping step (the suggestion may simply not have found it).
    wrong = [e for e in probe.mapping_errors if e.code != ErrorCode.REQUIRED]
    if wrong:
        path.unlink(missing_ok=True)
        raise ValidationFailed(wrong)
    with transaction.atomic():
        job = ImportJob.objects.create(kind=kind, source=source, file=str(path), original_name=name[:255],
                                       format=fmt, encoding=encoding, headers=headers, mapping={},
                                       options={}, actor=actor, total_rows=readers.count_rows(path, fmt))
        _apply_mapping(job, mapping, options or {})
        job.save(update_fields=["mapping", "options"])
        audit(actor=actor, action="import.upload", obj=job, detail={
            "kind": kind, "source": source, "file": name, "format": fmt, "encoding": encoding,
            "rows": job.total_rows})
    return job


def _apply_mapping(job: ImportJob, mapping: dict[str, str], options: dict[str, Any]) -> None:
    """Validate a mapping against the job's kind and headers (every problem at once) and set it."""
    names = {t.name for t in TARGETS[job.kind]}
    errors = []
    clean = {}
    for target, header in (mapping or {}).items():
        if not header:
            continue
        if target not in names:
            errors.append(DomainError(DataioErrorCode.BAD_MAPPING, _("Unknown field “%(field)s”.") % {
                "field": target}, f"mapping.{target}"))
        elif header not in job.headers:
            errors.append(DomainError(DataioErrorCode.BAD_MAPPING, _("The file has no column “%(column)s”.") % {
                "column": header}, f"mapping.{target}"))
        else:
            clean[target] = header
    opts = {}
    key = (options or {}).get("key") or ""
    if key:
        if key not in NATURAL_KEYS[job.kind]:
            errors.append(DomainError(ErrorCode.INVALID, _("Match rows on one of: %(keys)s.") % {
                "keys": ", ".join(NATURAL_KEYS[job.kind])}, "options.key"))
        elif not clean.get(key):
            errors.append(DomainError(ErrorCode.REQUIRED, _("Map a column to %(field)s to match rows on it.") % {
                "field": key}, f"mapping.{key}"))
        else:
            opts["key"] = key
    for ref in ("owner_id", "team_id"):
        value = (options or {}).get(ref)
        if value in (None, ""):
            continue
        model = User if ref == "owner_id" else Team
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = None
        if value is None or not model.objects.filter(pk=value).exists():
            errors.append(DomainError(ErrorCode.UNKNOWN_REFERENCE, _("No such record."), f"options.{ref}"))
        else:
            opts[ref] = value
    if (options or {}).get("create_missing") and job.kind in CREATE_MISSING_KINDS:
        # Products and stores may create the categories, units, branches and regions they name (commerce).
        opts["create_missing"] = str(options["create_missing"]).strip().lower() not in ("0", "false", "no", "off")
    if (options or {}).get("batch_size"):
        try:
            opts["batch_size"] = max(1, min(50_000, int(options["batch_size"])))
        except (TypeError, ValueError):
            errors.append(DomainError(ErrorCode.INVALID, _("Batch size must be a number."), "options.batch_size"))
    if job.kind == "orders":
        _order_options(options or {}, opts, errors)
    for target in missing_required(job.kind, clean):
        errors.append(DomainError(ErrorCode.REQUIRED, _("Choose the column for “%(field)s”.") % {"field": target},
                                  f"mapping.{target}"))
    if job.kind == "customers" and not any(clean.get(k) for k in NATURAL_KEYS["customers"]):
        errors.append(DomainError(ErrorCode.REQUIRED, _(
            "Map an external id, member number or mobile column: re-imports match customers on it."),
            "mapping.external_id"))
    job.mapping, job.options = clean, opts
    job.mapping_errors = errors


# Options of an orders import (docs/import.md, "Order lines"): their allowed values.
ORDER_OPTIONS = {"line_policy": rules.LINE_POLICIES, "void_lines": rules.VOID_POLICIES,
                 "price_basis": rules.PRICE_BASES}


def _order_options(options: dict[str, Any], opts: dict[str, Any], errors: list[DomainError]) -> None:
    """The line policy, void policy, price basis and default currency of an orders import, checked into opts."""
    for name, allowed in ORDER_OPTIONS.items():
        value = str(options.get(name) or "").strip()
        if not value:
            continue
        if value not in allowed:
            errors.append(DomainError(ErrorCode.INVALID, _("%(option)s: one of %(values)s.") % {
                "option": name, "values": ", ".join(allowed)}, f"options.{name}"))
        else:
            opts[name] = value
    if str(options.get("currency") or "").strip():
        try:
            opts["currency"] = rules.clean_currency(str(options["currency"]), field="options.currency")
        except DomainError as exc:
            errors.append(exc)


def set_mapping(*, actor, job_id: int, mapping: dict[str, str], options: dict[str, Any] | None = None,
                save_as: str = "") -> ImportJob:
    """Change the mapping of a job that has not run yet; optionally save it as a template for the source."""
    job = get_job_for(actor, job_id)
    HANDLERS[job.kind].check_permission(actor)
    if job.status != ImportJob.Status.UPLOADED or job.processed:
        raise DomainError(DataioErrorCode.JOB_BUSY, _("This import has already run; start a new one."))
    _apply_mapping(job, mapping, options or {})
    if job.mapping_errors:
        raise ValidationFailed(job.mapping_errors)
    with transaction.atomic():
        job.save(update_fields=["mapping", "options"])
        if save_as.strip():
            MappingTemplate.objects.update_or_create(
                source=job.source, kind=job.kind, name=save_as.strip()[:80],
                defaults={"mapping": job.mapping, "options": {k: v for k, v in job.options.items()
                                                              if k == "key" or k in ORDER_OPTIONS or k == "currency"},
                          "created_by": actor})
        audit(actor=actor, action="import.mapping", obj=job, after={"mapping": job.mapping, "options": job.options})
    return job


def mapping_errors(job: ImportJob) -> list[DomainError]:
    probe = ImportJob(kind=job.kind, headers=job.headers)
    _apply_mapping(probe, job.mapping, job.options)
    return probe.mapping_errors


# --- running ------------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    rows: list[Row] = field(default_factory=list)  # the processed rows (dry runs and previews keep them)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected + self.skipped

    def add(self, rows: Iterable[Row]) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0, "skipped": 0}
        for row in rows:
            counts[row.outcome or "rejected"] += 1
        for key, n in counts.items():
            setattr(self, key, getattr(self, key) + n)
        return counts


class SimulatedCrash(RuntimeError):
    """Raised by the test hook `crash_after_batches` inside a batch's transaction."""


def _batches(job: ImportJob, rows: Iterator[tuple[int, dict]], handler, *, start_after: int, size: int,
             limit: int | None = None) -> Iterator[list[Row]]:
    batch: list[Row] = []
    seen = 0
    make = row_maker(job.mapping)
    for number, raw in rows:
        if number <= start_after:
            continue
        if limit is not None and seen >= limit:
            break
        seen += 1
        row = make(number, raw)
        if len(batch) >= size and handler.can_split(batch[-1], row):
            yield batch
            batch = []
        batch.append(row)
    if batch:
        yield batch


def _raw_batches(rows: Iterator[tuple[int, Any]], handler, *, start_after: int, size: int,
                 headers: list[str] | None) -> Iterator[list[tuple[int, Any]]]:
    """_batches for handlers that take rows as read (`process_raw`): lists of (row number, row as read: a dict,
    or CSV cells in the order of `headers`), split where can_split would split them."""
    batch: list[tuple[int, dict]] = []
    split_value = handler.split_value
    for item in rows:
        if item[0] <= start_after:
            continue
        if len(batch) >= size and split_value(batch[-1][1], headers) != split_value(item[1], headers):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


class ColumnBatch:
    """A batch of CSV rows as columns (readers.CellChunk's, joined): `numbers`, `values[header]` (stripped texts
    of the columns asked for), `cells(i)` (row i as read, for its quarantine row)."""

    __slots__ = ("numbers", "values", "parts")

    def __init__(self, numbers: list[int], values: dict[str, list[str]], parts: list[tuple[int, Any]]):
        self.numbers, self.values, self.parts = numbers, values, parts  # parts: (first index, chunk)

    def cells(self, i: int) -> list[str]:
        for start, chunk in reversed(self.parts):
            if i >= start:
                return chunk.cells(i - start)
        raise IndexError(i)


def _column_batches(chunks, split_header: str, *, start_after: int, size: int) -> Iterator[ColumnBatch]:
    """_raw_batches for column chunks: the rows numbered after start_after, in batches of at least `size` rows,
    a batch ending only where the split column's value changes (orders: the order number) — the same batches
    _raw_batches makes of the same rows."""
    numbers: list[int] = []
    values: dict[str, list[str]] = {}
    parts: list[tuple[int, Any]] = []  # (batch index of the chunk's first row, chunk)
    cut = size  # the next index where a batch may end (every index before it was looked at)
    for chunk in chunks:
        offset = 0
        if chunk.numbers and chunk.numbers[0] <= start_after:
            offset = next((i for i, x in enumerate(chunk.numbers) if x > start_after), len(chunk.numbers))
            if offset == len(chunk.numbers):
                continue
        parts.append((len(numbers) - offset, chunk))
        numbers.extend(chunk.numbers[offset:] if offset else chunk.numbers)
        for h, column in chunk.values.items():
            values.setdefault(h, []).extend(column[offset:] if offset else column)
        split = values[split_header]
        while cut < len(numbers):
            if split[cut] == split[cut - 1]:
                cut += 1
                continue
            yield ColumnBatch(numbers[:cut], {h: col[:cut] for h, col in values.items()}, parts)
            numbers = numbers[cut:]
            values = {h: col[cut:] for h, col in values.items()}
            parts = [(start - cut, c) for start, c in parts if start - cut + len(c) > 0]
            split = values[split_header]
            cut = size
    if numbers:
        yield ColumnBatch(numbers, values, parts)


def settle_raw(items: list[tuple[int, dict]], outcomes: list[str], errors: list) -> dict[str, int]:
    """settle() for process_raw's answer: a row with errors is rejected, a row without errors must be created,
    updated or unchanged (else UnsettledRow and the batch rolls back). Returns the counts."""
    return settle_numbers([number for number, _raw in items], outcomes, errors)


def settle_numbers(numbers: list[int], outcomes: list[str], errors: list) -> dict[str, int]:
    """settle_raw for rows known by their numbers."""
    if len(outcomes) != len(numbers) or len(errors) != len(numbers):
        raise UnsettledRow(f"{len(numbers)} rows, {len(outcomes)} outcomes")
    counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0, "skipped": 0}
    for number, outcome, errs in zip(numbers, outcomes, errors, strict=True):
        if errs:
            counts["rejected"] += 1
        elif outcome in STORED_OR_SKIPPED:
            counts[outcome] += 1
        else:
            raise UnsettledRow(f"row {number} has no outcome")
    return counts


# The outcomes of a row without errors ("skipped": a void order line the job's void policy skips).
STORED_OR_SKIPPED = ("created", "updated", "unchanged", "skipped")


class UnsettledRow(RuntimeError):
    """A handler left a row neither stored nor rejected: a bug, and the batch must not commit."""


def settle(rows: list[Row]) -> None:
    """Every row ends stored or rejected: rows with errors are rejected, and a row with no outcome stops the
    batch (its transaction rolls back) instead of being silently dropped."""
    for row in rows:
        if row.errors:
            row.outcome = "rejected"
        elif row.outcome not in STORED_OR_SKIPPED:
            raise UnsettledRow(f"row {row.number} has no outcome")


def _quarantine_objects(job: ImportJob, rows: list[Row]) -> list[QuarantinedRow]:
    out = []
    for row in rows:
        if row.outcome != "rejected":
            continue
        first = row.errors[0]
        out.append(QuarantinedRow(job=job, row_number=row.number, raw=readers_raw(row.raw),
                                  field=(first.field or "")[:60], code=first.code[:40], message=first.message[:500],
                                  errors=error_dicts(row)))
    return out


def _quarantine_raw(job: ImportJob, items: list[tuple[int, Any]], errors: list,
                    headers: list[str] | None) -> list[QuarantinedRow]:
    out = []
    for (number, raw), errs in zip(items, errors, strict=True):
        if not errs:
            continue
        first = errs[0]
        if headers is not None:
            raw = readers.row_dict(headers, raw)
        out.append(QuarantinedRow(job=job, row_number=number, raw=readers_raw(raw), field=(first.field or "")[:60],
                                  code=first.code[:40], message=first.message[:500],
                                  errors=[{"field": e.field or "", "code": e.code, "message": e.message}
                                          for e in errs]))
    return out


def readers_raw(raw: dict) -> dict:
    """A row of a replayed error file as the import reads it: without the error columns, and with the apostrophe
    that the error file put before formula-like cells (core.spreadsheet) taken off again."""
    return {spreadsheet.restore(k): spreadsheet.restore(v) for k, v in raw.items() if k not in ERROR_COLUMNS}


@contextmanager
def _long_lived_objects_frozen():
    """Python's cycle collector walks every tracked object on each full collection; during an import that is the
    whole app with its phone and pinyin dictionaries and caches, again and again (about a fifth of an import's
    time). gc.freeze() sets the objects alive now aside for the run; they are still freed by reference counting,
    and unfreeze() hands them back to the collector afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _note_references(job: ImportJob, handler) -> dict[str, list[dict]]:
    """Add the reference rows the handler's last batch created (categories, brands, branches…, when the mapping's
    create_missing option allowed it) to the job's result, in the batch's transaction; returns them."""
    created = handler.summary.get("created_references") or {}
    if not any(created.values()):
        return {}
    listed = {kind: list(rows) for kind, rows in (job.result or {}).get("created_references", {}).items()}
    for kind, rows in created.items():
        listed.setdefault(kind, []).extend(rows)
    job.result = {**(job.result or {}), "created_references": listed}
    ImportJob.objects.filter(pk=job.pk).update(result=job.result)
    return created


def _record_batch(job: ImportJob, actor, handler, first_row: int, last_row: int, counts: dict[str, int]) -> None:
    """A committed batch's bookkeeping, in its transaction: the job's counters and resume point, the reference rows
    it created (job.result), and one audit row with the batch's row range, counts and (the first AUDIT_IDS)
    created and updated ids."""
    ImportJob.objects.filter(pk=job.pk).update(last_row=last_row, **{k: F(k) + n for k, n in counts.items() if n})
    references = _note_references(job, handler)
    audit(actor=actor, action="import.batch", obj=job, detail={
        "kind": job.kind, "rows": [first_row, last_row], **counts,
        "created_ids": handler.summary.get("created_ids", [])[:AUDIT_IDS],
        "updated_ids": handler.summary.get("updated_ids", [])[:AUDIT_IDS],
        **({"created_references": references} if references else {})})


def _execute(job: ImportJob, *, dry_run: bool = False, limit: int | None = None,
             crash_after_batches: int | None = None, keep_rows: bool = False) -> RunResult:
    actor = job.actor
    handler_cls = HANDLERS[job.kind]
    handler_cls.check_permission(actor)
    size = int(job.options.get("batch_size") or getattr(handler_cls, "batch_size", None) or BATCH_SIZE)
    handler = handler_cls(job=job, actor=actor)
    result = RunResult()
    done = 0
    planner = PlannerStatistics()  # the lookups of later batches are planned for the rows earlier ones wrote
    if (hasattr(handler, "process_values") and job.format == ImportJob.Format.CSV and not dry_run and not keep_rows
            and limit is None):
        return _execute_columns(job, handler, size=size, crash_after_batches=crash_after_batches)
    if hasattr(handler, "process_raw") and not dry_run and not keep_rows and limit is None:
        # Rows as read, without a Row object each (orders: checks run column by column); CSV rows stay lists of
        # cells, and only a quarantined row becomes the dict the other readers give.
        if job.format == ImportJob.Format.CSV:
            headers, rows = readers.read_csv_cells(Path(job.file), job.encoding or readers.detect_encoding(job.file))
        else:
            headers, rows = None, readers.open_rows(job.file, job.format, job.encoding)[1]
        try:
            with _long_lived_objects_frozen():
                for items in _raw_batches(rows, handler, start_after=job.last_row, size=size, headers=headers):
                    with transaction.atomic():
                        outcomes, errors = handler.process_raw([raw for _n, raw in items], headers)
                        counts = settle_raw(items, outcomes, errors)
                        if crash_after_batches is not None and done >= crash_after_batches:
                            raise SimulatedCrash(f"simulated crash in batch {done + 1}")
                        for key, n in counts.items():
                            setattr(result, key, getattr(result, key) + n)
                        QuarantinedRow.objects.bulk_create(_quarantine_raw(job, items, errors, headers),
                                                           batch_size=1000)
                        _record_batch(job, actor, handler, items[0][0], items[-1][0], counts)
                    planner.after_commit()
                    done += 1
        finally:
            rows.close()
        return result
    _headers, rows = readers.open_rows(job.file, job.format, job.encoding)
    try:
        with _long_lived_objects_frozen():
            for batch in _batches(job, rows, handler, start_after=0 if dry_run else job.last_row, size=size,
                                  limit=limit):
                with transaction.atomic():
                    handler.process(batch)
                    settle(batch)
                    if crash_after_batches is not None and done >= crash_after_batches:
                        raise SimulatedCrash(f"simulated crash in batch {done + 1}")
                    counts = result.add(batch)
                    if dry_run:
                        transaction.set_rollback(True)
                    else:
                        QuarantinedRow.objects.bulk_create(_quarantine_objects(job, batch), batch_size=1000)
                        _record_batch(job, actor, handler, batch[0].number, batch[-1].number, counts)
                if keep_rows:
                    result.rows.extend(batch)
                if not dry_run:
                    planner.after_commit()
                done += 1
    finally:
        rows.close()
    return result


def _execute_columns(job: ImportJob, handler, *, size: int, crash_after_batches: int | None) -> RunResult:
    """_execute for a CSV file and a handler that takes whole columns (orders): the file is read as columns
    (readers.read_csv_columns: Arrow's CSV reader where it reads exactly what csv.reader reads), in the same
    batches, with the same transactions, quarantine rows, counters and audit rows as the row path."""
    actor = job.actor
    result = RunResult()
    headers_wanted = [h for h in job.mapping.values() if h]
    headers, chunks, _info = readers.read_csv_columns(Path(job.file), job.encoding or readers.detect_encoding(job.file),
                                                      headers_wanted)
    fields = {name: header for name, header in job.mapping.items() if header}
    done = 0
    planner = PlannerStatistics()
    try:
        with _long_lived_objects_frozen():
            for batch in _column_batches(chunks, job.mapping["number"], start_after=job.last_row, size=size):
                numbers = batch.numbers
                with transaction.atomic():
                    outcomes, errors = handler.process_values(
                        len(numbers), {name: batch.values[header] for name, header in fields.items()})
                    counts = settle_numbers(numbers, outcomes, errors)
                    if crash_after_batches is not None and done >= crash_after_batches:
                        raise SimulatedCrash(f"simulated crash in batch {done + 1}")
                    for key, n in counts.items():
                        setattr(result, key, getattr(result, key) + n)
                    rejected = [i for i, errs in enumerate(errors) if errs]
                    QuarantinedRow.objects.bulk_create(_quarantine_raw(
                        job, [(numbers[i], batch.cells(i)) for i in rejected], [errors[i] for i in rejected], headers),
                        batch_size=1000)
                    _record_batch(job, actor, handler, numbers[0], numbers[-1], counts)
                planner.after_commit()
                done += 1
    finally:
        chunks.close()
    return result


def preview(*, actor, job_id: int, limit: int = PREVIEW_ROWS) -> RunResult:
    """Run the first `limit` rows through validation and the writes, then roll everything back: exactly what
    the import would do with them, nothing stored."""
    job = get_job_for(actor, job_id)
    errors = mapping_errors(job)
    if errors:
        raise ValidationFailed(errors)
    job.actor = actor
    return _execute(job, dry_run=True, limit=limit, keep_rows=True)


def dry_run(*, actor, job_id: int) -> RunResult:
    """The whole file validated, nothing stored (each batch is rolled back). Counts of a dry run treat a key
    seen in an earlier batch as new, since that batch was not kept."""
    job = get_job_for(actor, job_id)
    errors = mapping_errors(job)
    if errors:
        raise ValidationFailed(errors)
    job.actor = actor
    return _execute(job, dry_run=True, keep_rows=True)


def enqueue_import(*, actor, job_id: int) -> ImportJob:
    """Queue the job for the worker (or run it at once with the immediate task backend)."""
    job = get_job_for(actor, job_id)
    HANDLERS[job.kind].check_permission(actor)
    errors = mapping_errors(job)
    if errors:
        raise ValidationFailed(errors)
    updated = ImportJob.objects.filter(pk=job.pk, status__in=[ImportJob.Status.UPLOADED, ImportJob.Status.FAILED]) \
        .update(status=ImportJob.Status.QUEUED, error="")
    if not updated:
        raise DomainError(DataioErrorCode.JOB_BUSY, _("This import is already queued, running or done."))
    audit(actor=actor, action="import.queue", obj=job, detail={"resume_after_row": job.last_row})
    run_import_task.enqueue(job.pk)
    job.refresh_from_db()
    return job


def run_import(*, job_id: int, crash_after_batches: int | None = None) -> ImportJob:
    """Run (or resume) a job to the end as its own actor. Resumes after `last_row`. On any error the job is
    marked failed with the message, committed batches stay, and the error is raised again."""
    job = ImportJob.objects.select_related("actor").get(pk=job_id)
    errors = mapping_errors(job)
    if errors:
        raise ValidationFailed(errors)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, error="",
                                               started_at=job.started_at or timezone.now())
    try:
        _execute(job, crash_after_batches=crash_after_batches)
    except BaseException as exc:
        message = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, error=message[:2000])
        raise
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    if job.kind == "customers":
        # New customers may be existing ones under another key: queue a duplicate search (docs/dedup.md).
        identity_services.dedup_after_import(created=job.created)
    return job


def resume_import(*, actor, job_id: int) -> ImportJob:
    """Continue a failed or interrupted job after its last committed row (queued like a new run)."""
    job = get_job_for(actor, job_id)
    if job.status == ImportJob.Status.RUNNING:
        # A worker killed mid-run leaves 'running' behind; resuming it is the way out.
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, error="interrupted")
    elif job.status == ImportJob.Status.DONE:
        raise DomainError(DataioErrorCode.JOB_BUSY, _("This import is done; nothing to resume."))
    return enqueue_import(actor=actor, job_id=job_id)


# --- quarantine: download and replay ------------------------------------------------------------------------


def error_file_headers(job: ImportJob) -> list[str]:
    return [*job.headers, *ERROR_COLUMNS]


def error_rows_csv(*, actor, job_id: int) -> Iterator[str]:
    """The open quarantine as CSV text chunks (UTF-8 BOM first): the original columns, then _row and the first
    error's field, code and message. PII columns are masked for users without view_pii."""
    job = get_job_for(actor, job_id)
    masks = {} if perms.can_view_pii(actor) else {h: MASKERS[k] for h, k in pii_columns(job.kind, job.mapping).items()}
    headers = error_file_headers(job)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow([spreadsheet.neutralize(h) for h in headers])
    qs = QuarantinedRow.objects.filter(job=job, status=QuarantinedRow.Status.OPEN).order_by("row_number")
    for n, q in enumerate(qs.iterator(chunk_size=2000)):
        values = [masks[h](q.raw.get(h, "")) if h in masks else q.raw.get(h, "") for h in job.headers]
        messages = "; ".join(e["message"] for e in q.errors) or q.message
        writer.writerow([spreadsheet.neutralize(v) for v in (*values, q.row_number, q.field, q.code, messages)])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@dataclass
class ReplayResult:
    fixed: int = 0
    still_failing: int = 0
    skipped: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def replay_errors(*, actor, job_id: int, upload) -> ReplayResult:
    """Run a corrected error file through the job again. Only rows whose `_row` is an open quarantine row of
    this job are taken; rows that pass are stored and their quarantine rows marked replayed (the job's
    rejected count drops, created/updated/unchanged rise); rows that fail again keep their quarantine row
    with the new errors."""
    job = get_job_for(actor, job_id)
    handler_cls = HANDLERS[job.kind]
    handler_cls.check_permission(actor)
    if job.is_active:
        raise DomainError(DataioErrorCode.JOB_BUSY, _("This import is still running."))
    path, name = _store_upload(upload, prefix="replay-")
    try:
        fmt, encoding, headers = _inspect(path, name)
        if "_row" not in headers:
            raise DomainError(DataioErrorCode.NOT_ERROR_FILE, _(
                "This file has no _row column: upload the error file downloaded from this import, fixed."), "file")
        job.actor = actor
        handler = handler_cls(job=job, actor=actor)
        result = ReplayResult()
        _headers, rows = readers.open_rows(path, fmt, encoding)
        try:
            pending: list[tuple[int, dict]] = []
            for _number, raw in rows:
                try:
                    original = int(str(raw.get("_row", "")).strip())
                except ValueError:
                    result.skipped += 1
                    continue
                pending.append((original, raw))
                if len(pending) >= BATCH_SIZE:
                    _replay_batch(job, handler, pending, result, actor)
                    pending = []
            if pending:
                _replay_batch(job, handler, pending, result, actor)
        finally:
            rows.close()
    finally:
        path.unlink(missing_ok=True)
    audit(actor=actor, action="import.replay", obj=job, detail={
        "file": name, "fixed": result.fixed, "still_failing": result.still_failing, "skipped": result.skipped})
    return result


def _replay_batch(job: ImportJob, handler, pending: list[tuple[int, dict]], result: ReplayResult, actor) -> None:
    with transaction.atomic():
        open_rows = {q.row_number: q for q in QuarantinedRow.objects.select_for_update().filter(
            job=job, status=QuarantinedRow.Status.OPEN, row_number__in=[n for n, _r in pending])}
        taken, seen = [], set()
        for number, raw in pending:
            if number in open_rows and number not in seen:
                taken.append((number, readers_raw(raw)))
                seen.add(number)
            else:
                result.skipped += 1
        if not taken:
            return
        rows = make_rows(job.mapping, taken)
        handler.process(rows)
        settle(rows)
        counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
        now = timezone.now()
        fixed, failing = [], []
        for row in rows:
            q = open_rows[row.number]
            if row.outcome == "rejected":
                first = row.errors[0]
                q.raw, q.errors = row.raw, error_dicts(row)
                q.field, q.code, q.message = (first.field or "")[:60], first.code[:40], first.message[:500]
                failing.append(q)
            else:
                counts[row.outcome] += 1
                q.status, q.replayed_at = QuarantinedRow.Status.REPLAYED, now
                fixed.append(q)
        QuarantinedRow.objects.bulk_update(fixed, ["status", "replayed_at"])
        QuarantinedRow.objects.bulk_update(failing, ["raw", "errors", "field", "code", "message"])
        if fixed:
            ImportJob.objects.filter(pk=job.pk).update(
                rejected=F("rejected") - len(fixed), replayed=F("replayed") + len(fixed),
                **{k: F(k) + n for k, n in counts.items() if n})
        for k, n in counts.items():
            result.counts[k] = result.counts.get(k, 0) + n
        result.fixed += len(fixed)
        result.still_failing += len(failing)
        references = _note_references(job, handler)
        audit(actor=actor, action="import.batch", obj=job, detail={
            "kind": job.kind, "replay": True, "rows": [rows[0].number, rows[-1].number], **counts,
            "rejected": len(failing), "created_ids": handler.summary.get("created_ids", [])[:AUDIT_IDS],
            "updated_ids": handler.summary.get("updated_ids", [])[:AUDIT_IDS],
            **({"created_references": references} if references else {})})


# --- entry grids --------------------------------------------------------------------------------------------


GRID_SOURCE = "grid"


def _grid_rows(kind: str, rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, str]]]:
    names = [t.name for t in TARGETS[kind]]
    out = []
    for i, raw in enumerate(rows or [], start=1):
        if not isinstance(raw, dict):
            continue
        values = {n: str(raw.get(n) if raw.get(n) is not None else "").strip() for n in names}
        if any(values.values()):
            out.append((i, values))
    return out


def _grid_options(kind: str, numbered: list[tuple[int, dict[str, str]]]) -> dict[str, str]:
    """Grid customers match on the first natural key anyone typed (external id, member number, mobile)."""
    if kind != "customers":
        return {}
    present = {k for _n, values in numbered for k, val in values.items() if val}
    return {"key": next((k for k in NATURAL_KEYS["customers"] if k in present), "mobile")}


def validate_grid(*, actor, kind: str, rows: list[dict[str, Any]], source: str = GRID_SOURCE) -> list[dict]:
    """Per-row errors of grid rows as they would be saved (run and rolled back): [{row, outcome, errors}]."""
    cls = _handler_class(kind)
    cls.check_permission(actor)
    numbered = _grid_rows(kind, rows)
    job = ImportJob(kind=kind, source=_check_source(source), mapping={t.name: t.name for t in TARGETS[kind]},
                    options=_grid_options(kind, numbered), actor=actor, pk=0)
    batch = make_rows(job.mapping, numbered)
    with transaction.atomic():
        cls(job=job, actor=actor).process(batch)
        settle(batch)
        transaction.set_rollback(True)
    return [{"row": r.number, "outcome": r.outcome, "errors": error_dicts(r)} for r in batch]


def import_grid_rows(*, actor, kind: str, rows: list[dict[str, Any]], source: str = GRID_SOURCE,
                     key: str = "") -> ImportJob:
    """Save entry-grid rows through the import path: a job (source 'grid' unless given) over a JSONL file of
    the rows, run at once. Rejected rows are in the job's quarantine, like a file's."""
    cls = _handler_class(kind)
    cls.check_permission(actor)
    source = _check_source(source)
    numbered = _grid_rows(kind, rows)
    if not numbered:
        raise ValidationFailed([DomainError(ErrorCode.REQUIRED, _("The grid is empty."), "rows")])
    names = [t.name for t in TARGETS[kind]]
    path = import_dir() / f"{timezone.now():%Y%m}" / f"grid-{uuid.uuid4().hex[:12]}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Line n of the file is grid row n, blank rows included, so quarantine row numbers match the grid.
    by_number = dict(numbered)
    with open(path, "w", encoding="utf-8") as fh:
        for n in range(1, max(by_number) + 1):
            fh.write(json.dumps(by_number.get(n, {}), ensure_ascii=False) + "\n")
    mapping = {n: n for n in names}
    options = {"key": key} if key else _grid_options(kind, numbered)
    with transaction.atomic():
        job = ImportJob.objects.create(kind=kind, source=source, file=str(path), original_name=_("Entry grid"),
                                       format=ImportJob.Format.JSONL, encoding="utf-8", headers=names,
                                       mapping=mapping, options=options, actor=actor, total_rows=len(numbered))
        audit(actor=actor, action="import.grid", obj=job, detail={"kind": kind, "rows": len(numbered)})
    return run_import(job_id=job.pk)


def kinds() -> list[tuple[str, str]]:
    return kind_choices()
