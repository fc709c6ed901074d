"""What data import and data quality tell the person who started a background job (notifications.notify): that it
finished, with its counts, or that it failed, with the error. Called by the tasks when the job ends; never raise (a
notice that cannot be written must not hide how the job went)."""

from __future__ import annotations

import logging

from django.urls import reverse

from clientwise.dataio.models import ImportJob
from clientwise.dataio.quality.models import QualityRun
from clientwise.notifications import kinds
from clientwise.notifications.services import Target, notify

log = logging.getLogger(__name__)


def import_ended(job_id: int) -> None:
    """Notify the job's actor of how the job stands now (done or failed; nothing while it is still running)."""
    try:
        job = ImportJob.objects.filter(pk=job_id).first()
        if job is None or not job.actor_id:
            return
        target = Target("dataio.importjob", job.pk, reverse("dataio:import_detail", args=[job.pk]))
        name = job.original_name or f"#{job.pk}"
        if job.status == ImportJob.Status.DONE:
            notify([job.actor_id], kinds.JOB_DONE,
                   {"variant": "import", "name": name, "kind": job.kind, "created": job.created,
                    "updated": job.updated, "unchanged": job.unchanged, "rejected": job.rejected},
                   target, dedupe_key="done")
        elif job.status == ImportJob.Status.FAILED:
            notify([job.actor_id], kinds.JOB_FAILED,
                   {"variant": "import", "name": name, "kind": job.kind, "error": job.error[:300]},
                   target, dedupe_key=f"failed:{job.last_row}")
    except Exception:
        log.exception("could not notify the end of import job %s", job_id)


def quality_ended(actor_id: int | None, *, since) -> None:
    """Notify the actor of their data-quality run that started at or after `since`: done (customers checked) or
    failed (the error); nothing when none started (refused before it began)."""
    if not actor_id:
        return
    try:
        run = QualityRun.objects.filter(actor_id=actor_id, started_at__gte=since).order_by("-id").first()
        if run is None:
            return
        target = Target("quality.qualityrun", run.pk, reverse("quality:index"))
        if run.status == QualityRun.Status.DONE:
            notify([actor_id], kinds.JOB_DONE, {"variant": "quality", "customers": run.customers}, target)
        elif run.status == QualityRun.Status.FAILED:
            notify([actor_id], kinds.JOB_FAILED, {"variant": "quality", "error": (run.error or "")[:300]}, target)
    except Exception:
        log.exception("could not notify the end of a quality run for user %s", actor_id)
