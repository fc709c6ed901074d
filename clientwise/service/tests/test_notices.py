"""What the service desk tells people: SLA warnings and breaches (once, however often the check runs), tickets
routed / assigned / escalated to someone, @mentions in internal notes only to colleagues who may open the ticket."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from clientwise.notifications.models import Notification
from clientwise.notifications.queries import present
from clientwise.service import services
from clientwise.service.tests.test_services import new_ticket

pytestmark = pytest.mark.django_db


def _rows(**kw):
    return list(Notification.objects.filter(**kw).order_by("id"))


def test_sla_warning_to_the_assignee_once(org, desk, customer):
    t = new_ticket(org, customer, priority="urgent")
    Notification.objects.all().delete()  # routing notices are tested below
    services.run_sla_check(now=t.response_warn_at + dt.timedelta(seconds=1))
    services.run_sla_check(now=t.response_warn_at + dt.timedelta(seconds=30))  # the periodic check runs again
    (n,) = _rows(kind="sla_warning")
    assert n.recipient_id == t.assignee_id
    assert (n.target_type, n.target_id, n.url) == ("service.ticket", t.pk, f"/service/tickets/{t.pk}/")
    assert n.params["clock"] == "response" and n.params["number"] == t.number
    with translation.override("en"):
        assert present(n).title == f"Ticket {t.number}: first response due soon"
    with translation.override("zh-hans"):
        assert present(n).title == f"工单 {t.number}：首次响应即将到期"


def test_sla_breach_to_assignee_and_escalation_manager_once(org, desk, customer):
    t = new_ticket(org, customer, priority="normal", opened_at=timezone.now() - dt.timedelta(days=30))
    Notification.objects.all().delete()
    services.run_sla_check(now=timezone.now())
    services.run_sla_check(now=timezone.now())
    breaches = _rows(kind="sla_breach")
    # Two breaches (response, resolution), each to the assignee and the general queue's escalation manager.
    assert sorted((n.params["clock"], n.recipient_id) for n in breaches) == sorted(
        (clock, uid) for clock in ("response", "resolution") for uid in {t.assignee_id, org.manager_a.pk})
    assert not _rows(kind="assignment", params__variant="escalated")  # the breach itself says it


def test_routed_and_assigned_tickets_tell_the_new_assignee(org, desk, customer):
    t = new_ticket(org, customer, actor=org.admin)
    (routed,) = _rows(kind="assignment")
    assert routed.recipient_id == t.assignee_id and routed.params["variant"] == "routed"
    other = org.manager_a if t.assignee_id == org.agent.pk else org.agent
    services.assign_ticket(actor=org.admin, ticket_id=t.pk, assignee_id=other.pk)
    n = _rows(kind="assignment", recipient=other)[-1]
    assert n.params["variant"] == "" and n.actor_id == org.admin.pk
    with translation.override("en"):
        assert present(n).title == f"admin assigned ticket {t.number} to you"
    count = Notification.objects.count()
    services.assign_ticket(actor=org.admin, ticket_id=t.pk, assignee_id=other.pk)  # no change: nobody is told
    services.assign_ticket(actor=other, ticket_id=t.pk, assignee_id=other.pk)
    assert Notification.objects.count() == count
    # Taking a ticket oneself tells nobody.
    t2 = new_ticket(org, customer, actor=org.admin)
    me = org.manager_a if t2.assignee_id == org.agent.pk else org.agent
    before = Notification.objects.count()
    services.assign_ticket(actor=me, ticket_id=t2.pk, assignee_id=me.pk)
    assert Notification.objects.count() == before


def test_manual_escalation_tells_the_manager(org, desk, customer):
    t = new_ticket(org, customer, actor=org.agent)
    services.escalate_ticket(actor=org.agent, ticket_id=t.pk, reason="angry customer")
    (n,) = _rows(kind="assignment", params__variant="escalated")
    assert n.recipient_id == org.manager_a.pk and n.actor_id == org.agent.pk


def test_mentions_in_internal_notes_only_reach_those_who_may_see_the_ticket(org, desk, customer):
    t = new_ticket(org, customer, actor=org.agent)
    Notification.objects.all().delete()
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="note",
                         body="@rep_a 客户说冰箱又坏了，@rep_b @marketer 请@manager_a看一下 @agent")
    mentioned = {n.recipient.username for n in _rows(kind="mention")}
    # rep_b (team B) cannot see this customer, the marketer has no service access, the author is not told.
    assert mentioned == {"rep_a", "manager_a"}
    n = _rows(kind="mention", recipient=org.rep_a)[0]
    assert n.params["record"] == "ticket" and n.params["excerpt"].startswith("@rep_a 客户说")
    with translation.override("en"):
        assert present(n).title == f"agent mentioned you on ticket {t.number}"
    # A reply to the customer is not a place for @mentions.
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="reply", body="@rep_a we are on it")
    assert len(_rows(kind="mention")) == 2
