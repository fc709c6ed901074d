"""Ticket lifecycle, messages, attachments, SLA check and escalation, visibility and permissions, merge."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clientwise.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from clientwise.core.models import AuditLog
from clientwise.customers.models import Interaction
from clientwise.service import queries, reports, services
from clientwise.service.models import SLAEvent, Survey, Ticket, TicketMessage

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def new_ticket(org, customer, actor=None, **kw):
    data = {"type": "complaint", "channel": "phone", "subject": "Fridge is noisy", "description": "Since Monday"}
    data.update(kw)
    return services.create_ticket(actor=actor or org.agent, customer_id=customer.pk, **data)


def test_create_ticket_sets_number_sla_and_timeline(org, desk, customer):
    opened = dt.datetime(2026, 11, 6, 16, 0, tzinfo=SH)  # a Friday
    t = new_ticket(org, customer, priority="normal", opened_at=opened)
    assert t.number == f"T{t.pk:07d}"
    assert t.sla_policy.priority == "normal"
    # normal: 240 min first response, 1440 min resolution in 9-18 business hours.
    assert t.first_response_due == dt.datetime(2026, 11, 9, 11, 0, tzinfo=SH)
    # 1440 min = 2 h Friday + 9 h Monday + 9 h Tuesday + 4 h Wednesday.
    assert t.resolution_due == dt.datetime(2026, 11, 11, 13, 0, tzinfo=SH)
    row = Interaction.objects.get(customer_id=customer.pk, kind="ticket", ref_id=t.pk)
    assert t.number in row.subject
    assert AuditLog.objects.filter(action="ticket.create", object_id=str(t.pk)).exists()


def test_tier_specific_policy_wins(org, desk, customer):
    from clientwise.service.models import SLAPolicy
    from clientwise.service.tests.conftest import set_score

    SLAPolicy.objects.create(name="normal A", priority="normal", customer_tier="A", first_response_minutes=15,
                             resolution_minutes=120)
    set_score(customer.pk, tier="A")
    t = new_ticket(org, customer, priority="normal")
    assert t.sla_policy.name == "normal A"
    assert t.first_response_due == t.opened_at + dt.timedelta(minutes=15)  # no calendar: around the clock


def test_validation_collects_every_error(org, desk, customer):
    with pytest.raises(ValidationFailed) as exc:
        services.create_ticket(actor=org.agent, customer_id=customer.pk, type="x", channel="fax", subject="",
                               priority="meh")
    assert {e.field for e in exc.value.errors} == {"type", "channel", "subject", "priority"}
    assert not Ticket.objects.exists()


def test_permissions_and_visibility(org, desk, customer, other_customer):
    for user in (org.norole, org.marketer, org.analyst, org.rep_a):
        with pytest.raises(PermissionDenied):
            new_ticket(org, customer, actor=user)
    with pytest.raises(NotFound):
        new_ticket(org, other_customer, actor=org.manager_a)  # manager of team A; the customer is team B's
    t1, t2 = new_ticket(org, customer), new_ticket(org, other_customer)
    # Sales reps see their own customers' tickets only; analysts see all, marketers none.
    assert set(queries.visible_tickets(org.rep_a)) == {t1}
    assert set(queries.visible_tickets(org.rep_b)) == {t2}
    assert set(queries.visible_tickets(org.analyst)) == {t1, t2}
    assert not queries.visible_tickets(org.marketer).exists()
    with pytest.raises(NotFound):
        queries.get_ticket_for(org.rep_a, t2.pk)
    with pytest.raises(PermissionDenied):
        services.add_message(actor=org.rep_a, ticket_id=t1.pk, kind="reply", body="hi")
    assert not TicketMessage.objects.exists()


def test_reply_note_and_lifecycle(org, desk, customer):
    t = new_ticket(org, customer)
    before = Interaction.objects.filter(customer_id=customer.pk).count()
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="note", body="Checked the order")
    t.refresh_from_db()
    assert t.first_response_at is None  # an internal note is not a response
    assert Interaction.objects.filter(customer_id=customer.pk).count() == before  # notes stay on the ticket
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="reply", body="We will send a technician")
    t.refresh_from_db()
    assert t.first_response_at is not None
    first = t.first_response_at
    services.change_status(actor=org.agent, ticket_id=t.pk, status="pending")
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="customer", body="Thursday works")
    t.refresh_from_db()
    assert t.status == "open"
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="reply", body="Booked")
    t.refresh_from_db()
    assert t.first_response_at == first
    with pytest.raises(ValidationFailed):
        services.change_status(actor=org.agent, ticket_id=t.pk, status="resolved")  # no resolution text
    services.change_status(actor=org.agent, ticket_id=t.pk, status="resolved", resolution="Replaced the fan")
    t.refresh_from_db()
    assert t.status == "resolved" and t.resolved_at is not None
    survey = Survey.objects.get(ticket=t)  # one survey per resolved ticket
    assert (survey.agent_id, survey.trigger) == (t.assignee_id, "resolution")
    services.change_status(actor=org.agent, ticket_id=t.pk, status="open")
    services.change_status(actor=org.agent, ticket_id=t.pk, status="resolved", resolution="Again")
    assert Survey.objects.filter(ticket=t).count() == 1
    services.change_status(actor=org.agent, ticket_id=t.pk, status="closed")
    with pytest.raises(DomainError) as exc:
        services.change_status(actor=org.agent, ticket_id=t.pk, status="open")
    assert exc.value.code == "invalid_transition"
    with pytest.raises(DomainError):
        services.add_message(actor=org.agent, ticket_id=t.pk, kind="reply", body="late")


def test_attachments_limits(org, desk, customer, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    from django.utils.functional import empty

    from clientwise.service.models import attachment_storage

    attachment_storage._wrapped = empty  # the lazy storage picks up the new VAR_DIR
    t = new_ticket(org, customer)
    att = services.add_attachment(actor=org.agent, ticket_id=t.pk,
                                  upload=SimpleUploadedFile("photo.PNG", b"\x89PNG....", content_type="text/html"))
    assert att.content_type == "image/png"  # from the extension, not from what the browser said
    assert (tmp_path / "service" / "attachments").exists()
    with pytest.raises(ValidationFailed) as exc:
        services.add_attachment(actor=org.agent, ticket_id=t.pk, upload=SimpleUploadedFile("x.exe", b"MZ"))
    assert exc.value.code == "attachment_type_not_allowed"
    big = SimpleUploadedFile("big.pdf", b"0" * (services.ATTACHMENT_MAX_BYTES + 1))
    with pytest.raises(ValidationFailed) as exc:
        services.add_attachment(actor=org.agent, ticket_id=t.pk, upload=big)
    assert exc.value.code == "attachment_too_large"
    attachment_storage._wrapped = empty


def test_sla_check_warns_breaches_escalates_once(org, desk, customer):
    opened = timezone.now() - dt.timedelta(days=30)
    t = new_ticket(org, customer, priority="normal", opened_at=opened)
    assert t.assignee_id is not None
    # First pass: everything is overdue → two breaches (response, resolution), two warnings, one escalation.
    result = services.run_sla_check(now=timezone.now())
    assert (result.breaches, result.escalations) == (2, 1)
    t.refresh_from_db()
    assert t.sla_state == "breached"
    assert t.escalated_to == org.manager_a  # the general queue's escalation manager
    assert t.priority == "high"  # one step up
    kinds = set(SLAEvent.objects.filter(ticket=t).values_list("kind", flat=True))
    assert {"response_breach", "resolution_breach"} <= kinds
    assert Interaction.objects.filter(customer_id=customer.pk, kind="ticket", subject__contains="escalated").exists()
    # Idempotent: a second run writes nothing.
    counts = (SLAEvent.objects.count(), AuditLog.objects.count(), Interaction.objects.count())
    again = services.run_sla_check(now=timezone.now())
    assert (again.warnings, again.breaches, again.escalations) == (0, 0, 0)
    assert (SLAEvent.objects.count(), AuditLog.objects.count(), Interaction.objects.count()) == counts


def test_sla_warning_before_breach_notifies_assignee(org, desk, customer):
    t = new_ticket(org, customer, priority="urgent")
    # Urgent: 30 min first response, warning at 80 % = 24 business minutes.
    now = t.response_warn_at + dt.timedelta(seconds=1)
    result = services.run_sla_check(now=now)
    assert result.breaches == 0 and result.warnings == 1
    event = SLAEvent.objects.get(ticket=t)
    assert (event.kind, event.notified_id) == ("response_warning", t.assignee_id)
    t.refresh_from_db()
    assert t.sla_state == "warning" and t.escalated_at is None
    assert [a.ticket_id for a in queries.my_alerts(t.assignee)] == [t.pk]
    # Answered in time: no breach later for the response target.
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="reply", body="On it")
    services.run_sla_check(now=t.first_response_due + dt.timedelta(minutes=1))
    assert not SLAEvent.objects.filter(ticket=t, kind="response_breach").exists()


def test_pending_pauses_the_resolution_clock(org, desk, customer, monkeypatch):
    from clientwise.service import sla

    t = new_ticket(org, customer, priority="normal")
    hours = sla.hours_for(t.sla_policy.calendar)
    due, warn = t.resolution_due, t.resolution_warn_at
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="reply", body="Please send a photo of the label")
    services.change_status(actor=org.agent, ticket_id=t.pk, status="pending")
    t.refresh_from_db()
    paused_at = t.sla_paused_at
    assert paused_at is not None and t.resolution_due == due and t.sla_clock_paused
    # While it waits for the customer, passing the original target is no breach and no warning.
    later = due + dt.timedelta(hours=5)
    services.run_sla_check(now=later)
    assert not SLAEvent.objects.filter(ticket=t, kind__startswith="resolution").exists()
    monkeypatch.setattr(services.timezone, "now", lambda: later)
    assert reports.sla_summary(org.admin)["overdue_now"] == 0  # paused: not overdue
    # The customer answers: back to open, the targets move on by the business time paused.
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="customer", body="Photo attached")
    t.refresh_from_db()
    paused = sla.business_minutes_between(paused_at, later, hours)
    assert t.status == "open" and t.sla_paused_at is None and paused > 0
    assert t.resolution_due == sla.add_business_minutes(due, paused, hours)
    assert t.resolution_warn_at == sla.add_business_minutes(warn, paused, hours)
    assert t.sla_paused_minutes == pytest.approx(paused)
    # The clock runs again from there.
    services.run_sla_check(now=t.resolution_due - dt.timedelta(seconds=1))
    assert not SLAEvent.objects.filter(ticket=t, kind="resolution_breach").exists()
    services.run_sla_check(now=t.resolution_due + dt.timedelta(seconds=1))
    assert SLAEvent.objects.filter(ticket=t, kind="resolution_breach").exists()


def test_a_breach_before_the_pause_stays_a_breach(org, desk, customer, monkeypatch):
    t = new_ticket(org, customer, opened_at=timezone.now() - dt.timedelta(days=30))
    due = t.resolution_due
    services.change_status(actor=org.agent, ticket_id=t.pk, status="pending")
    t.refresh_from_db()
    assert t.sla_paused_at is not None and not t.sla_clock_paused  # the target had passed already
    services.run_sla_check()
    assert SLAEvent.objects.filter(ticket=t, kind="resolution_breach").exists()
    assert reports.sla_summary(org.admin)["overdue_now"] == 1
    two_days_on = timezone.now() + dt.timedelta(days=2)
    monkeypatch.setattr(services.timezone, "now", lambda: two_days_on)
    services.change_status(actor=org.agent, ticket_id=t.pk, status="resolved", resolution="Replaced the part")
    t.refresh_from_db()
    assert t.resolution_due == due and t.sla_paused_at is None and t.sla_paused_minutes > 0
    assert t.resolved_at > t.resolution_due  # still late


def test_resolved_tickets_are_not_checked(org, desk, customer):
    t = new_ticket(org, customer, opened_at=timezone.now() - dt.timedelta(days=30))
    services.change_status(actor=org.agent, ticket_id=t.pk, status="resolved", resolution="done")
    assert services.run_sla_check().breaches == 0


def test_manual_escalation(org, desk, customer):
    t = new_ticket(org, customer)
    services.escalate_ticket(actor=org.agent, ticket_id=t.pk, reason="VIP asked for a manager")
    t.refresh_from_db()
    assert t.escalated_to == org.manager_a and t.escalated_at is not None
    with pytest.raises(ValidationFailed):
        services.escalate_ticket(actor=org.agent, ticket_id=t.pk, to_id=org.marketer.pk)


def test_assign_ticket(org, desk, customer):
    t = new_ticket(org, customer)
    services.assign_ticket(actor=org.manager_a, ticket_id=t.pk, assignee_id=org.manager_a.pk)
    t.refresh_from_db()
    assert t.assignee == org.manager_a
    services.assign_ticket(actor=org.manager_a, ticket_id=t.pk, queue_id=desk.vip.pk)
    t.refresh_from_db()
    assert t.queue == desk.vip and t.assignee == org.manager_a
    with pytest.raises(ValidationFailed):
        services.assign_ticket(actor=org.manager_a, ticket_id=t.pk, assignee_id=org.marketer.pk)


def test_merge_moves_tickets_and_back(org, desk, customer):
    from clientwise.customers.services import merge_customers, unmerge_customers
    from clientwise.customers.tests.factories import make_customer

    dup = make_customer(org.admin, "王芳", owner_id=org.rep_a.pk)
    t = new_ticket(org, dup)
    result = merge_customers(actor=org.admin, survivor=customer.pk, duplicates=[dup.pk])
    t.refresh_from_db()
    assert t.customer_id == customer.pk
    unmerge_customers(actor=org.admin, snapshot=result.snapshot)
    t.refresh_from_db()
    assert t.customer_id == dup.pk


def test_customer_panel(org, desk, customer):
    t = new_ticket(org, customer)
    panel = queries.customer_panel(org.agent, customer)
    assert [x.pk for x in panel["tickets"]] == [t.pk] and panel["can_work"]
    assert queries.customer_panel(org.marketer, customer) is None


def test_phone_lookup(org, desk, customer, other_customer):
    assert [c.pk for c in queries.phone_lookup(org.agent, "138-1234-5678")] == [customer.pk]
    assert [c.pk for c in queries.phone_lookup(org.agent, "+86 13812345678")] == [customer.pk]
    assert queries.phone_lookup(org.rep_b, "13812345678") == []  # not visible
    assert queries.phone_lookup(org.agent, "12") == []


def test_sla_check_command_and_task(org, desk, customer, settings):
    from io import StringIO

    from django.core.management import call_command

    t = new_ticket(org, customer, opened_at=timezone.now() - dt.timedelta(days=30))
    out = StringIO()
    call_command("sla_check", stdout=out)
    assert "2 breaches" in out.getvalue() and "1 escalations" in out.getvalue()
    t.refresh_from_db()
    assert t.escalated_at is not None
    from clientwise.service.tasks import sla_check

    result = sla_check.enqueue()  # the immediate backend in tests
    assert result.return_value == {"warnings": 0, "breaches": 0, "escalations": 0}
