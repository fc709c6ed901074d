"""Background work of marketing, run by `clientwise worker`: sending a campaign (sending.run) in batches, queueing
itself again when messages were deferred by quiet hours. The scheduler's periodic job `campaign_sender` queues a
sender for every launched campaign that has due messages and no sender waiting — so a worker killed mid-run is
resumed (sending.recover) within a few minutes."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from clientwise.marketing import sending
from clientwise.marketing.models import Campaign, Message

TASK_PATH = "clientwise.marketing.tasks.send_campaign"
STALE_SECONDS = 300


@task()
def send_campaign(campaign_id: int) -> dict:
    report = sending.run(campaign_id, stale_after=STALE_SECONDS)
    if report.next_run is not None:
        send_campaign.using(run_after=report.next_run).enqueue(campaign_id=campaign_id)
    return {"sent": report.sent, "not_sent": report.not_sent, "deferred": report.deferred,
            "recovered": report.recovered, "finished": report.finished}


def ensure_senders() -> list | None:
    """Queue a sender for each launched or sending campaign with due messages (or claims older than
    STALE_SECONDS) and no sender already waiting. Returns what it queued, None when nothing (the scheduler's
    contract: a periodic job's ensure() answers None when it queued nothing)."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=STALE_SECONDS)
    due = (Q(state=Message.State.PENDING) | Q(state=Message.State.DEFERRED, not_before__lte=now)
           | Q(state=Message.State.SENDING, claimed_at__lt=stale))
    queued = []
    campaigns = Campaign.objects.filter(status__in=(Campaign.Status.LAUNCHED, Campaign.Status.SENDING)).filter(
        Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=now))
    for campaign in campaigns:
        if not Message.objects.filter(due, campaign=campaign).exists():
            continue
        if Message.objects.filter(campaign=campaign, state=Message.State.SENDING, claimed_at__gte=stale).exists():
            continue  # a sender is at work
        waiting = DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY",
                                              args_kwargs__kwargs__campaign_id=campaign.pk)
        if waiting.exists():
            continue
        queued.append(send_campaign.enqueue(campaign_id=campaign.pk))
    return queued or None
