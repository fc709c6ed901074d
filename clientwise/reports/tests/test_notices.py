"""The report mailer tells a schedule's owner each time it was sent, and when it failed: an SMTP error is kept on the
schedule and in the owner's notification, and the other due schedules still go."""

from __future__ import annotations

import datetime as dt
import socket

from django.core import mail
from django.utils import timezone, translation

from clientwise.notifications.models import Notification
from clientwise.notifications.queries import present
from clientwise.reports import services
from clientwise.reports.models import ReportSchedule
from clientwise.reports.tests.test_api import SPEC


def _schedule(user, name):
    report = services.save_report(actor=user, name=name, spec=SPEC)
    s = services.create_schedule(actor=user, report_id=report.pk, recipients=["boss@example.com", "b@example.com"],
                                 frequency="daily", fmt="csv")
    ReportSchedule.objects.filter(pk=s.pk).update(next_run_at=s.next_run_at - dt.timedelta(days=2))
    return s


def test_sent_report_tells_the_owner(users, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    s = _schedule(users["analyst"], "Regions")
    assert services.send_due_reports() == 1 and len(mail.outbox) == 1
    (n,) = Notification.objects.filter(kind="job_done")
    assert (n.recipient_id, n.url, n.params["count"]) == (users["analyst"].pk, f"/reports/{s.report_id}/", 2)
    with translation.override("en"):
        item = present(n)
    assert item.title == "Report Regions sent" and item.body.endswith("rows to 2 recipients")


def test_smtp_failure_is_kept_and_told_and_the_other_schedules_still_go(users, settings, monkeypatch):
    first = _schedule(users["analyst"], "First")
    second = _schedule(users["manager_sh"], "Second")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    assert services.send_due_reports() == 0  # neither went out, and the run did not stop at the first
    for s in (first, second):
        s.refresh_from_db()
        assert "ConnectionRefusedError" in s.last_error and s.last_sent_at is None
        assert s.next_run_at > timezone.now()  # it waits for its next turn instead of failing every round
    failed = {n.recipient_id: n for n in Notification.objects.filter(kind="job_failed")}
    assert set(failed) == {users["analyst"].pk, users["manager_sh"].pk}
    with translation.override("zh-hans"):
        assert present(failed[users["analyst"].pk]).title == "报表 First 未能发送"
