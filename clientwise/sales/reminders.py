"""Task reminders: the periodic sweep (sales/tasks.py, every SALES_REMINDER_MINUTES) that tells each assignee when an
open task, call or meeting reaches its reminder time, and again at its due time (notifications, kind task_reminder).

Each sweep looks at the moments since the previous sweep (the chain hands its time on), so a worker that was down
catches up; a chain started afresh looks back SALES_REMINDER_LOOKBACK_HOURS (24). Idempotent all the same: a reminder
is one notification per activity and reminder time (another per due time), so overlapping sweeps tell nobody twice,
and moving the reminder or due time reminds again. Older moments are not reminded: a task overdue for a week is on
the "my day" page, not news.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from clientwise.notifications import kinds
from clientwise.notifications.services import Notice, Target, notify_many
from clientwise.sales.models import Activity
from clientwise.sales.notices import record_url


def lookback() -> dt.timedelta:
    return dt.timedelta(hours=max(1, int(getattr(settings, "SALES_REMINDER_LOOKBACK_HOURS", 24))))


def _notice(act: Activity, variant: str, moment: dt.datetime) -> Notice:
    return Notice([act.assignee_id], kinds.TASK_REMINDER,
                  {"variant": variant, "subject": act.subject, "due": act.due_at},
                  Target("sales.activity", act.pk, record_url(customer_id=act.customer_id, lead_id=act.lead_id,
                                                               opportunity_id=act.opportunity_id)),
                  dedupe_key=f"{'due' if variant == 'due' else 'reminder'}:{moment.isoformat()}")


def send_due_reminders(*, now: dt.datetime | None = None, since: dt.datetime | None = None) -> int:
    """Notify the assignees of open activities whose reminder or due time came after `since` (the previous sweep's
    `now`; at most the look-back window ago) and by `now`; returns how many notifications were written. A reminder
    whose task is already due is left to the due notice."""
    now = now or timezone.now()
    since = max(since, now - lookback()) if since else now - lookback()
    fields = ("pk", "subject", "assignee_id", "customer_id", "lead_id", "opportunity_id", "due_at", "remind_at")
    mine = Activity.objects.filter(done_at__isnull=True, assignee__isnull=False).only(*fields)
    notices = [_notice(a, "reminder" if a.due_at else "undated", a.remind_at)
               for a in mine.filter(remind_at__gt=since, remind_at__lte=now).order_by("remind_at", "pk")
               if a.due_at is None or a.due_at > now]
    notices += [_notice(a, "due", a.due_at)
                for a in mine.filter(due_at__gt=since, due_at__lte=now).order_by("due_at", "pk")]
    return notify_many(notices)
