"""The scheduler process (`clientwise scheduler`): keeps every periodic chain of background tasks queued.

Periodic work (nightly scoring, the SLA check, scheduled report e-mails, the worker heartbeat) runs as django-tasks
that queue their own next run when they end. A chain breaks when its task is lost (a restore, a purged queue, a
worker killed at the wrong moment) or was never started. The scheduler calls each registered job's `ensure()`
(core.extensions.register_periodic) once a minute; each one queues the next run only when none is waiting, so
running it again, or on two machines at once, queues nothing twice. The task worker (`clientwise worker`) runs
what is queued; `clientwise serve` starts web, worker and scheduler together (clientwise/processes.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks_db.models import DBTaskResult

from clientwise.core import extensions
from clientwise.core.tasks import HEARTBEAT_TASK

log = logging.getLogger(__name__)

# A worker that has not finished a heartbeat for this long is taken for not running (heartbeats are queued every
# minute and picked up within seconds by a worker that is idle).
WORKER_SILENT_AFTER = dt.timedelta(minutes=3)


def enabled_jobs() -> list[extensions.PeriodicJob]:
    """The registered periodic jobs that settings.SCHEDULER_JOBS switches on ("all", or a list of keys)."""
    wanted = getattr(settings, "SCHEDULER_JOBS", "all")
    if wanted == "all":
        return list(extensions.PERIODIC)
    return [j for j in extensions.PERIODIC if j.key in set(wanted)]


def run_once() -> dict[str, bool]:
    """Ensure each enabled job has its next run queued; returns {key: queued_now}. A job that fails is logged and
    the others still run."""
    out = {}
    for job in enabled_jobs():
        try:
            out[job.key] = job.ensure() is not None
        except Exception:  # one broken job must not stop the others (the next round tries again)
            log.exception("periodic job %s could not be queued", job.key)
            out[job.key] = False
    return out


def loop(*, interval: float = 60.0, stop: threading.Event | None = None, rounds: int | None = None) -> int:
    """Call run_once every `interval` seconds until `stop` is set (or `rounds` rounds ran); returns the rounds."""

    stop = stop or threading.Event()
    done = 0
    while not stop.is_set() and (rounds is None or done < rounds):
        close_old_connections()
        queued = [k for k, v in run_once().items() if v]
        if queued:
            log.info("queued: %s", ", ".join(queued))
        done += 1
        if rounds is None or done < rounds:
            stop.wait(interval)
    return done


@dataclass(frozen=True)
class WorkerStatus:
    alive: bool
    last_seen: dt.datetime | None  # when a worker last finished a heartbeat
    waiting: int  # tasks ready to run now (not periodic runs queued for later)
    oldest_waiting: dt.datetime | None


def worker_status(now: dt.datetime | None = None) -> WorkerStatus:
    """Whether a task worker is running, from the newest finished heartbeat, and what is waiting for one."""

    now = now or timezone.now()
    last = (DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK).successful()
            .order_by("-finished_at").values_list("finished_at", flat=True).first())
    due = DBTaskResult.objects.ready()
    agg = due.aggregate(oldest=Min("enqueued_at"), waiting=Count("id"))
    return WorkerStatus(alive=bool(last and now - last <= WORKER_SILENT_AFTER), last_seen=last,
                        waiting=agg["waiting"], oldest_waiting=agg["oldest"])


def no_worker_warning() -> str | None:
    """The sentence a page shows after queueing background work when no task worker is alive (else None)."""

    if worker_status().alive:
        return None
    return _("No task worker is running, so this waits until one runs: start one with “clientwise worker” "
             "(./run demo and clientwise serve start one with the web server).")
