"""Background work of core: the worker heartbeat.

The scheduler queues `heartbeat` every minute (`ensure_heartbeat`, registered as a periodic job). A task worker
that is running picks it up within seconds, so the time the newest heartbeat finished says whether a worker is
alive (`core.scheduler.worker_status`); pages that wait on background work (import jobs, scoring) show it.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

HEARTBEAT_TASK = "clientwise.core.tasks.heartbeat"
HEARTBEAT_EVERY = dt.timedelta(minutes=1)
HEARTBEAT_KEEP = dt.timedelta(hours=1)  # finished heartbeats older than this are deleted


@task()
def heartbeat() -> str:
    """Nothing to do: the row's finished time is the signal."""
    return "ok"


def ensure_heartbeat():
    """Queue the next heartbeat unless one is waiting; delete finished heartbeats older than HEARTBEAT_KEEP.
    Returns the queued TaskResult, or None."""

    now = timezone.now()
    mine = DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK)
    mine.filter(status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=now - HEARTBEAT_KEEP).delete()
    if mine.filter(status="READY").exists():
        return None
    # A minute after the last one finished; at once when there was none lately (a worker that just started is
    # seen as alive within seconds).
    last = mine.filter(status="SUCCESSFUL").order_by("-finished_at").values_list("finished_at", flat=True).first()
    run_after = max(now, last + HEARTBEAT_EVERY) if last else now
    return heartbeat.using(run_after=run_after).enqueue()
