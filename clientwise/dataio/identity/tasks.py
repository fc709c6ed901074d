"""Background tasks of identity resolution, run by `clientwise worker`."""

from __future__ import annotations

from django_tasks import task


@task()
def dedup_task() -> dict:
    """A batch duplicate search over all customers (what `clientwise dedup` runs), e.g. after an import."""
    # A genuine cycle: identity.services imports identity.tasks at load time (to queue this task).
    from clientwise.dataio.identity.services import run_dedup

    run = run_dedup()
    return {"run_id": run.pk, "status": run.status, **(run.counts or {})}
