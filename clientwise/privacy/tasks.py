"""Background work of the privacy app, run by `clientwise worker` (django-tasks database backend)."""

from __future__ import annotations

from django_tasks import task


@task()
def erase_files_task(request_id: int) -> dict:
    """An erasure's after-commit clean-up of files and stored copies (privacy.files). Its only argument is the
    request id: the work list lives on the request, so the task queue never holds anything about the person."""
    # A genuine cycle: privacy.services imports privacy.tasks at load time (to queue this task).
    from clientwise.privacy.services import run_file_cleanup

    return run_file_cleanup(request_id=request_id)
