"""Background work of the service app, run by `clientwise worker`.

The SLA check runs every settings.SERVICE_SLA_CHECK_MINUTES (default 5): each run marks warnings and breaches
and escalates (services.run_sla_check, idempotent) and queues the next run when it ends, so a running worker
keeps checking. Start the chain once with `clientwise sla_check --schedule`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from clientwise.service.services import run_sla_check

TASK_PATH = "clientwise.service.tasks.sla_check"


def interval() -> dt.timedelta:
    return dt.timedelta(minutes=max(1, int(getattr(settings, "SERVICE_SLA_CHECK_MINUTES", 5))))


@task()
def sla_check(periodic: bool = False) -> dict:
    """Run the SLA check; returns the counts. `periodic` runs queue the next one when they end."""
    try:
        result = run_sla_check()
    finally:
        if periodic:
            schedule_sla_check(after_run=True)
    return {"warnings": result.warnings, "breaches": result.breaches, "escalations": result.escalations}


def schedule_sla_check(*, after_run: bool = False):
    """Queue the next periodic check unless one is already waiting; returns its TaskResult or None."""
    waiting = DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY", args_kwargs__kwargs__periodic=True)
    if waiting.exists():
        return None
    return sla_check.using(run_after=timezone.now() + interval()).enqueue(periodic=True)
