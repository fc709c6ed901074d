"""Background work of notifications, run by `clientwise worker`: the e-mail of notifications whose recipients asked
for their kind by e-mail. `services.notify` queues it after the commit of the change that caused them."""

from __future__ import annotations

from django_tasks import task


@task()
def send_notification_emails(notification_ids: list[int]) -> dict:
    """Send the waiting e-mails among these notifications; returns the counts (sent, failed, skipped).
    Idempotent: a notification already sent, or being sent by another worker, is skipped."""
    # A genuine cycle: notifications.services imports notifications.tasks at load time (to queue this task).
    from clientwise.notifications.services import deliver_emails

    return deliver_emails(notification_ids)
