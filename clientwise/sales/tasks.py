"""Background work of the sales app, run by `clientwise worker`.

The task-reminder sweep runs every settings.SALES_REMINDER_MINUTES (default 1): each run tells assignees about
reminders and due times that came (reminders.send_due_reminders, idempotent) and queues the next run when it ends.
The scheduler (`clientwise scheduler`) keeps the chain going (periodic job `task_reminders`).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from clientwise.sales.reminders import send_due_reminders

TASK_PATH = "clientwise.sales.tasks.task_reminders"


def interval() -> dt.timedelta:
    return dt.timedelta(minutes=max(1, int(getattr(settings, "SALES_REMINDER_MINUTES", 1))))


@task()
def task_reminders(periodic: bool = False, since: str | None = None) -> int:
    """Notify the reminders and due times that came after `since` (ISO time; None: the look-back window); returns
    how many notifications were written. `periodic` runs queue the next one, which starts where this one ended."""
    now = timezone.now()
    try:
        return send_due_reminders(now=now, since=dt.datetime.fromisoformat(since) if since else None)
    finally:
        if periodic:
            schedule_task_reminders(after_run=True, since=now)


def schedule_task_reminders(*, after_run: bool = False, since: dt.datetime | None = None):
    """Queue the next periodic sweep unless one is already waiting; returns its TaskResult or None. The scheduler
    calls it without `since` (a chain started afresh looks back over the look-back window)."""
    waiting = DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY", args_kwargs__kwargs__periodic=True)
    if waiting.exists():
        return None
    return task_reminders.using(run_after=timezone.now() + interval()).enqueue(
        periodic=True, since=since.isoformat() if since else None)
