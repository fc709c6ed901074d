"""Background work of the analytics app, run by `clientwise worker` (the django-tasks database worker).

Nightly scoring: `schedule_nightly_scoring()` queues `score_customers` to run after the next
settings.ANALYTICS_NIGHTLY_AT (local time, default "02:30") unless one is already queued; each nightly run queues
the next one when it finishes (successfully or not), so a worker that is running keeps scoring every night.
Start the chain once with `clientwise score --schedule` (docs/analytics.md).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from clientwise.accounts.models import User
from clientwise.analytics.notices import scoring_ended

NIGHTLY_TASK = "clientwise.analytics.tasks.score_customers"


@task()
def score_customers(actor_id: int | None = None, as_of: str | None = None, engine: str = "duckdb",
                    horizon_days: int = 365, nightly: bool = False) -> int:
    """Score every customer; returns the ScoringBatch id. Idempotent: a rerun writes a new batch and makes it
    current. `nightly` runs queue the next night's run when they end."""
    # A genuine cycle: analytics.services imports analytics.tasks at load time (to queue this task).
    from clientwise.analytics.services import run_scoring

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    since = timezone.now()
    try:
        batch = run_scoring(actor=actor, as_of=dt.date.fromisoformat(as_of) if as_of else None, engine=engine,
                            horizon_days=horizon_days)
    except Exception as exc:
        scoring_ended(actor_id, since=since, error=exc)  # the person who started it is told it failed
        raise
    finally:
        if nightly:
            schedule_nightly_scoring(engine=engine, horizon_days=horizon_days, after_run=True)
    scoring_ended(actor_id, since=since)
    return batch.pk


def next_nightly_time(now: dt.datetime | None = None) -> dt.datetime:
    """The next settings.ANALYTICS_NIGHTLY_AT ("HH:MM", local time) strictly after `now`."""
    hour, minute = (int(p) for p in str(getattr(settings, "ANALYTICS_NIGHTLY_AT", "02:30")).split(":"))
    local = timezone.localtime(now or timezone.now())
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= local:
        at = (local + dt.timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at


def schedule_nightly_scoring(*, engine: str = "duckdb", horizon_days: int = 365, after_run: bool = False,
                             now: dt.datetime | None = None):
    """Queue the next nightly run unless one is already waiting; returns its TaskResult (None if one waits).

    `after_run` is set by a nightly run re-queueing itself (its own row is still "running" then)."""
    waiting = DBTaskResult.objects.filter(task_path=NIGHTLY_TASK, status="READY", args_kwargs__kwargs__nightly=True)
    if waiting.exists():
        return None
    run_after = next_nightly_time(now)
    return score_customers.using(run_after=run_after).enqueue(engine=engine, horizon_days=horizon_days,
                                                              nightly=True)
