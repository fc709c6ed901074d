"""Routing: each rule condition, the default queue, senior agents and skills, round robin and least loaded."""

from __future__ import annotations

import pytest

from clientwise.commerce.tests.factories import ProductFactory, RegionFactory, StoreFactory
from clientwise.service import services
from clientwise.service.models import AgentProfile, Category, Queue, RoutingRule, Ticket
from clientwise.service.routing import RoutingInput, rule_matches
from clientwise.service.tests.conftest import set_score

pytestmark = pytest.mark.django_db


def ticket(org, customer, **kw):
    data = {"type": "inquiry", "channel": "phone", "subject": "A question"}
    data.update(kw)
    return services.create_ticket(actor=org.agent, customer_id=customer.pk, **data)


@pytest.mark.parametrize(("field", "rule_value", "matching", "other"), [
    ("ticket_type", "complaint", {"ticket_type": "complaint"}, {"ticket_type": "inquiry"}),
    ("value_tiers", "AB", {"value_tier": "B"}, {"value_tier": "C"}),
    ("min_churn_probability", 0.5, {"churn_probability": 0.5}, {"churn_probability": 0.49}),
])
def test_rule_conditions(desk, field, rule_value, matching, other):
    rule = RoutingRule(name="r", queue=desk.vip, **{field: rule_value})
    assert rule_matches(rule, RoutingInput(**{"ticket_type": "inquiry", **matching}))
    assert not rule_matches(rule, RoutingInput(**{"ticket_type": "inquiry", **other}))


def test_churn_rule_does_not_match_unscored_customers(desk):
    rule = RoutingRule(name="r", queue=desk.vip, min_churn_probability=0.5)
    assert not rule_matches(rule, RoutingInput(ticket_type="inquiry", churn_probability=None))


def test_unmatched_ticket_goes_to_the_default_queue(org, desk, customer):
    RoutingRule.objects.create(name="complaints", ticket_type="complaint", queue=desk.vip)
    t = ticket(org, customer)
    assert t.queue == desk.general and t.routed_by is None
    assert t.assignee_id in (org.agent.pk, org.manager_a.pk)
    assert t.status == Ticket.Status.OPEN


def test_type_rule(org, desk, customer):
    rule = RoutingRule.objects.create(name="complaints", ticket_type="complaint", queue=desk.vip)
    t = ticket(org, customer, type="complaint")
    assert (t.queue, t.routed_by) == (desk.vip, rule)
    assert t.assignee_id == org.manager_a.pk  # the only agent of the VIP desk


def test_category_rule_and_category_skill(org, desk, customer):
    billing = Category.objects.create(code="billing", name="Billing", skill="billing")
    rule = RoutingRule.objects.create(name="billing", category=billing, queue=desk.general)
    t = ticket(org, customer, category_id=billing.pk)
    assert t.routed_by == rule
    assert t.assignee_id == org.manager_a.pk  # the only one with the billing skill


def test_product_rule(org, desk, customer):
    product, other = ProductFactory(), ProductFactory()
    rule = RoutingRule.objects.create(name="tv", product=product, queue=desk.vip)
    assert ticket(org, customer, product_id=product.pk).routed_by == rule
    assert ticket(org, customer, product_id=other.pk).routed_by is None


def test_region_rule_uses_the_ticket_store(org, desk, customer):
    north = RegionFactory()
    store = StoreFactory(branch__region=north)
    elsewhere = StoreFactory()
    rule = RoutingRule.objects.create(name="north", region=north, queue=desk.vip)
    assert ticket(org, customer, store_id=store.pk).routed_by == rule
    assert ticket(org, customer, store_id=elsewhere.pk).routed_by is None


def test_high_value_customers_go_to_senior_agents(org, desk, customer):
    rule = RoutingRule.objects.create(name="A tier", value_tiers="A", queue=desk.general, senior_only=True,
                                      priority="high", position=1)
    set_score(customer.pk, tier="A", churn=0.1)
    for _ in range(3):  # least loaded would spread these; senior_only keeps them with the senior agent
        t = ticket(org, customer)
        assert (t.routed_by, t.assignee_id) == (rule, org.manager_a.pk)
        assert t.priority == "high" and t.value_tier == "A"


def test_at_risk_customers_rule(org, desk, customer, other_customer):
    rule = RoutingRule.objects.create(name="at risk", min_churn_probability=0.6, queue=desk.vip)
    set_score(customer.pk, tier="C", churn=0.8)
    set_score(other_customer.pk, tier="C", churn=0.2)
    assert ticket(org, customer).routed_by == rule
    assert ticket(org, other_customer).routed_by is None


def test_rules_are_tried_in_order(org, desk, customer):
    RoutingRule.objects.create(name="later", ticket_type="complaint", queue=desk.general, position=20)
    first = RoutingRule.objects.create(name="first", ticket_type="complaint", queue=desk.vip, position=10)
    RoutingRule.objects.create(name="inactive", ticket_type="complaint", queue=desk.general, position=1,
                               active=False)
    assert ticket(org, customer, type="complaint").routed_by == first


def test_least_loaded(org, desk, customer):
    got = [ticket(org, customer).assignee_id for _ in range(4)]
    # Both agents of the general queue start empty: the tickets alternate as the loads even out.
    assert sorted(got) == sorted([org.agent.pk, org.manager_a.pk] * 2)
    assert Ticket.objects.filter(assignee=org.agent).count() == 2


def test_round_robin(org, desk, customer, rep_agent):
    desk.vip.agents.add(desk.agent, rep_agent)
    RoutingRule.objects.create(name="all to vip", queue=desk.vip)
    ids = sorted([org.agent.pk, org.manager_a.pk, rep_agent.user_id])
    got = [ticket(org, customer).assignee_id for _ in range(4)]
    assert got == [ids[0], ids[1], ids[2], ids[0]]
    assert Queue.objects.get(pk=desk.vip.pk).last_assigned_id == ids[0]


def test_full_or_unavailable_agents_are_skipped(org, desk, customer):
    AgentProfile.objects.filter(pk=desk.senior.pk).update(available=False)
    AgentProfile.objects.filter(pk=desk.agent.pk).update(max_open=1)
    first = ticket(org, customer)
    second = ticket(org, customer)
    assert first.assignee_id == org.agent.pk
    assert second.assignee_id is None and second.status == Ticket.Status.NEW
    assert "left unassigned" in second.routing_note


@pytest.fixture
def rep_agent(org):
    from clientwise.accounts.services import create_user

    user = create_user(username="agent2", password="Test-pass-2026", role="service_agent", display_name="agent2")
    return AgentProfile.objects.create(user=user)
