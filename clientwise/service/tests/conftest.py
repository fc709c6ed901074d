"""Service test fixtures: a small service desk on top of the shared `org` (queues, agents, SLA policies, a
calendar) and customers made through the customers services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from clientwise.customers.tests.factories import make_customer


@dataclass
class Desk:
    general: object
    vip: object
    calendar: object
    senior: object  # AgentProfile of org.manager_a (senior)
    agent: object  # AgentProfile of org.agent


@pytest.fixture
def desk(org):
    return make_desk(org)


def make_desk(org) -> Desk:
    """Queues General (default, least loaded, escalations to manager_a) and VIP (round robin), agent (general) and
    manager_a (senior, both queues), an office calendar 9-18 Monday to Friday, SLA policies per priority."""
    from clientwise.service.models import AgentProfile, BusinessCalendar, Queue, SLAPolicy

    general = Queue.objects.create(code="general", name="General", is_default=True,
                                   strategy=Queue.Strategy.LEAST_LOADED, escalation_manager=org.manager_a)
    vip = Queue.objects.create(code="vip", name="VIP desk", strategy=Queue.Strategy.ROUND_ROBIN)
    calendar = BusinessCalendar.objects.create(name="Office", opens=dt.time(9), closes=dt.time(18),
                                               workdays="12345")
    agent = AgentProfile.objects.create(user=org.agent, skills="appliances")
    agent.queues.set([general])
    senior = AgentProfile.objects.create(user=org.manager_a, senior=True, skills="appliances,billing")
    senior.queues.set([general, vip])
    for priority, first, resolve in (("urgent", 30, 240), ("high", 60, 480), ("normal", 240, 1440),
                                     ("low", 480, 2880)):
        SLAPolicy.objects.create(name=f"{priority} any", priority=priority, first_response_minutes=first,
                                 resolution_minutes=resolve, calendar=calendar)
    return Desk(general=general, vip=vip, calendar=calendar, senior=senior, agent=agent)


@pytest.fixture
def customer(org):
    return make_customer(org.admin, "王芳", mobile="13812345678", owner_id=org.rep_a.pk,
                         team_id=org.team_a.pk)


@pytest.fixture
def other_customer(org):
    return make_customer(org.admin, "李雷", mobile="13912345678", owner_id=org.rep_b.pk,
                         team_id=org.team_b.pk)


def set_score(customer_id: int, *, tier: str = "", churn: float | None = None, action: str = ""):
    """Make a current scoring batch (if none) with this customer's tier and churn probability."""
    from clientwise.analytics.models import CustomerScore, ScoringBatch

    batch = ScoringBatch.objects.filter(is_current=True).first()
    if batch is None:
        batch = ScoringBatch.objects.create(as_of=dt.date.today(), status="done", is_current=True)
    CustomerScore.objects.update_or_create(batch=batch, customer_id=customer_id, defaults={
        "as_of": batch.as_of, "value_tier": tier, "churn_probability": churn, "next_action": action})
    return batch
