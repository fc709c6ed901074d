"""Background work of the quality app (run by `clientwise worker`)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from clientwise.accounts.models import User
from clientwise.dataio.notices import quality_ended


@task()
def compute_quality(actor_id: int | None = None, stale_months: int | None = None) -> int:
    """Recompute every customer's quality; returns the QualityRun id. Idempotent: a rerun rewrites the rows."""
    # A genuine cycle: quality.services imports quality.tasks at load time (to queue this task).
    from clientwise.dataio.quality.services import run_quality

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    since = timezone.now()
    try:
        return run_quality(actor=actor, stale_months=stale_months).pk
    finally:
        quality_ended(actor.pk if actor else None, since=since)  # the person who asked is told how it went
