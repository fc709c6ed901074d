"""E-mail of notifications through a real SMTP server on this machine (aiosmtpd): what arrives, in whose language,
only for those who asked, only after the commit, once; a server that is down leaves the error on the row."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from clientwise.notifications import kinds, services
from clientwise.notifications.models import Notification
from clientwise.notifications.services import Target

TICKET = Target("service.ticket", 7, "/service/tickets/7/")
SLA = {"number": "T0000007", "subject": "洗衣机漏水", "clock": "resolution", "due": "2026-12-07T02:00:00+00:00"}


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Clientwise <crm@example.test>"
    settings.SITE_URL = "https://crm.example.test"
    try:
        yield inbox
    finally:
        controller.stop()


def _text(msg, header: str) -> str:
    return str(make_header(decode_header(msg[header])))


def _body(msg) -> str:
    return msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8")


def _users(org):
    org.rep_a.email, org.rep_a.language = "rep_a@example.test", "zh-hans"
    org.rep_a.save()
    org.rep_a2.email, org.rep_a2.language = "rep_a2@example.test", "en"
    org.rep_a2.save()
    org.rep_b.email = "rep_b@example.test"  # has an address but did not ask for e-mail
    org.rep_b.save()
    services.set_email_kinds(actor=org.rep_a, kinds=[kinds.SLA_BREACH])
    services.set_email_kinds(actor=org.rep_a2, kinds=[kinds.SLA_BREACH, kinds.MENTION])


def test_opted_in_users_get_the_mail_in_their_language_after_commit(org, smtp, django_capture_on_commit_callbacks):
    _users(org)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        services.notify([org.rep_a, org.rep_a2, org.rep_b], kinds.SLA_BREACH, SLA, TICKET, actor=org.manager_a,
                        dedupe_key="resolution_breach")
        assert smtp.messages == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    by_rcpt = {rcpt[0]: msg for _from, rcpt, msg in smtp.messages}
    assert set(by_rcpt) == {"rep_a@example.test", "rep_a2@example.test"}  # rep_b did not opt in
    zh, en = by_rcpt["rep_a@example.test"], by_rcpt["rep_a2@example.test"]
    assert _text(zh, "Subject") == "[Clientwise] 工单 T0000007：解决已超时"
    assert _text(en, "Subject") == "[Clientwise] Ticket T0000007: resolution overdue"
    assert "https://crm.example.test/service/tickets/7/" in _body(en)
    assert "https://crm.example.test/notifications/settings/" in _body(en)
    assert "2026-12-07 10:00" in _body(zh)
    assert en["From"] == "Clientwise <crm@example.test>" and en["Auto-Submitted"] == "auto-generated"
    states = dict(Notification.objects.values_list("recipient__username", "email"))
    assert states == {"rep_a": "sent", "rep_a2": "sent", "rep_b": ""}
    assert Notification.objects.filter(email="sent", emailed_at__isnull=False).count() == 2


def test_no_mail_for_kinds_not_chosen_nor_for_a_rolled_back_change(org, smtp, django_capture_on_commit_callbacks):
    _users(org)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify([org.rep_a], kinds.MENTION, {"record": "ticket", "name": "T1", "excerpt": "hi"}, TICKET)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError), \
            transaction.atomic():
        services.notify([org.rep_a2], kinds.SLA_BREACH, SLA, TICKET)
        raise RuntimeError
    assert callbacks == [] and smtp.messages == []
    assert Notification.objects.count() == 1


def test_each_notification_is_mailed_once(org, smtp, django_capture_on_commit_callbacks):
    _users(org)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify([org.rep_a2], kinds.SLA_BREACH, SLA, TICKET)
    n = Notification.objects.get()
    assert services.deliver_emails([n.pk, n.pk]) == {"sent": 0, "failed": 0, "skipped": 2}
    assert len(smtp.messages) == 1


def test_a_user_who_switched_email_off_since_is_not_mailed(org, smtp, django_capture_on_commit_callbacks):
    _users(org)
    services.notify([org.rep_a2], kinds.SLA_BREACH, SLA, TICKET)  # queued after a commit that has not happened
    services.set_email_kinds(actor=org.rep_a2, kinds=[])
    n = Notification.objects.get()
    assert n.email == "pending"
    assert services.deliver_emails([n.pk]) == {"sent": 0, "failed": 0, "skipped": 1}
    n.refresh_from_db()
    assert n.email == "" and smtp.messages == []


def test_smtp_server_down_keeps_the_error_on_the_row(org, settings):
    _users(org)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    services.notify([org.rep_a2], kinds.SLA_BREACH, SLA, TICKET)
    n = Notification.objects.get()
    assert services.deliver_emails([n.pk]) == {"sent": 0, "failed": 1, "skipped": 0}
    n.refresh_from_db()
    assert n.email == "failed" and "ConnectionRefusedError" in n.email_error
    assert n.read_at is None  # the in-app notification is there all the same
