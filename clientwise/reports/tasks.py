"""Background work of the reports app, run by `clientwise worker` (the django-tasks database worker).

`send_scheduled_reports` e-mails every report schedule that is due. `schedule_report_mailer()` queues it to run
every REPORTS_MAILER_MINUTES (default 15); each run queues the next one when it ends, so a running worker keeps
sending. Start the chain once with `clientwise send_reports --schedule`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from clientwise.reports.services import send_due_reports

MAILER_TASK = "clientwise.reports.tasks.send_scheduled_reports"


@task()
def send_scheduled_reports(chain: bool = False) -> int:
    """Send the due schedules; returns how many were sent. Idempotent: a sent schedule moves its next run on."""
    try:
        return send_due_reports()
    finally:
        if chain:
            schedule_report_mailer(after_run=True)


def schedule_report_mailer(*, after_run: bool = False):
    """Queue the next mailer run unless one is already waiting; returns its TaskResult (None if one waits)."""
    waiting = DBTaskResult.objects.filter(task_path=MAILER_TASK, status="READY", args_kwargs__kwargs__chain=True)
    if waiting.exists():
        return None
    minutes = int(getattr(settings, "REPORTS_MAILER_MINUTES", 15))
    run_after = timezone.now() + dt.timedelta(minutes=minutes)
    return send_scheduled_reports.using(run_after=run_after).enqueue(chain=True)
