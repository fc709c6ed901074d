"""Background tasks of dataio, run by `clientwise worker` (django-tasks database backend)."""

from __future__ import annotations

import logging

from django_tasks import task

from clientwise.core.errors import DomainError
from clientwise.dataio.notices import import_ended

log = logging.getLogger(__name__)


@task()
def run_import_task(job_id: int) -> dict:
    """Run (or resume) an import job. A DomainError (bad file, permission) leaves the job failed with its
    message and ends the task normally; anything else is raised so the task records the traceback."""
    # A genuine cycle: dataio.services imports dataio.tasks at load time (to queue this task).
    from clientwise.dataio.services import run_import

    try:
        job = run_import(job_id=job_id)
    except DomainError as exc:
        log.warning("import job %s failed: %s", job_id, exc.message)
        return {"job_id": job_id, "status": "failed", "error": exc.message}
    finally:
        import_ended(job_id)  # the person who started it is told it finished or failed
    return {"job_id": job.pk, "status": job.status, "created": job.created, "updated": job.updated,
            "unchanged": job.unchanged, "rejected": job.rejected}
