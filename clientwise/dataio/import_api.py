"""JSON API for imports: POST /imports (multipart), GET /imports/{id}, GET /imports/{id}/errors, POST
/imports/{id}/run. Thin: parse, call dataio.services / dataio.queries, return schemas.

Everything needs the data.import right (403); a job of another user is a 404 unless the caller sees all."""

from __future__ import annotations

import json

from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode, ValidationFailed
from clientwise.dataio import queries, services
from clientwise.dataio.mapping import pii_columns
from clientwise.dataio.schemas import ImportErrorPage, ImportJobOut, ImportRunIn

router = Router(tags=["imports"])


def _importer(request):
    user = request.auth
    perms.require(user, perms.IMPORT)
    return user


def _json_object(text: str, field: str) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValidationFailed([DomainError(ErrorCode.INVALID, f"{field} must be a JSON object.", field)])
    return value


@router.post("/imports", response={201: ImportJobOut}, summary="Upload a file for import")
def create_import(request, file: File[UploadedFile], kind: Form[str], source: Form[str],
                  mapping: Form[str] = "", options: Form[str] = "", template: Form[str] = ""):
    """Multipart upload: `file` (CSV UTF-8/GBK/GB18030, XLSX or JSONL), `kind` (customers, products, stores,
    orders, interactions), `source` (e.g. pos-shanghai), optional `mapping` (JSON {field: column}; suggested
    from the headers when absent), `options` (JSON: key, owner_id, team_id, batch_size) or `template` (a saved
    mapping of this source and kind). Nothing runs until POST /imports/{id}/run."""
    user = _importer(request)
    job = services.create_job(actor=user, kind=kind, upload=file, source=source,
                              mapping=_json_object(mapping, "mapping"), options=_json_object(options, "options"),
                              template=template)
    return Status(201, job)


@router.get("/imports/{job_id}", response=ImportJobOut, summary="An import job: status and counters")
def get_import(request, job_id: int):
    return queries.get_job_for(_importer(request), job_id)


@router.get("/imports/{job_id}/errors", response=ImportErrorPage, summary="Quarantined rows of a job")
def import_errors(request, job_id: int, cursor: str | None = None, size: int = 50, status: str = "open"):
    """Rows that did not go in, by row number, with every error. `status`: open (default), replayed or all."""
    user = _importer(request)
    job = queries.get_job_for(user, job_id)
    page = queries.quarantine_page(job, status=None if status == "all" else status, cursor=cursor,
                                   size=max(1, min(size, 500)))
    request.pii_masks = {} if perms.can_view_pii(user) else pii_columns(job.kind, job.mapping)
    return {"items": page.items, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.post("/imports/{job_id}/run", response={202: ImportJobOut}, summary="Run (or resume) an import job")
def run_import(request, job_id: int, payload: ImportRunIn | None = None):
    """Queues the job for the worker; poll GET /imports/{id} for progress. With `resume`, a failed job
    continues after its last committed row."""
    user = _importer(request)
    if payload is not None and payload.resume:
        job = services.resume_import(actor=user, job_id=job_id)
    else:
        job = services.enqueue_import(actor=user, job_id=job_id)
    return Status(202, job)
