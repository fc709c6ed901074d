"""What sales tells people: leads, opportunities and tasks given to someone else, @mentions in notes (only to those
who may see the record), and task reminders at the reminder and the due time (once, however often the sweep runs)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from clientwise.notifications.models import Notification
from clientwise.notifications.queries import present
from clientwise.sales import services
from clientwise.sales.reminders import send_due_reminders

pytestmark = pytest.mark.django_db


def _mine(user, kind):
    return list(Notification.objects.filter(recipient=user, kind=kind).order_by("id"))


def test_task_given_to_a_colleague_tells_them_not_oneself(org, make_customer):
    c = make_customer()
    act = services.create_activity(actor=org.manager_a, data={"kind": "task", "subject": "Send the quote",
                                                              "assignee_id": org.rep_a.pk, "customer_id": c.pk})
    (n,) = _mine(org.rep_a, "assignment")
    assert (n.target_type, n.target_id, n.url) == ("sales.activity", act.pk, f"/customers/{c.pk}/")
    with translation.override("en"):
        assert present(n).title == "manager_a assigned task Send the quote to you"
    services.create_activity(actor=org.rep_a, data={"kind": "task", "subject": "Mine", "customer_id": c.pk})
    assert Notification.objects.count() == 1


def test_opportunity_owner_change_tells_the_new_owner(org, make_customer, make_opp):
    opp = make_opp(actor=org.manager_a, customer=make_customer(owner=org.rep_a))  # owned by the customer's owner
    (first,) = _mine(org.rep_a, "assignment")
    assert first.params["record"] == "opportunity" and first.url == f"/sales/opportunities/{opp.pk}/"
    services.update_opportunity(actor=org.manager_a, opportunity_id=opp.pk, data={"owner_id": org.rep_a2.pk})
    (n,) = _mine(org.rep_a2, "assignment")
    assert n.actor_id == org.manager_a.pk and n.params["name"] == opp.name
    services.update_opportunity(actor=org.manager_a, opportunity_id=opp.pk, data={"amount": "5.00"})
    assert Notification.objects.count() == 2  # other changes tell nobody


def test_lead_routed_by_a_rule_tells_its_owner(org):
    from clientwise.sales.models import AssignmentRule

    rule = AssignmentRule.objects.create(name="All", condition=AssignmentRule.Condition.ANY, active=True)
    rule.members.set([org.rep_a2])
    lead = services.create_lead(actor=None, data={"name": "周先生", "mobile": "13800001111"})
    (n,) = _mine(org.rep_a2, "assignment")
    assert n.params["variant"] == "routed" and n.url == f"/sales/leads/{lead.pk}/"
    with translation.override("zh-hans"):
        assert present(n).title == "新线索 周先生 已分派给你"


def test_note_mentions_reach_only_who_may_see_it(org, make_customer):
    c = make_customer(owner=org.rep_a)
    note = services.add_note(actor=org.rep_a, body="@rep_a2 @rep_b 请@manager_a看一下报价 @agent", customer_id=c.pk)
    # rep_a2 (same team) sees only their own customers, rep_b neither; the service agent has no sales access.
    assert {n.recipient.username for n in Notification.objects.filter(kind="mention")} == {"manager_a"}
    n = _mine(org.manager_a, "mention")[0]
    assert (n.target_type, n.target_id, n.url) == ("sales.note", note.pk, f"/customers/{c.pk}/")
    assert n.params["record"] == "customer" and n.params["name"] == c.name


def test_reminders_at_reminder_and_due_time_once(org, make_customer):
    c = make_customer()
    now = timezone.now()
    act = services.create_activity(actor=org.rep_a, data={
        "kind": "task", "subject": "Call back 王总", "customer_id": c.pk,
        "remind_at": (now + dt.timedelta(minutes=10)).isoformat(), "due_at": (now + dt.timedelta(hours=1)).isoformat()})
    act.refresh_from_db()
    assert send_due_reminders(now=now) == 0  # nothing is due yet
    at_reminder = act.remind_at + dt.timedelta(seconds=5)
    assert send_due_reminders(now=at_reminder) == 1
    assert send_due_reminders(now=at_reminder + dt.timedelta(minutes=1)) == 0  # the next sweep: nothing new
    (n,) = _mine(org.rep_a, "task_reminder")
    assert n.params["variant"] == "reminder" and n.target_id == act.pk
    with translation.override("en"):
        item = present(n)
    assert item.title == "Reminder: Call back 王总"
    assert item.body == f"Due {timezone.localtime(act.due_at):%Y-%m-%d %H:%M}"
    assert send_due_reminders(now=act.due_at + dt.timedelta(seconds=5)) == 1
    due = _mine(org.rep_a, "task_reminder")[-1]
    assert due.params["variant"] == "due"
    with translation.override("zh-hans"):
        assert present(due).title == "已到期：Call back 王总"
    assert send_due_reminders(now=act.due_at + dt.timedelta(minutes=3)) == 0


def test_reminders_skip_done_tasks_and_old_moments(org, make_customer):
    c = make_customer()
    now = timezone.now()
    done = services.create_activity(actor=org.rep_a, data={"kind": "task", "subject": "Done already",
                                                           "customer_id": c.pk, "due_at": now.isoformat()})
    services.complete_activity(actor=org.rep_a, activity_id=done.pk)
    services.create_activity(actor=org.rep_a, data={"kind": "task", "subject": "Overdue for days", "customer_id": c.pk,
                                                    "due_at": (now - dt.timedelta(days=3)).isoformat()})
    assert send_due_reminders(now=now + dt.timedelta(minutes=1)) == 0


def test_reminder_task_and_periodic_registration(org, make_customer, settings):
    from clientwise.core import extensions
    from clientwise.sales import tasks

    assert "task_reminders" in {j.key for j in extensions.PERIODIC}
    c = make_customer()
    services.create_activity(actor=org.rep_a, data={"kind": "call", "subject": "Ring", "customer_id": c.pk,
                                                    "due_at": (timezone.now() - dt.timedelta(minutes=1)).isoformat()})
    assert tasks.task_reminders.call() == 1
    assert tasks.task_reminders.call() == 0


def test_each_sweep_covers_the_moments_since_the_previous_one(org, make_customer, settings):
    from django_tasks_db.models import DBTaskResult

    from clientwise.sales import tasks

    c = make_customer()
    now = timezone.now()
    services.create_activity(actor=org.rep_a, data={"kind": "task", "subject": "Quote", "customer_id": c.pk,
                                                    "due_at": (now - dt.timedelta(seconds=30)).isoformat()})
    assert send_due_reminders(now=now, since=now - dt.timedelta(seconds=10)) == 0  # the previous sweep's moment
    assert send_due_reminders(now=now, since=now - dt.timedelta(minutes=1)) == 1
    # The periodic chain hands its time on to the next run; the scheduler starts a chain without one.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    assert tasks.schedule_task_reminders(since=now) is not None
    assert tasks.schedule_task_reminders() is None  # one is waiting already
    queued = DBTaskResult.objects.get(task_path=tasks.TASK_PATH)
    assert queued.args_kwargs["kwargs"] == {"periodic": True, "since": now.isoformat()}
