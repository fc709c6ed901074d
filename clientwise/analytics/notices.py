"""What scoring tells the person who started a background scoring run (notifications.notify): finished, with the
customers scored, or failed, with the error. Nightly runs have no such person and tell nobody. Never raises: a
notice that cannot be written must not hide how the run went."""

from __future__ import annotations

import logging

from django.urls import reverse

from clientwise.analytics.models import RunStatus, ScoringBatch
from clientwise.notifications import kinds
from clientwise.notifications.services import Target, notify

log = logging.getLogger(__name__)


def scoring_ended(actor_id: int | None, *, since, error: BaseException | None = None) -> None:
    """Notify `actor_id` of their scoring batch that started at or after `since` (done or failed)."""
    if not actor_id:
        return
    try:
        batch = ScoringBatch.objects.filter(actor_id=actor_id, started_at__gte=since).order_by("-id").first()
        target = Target("analytics.scoringbatch", batch.pk if batch else None, reverse("analytics:index"))
        if error is None and batch is not None and batch.status == RunStatus.DONE:
            notify([actor_id], kinds.JOB_DONE,
                   {"variant": "scoring", "customers": batch.customers, "as_of": batch.as_of.isoformat()}, target)
        elif error is not None:
            message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            notify([actor_id], kinds.JOB_FAILED, {"variant": "scoring", "error": str(message)[:300]}, target,
                   dedupe_key=since.isoformat())
    except Exception:
        log.exception("could not notify the end of a scoring run for user %s", actor_id)
