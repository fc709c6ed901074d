"""What the customer record tells people: a new owner (one notice per new owner for a hand-over of many) and
@mentions in logged interactions, only to colleagues who may see the customer."""

from __future__ import annotations

import pytest
from django.utils import translation

from clientwise.customers import services
from clientwise.customers.tests.factories import make_customer
from clientwise.notifications.models import Notification
from clientwise.notifications.queries import present

pytestmark = pytest.mark.django_db


def test_interaction_mentions_only_reach_who_may_see_the_customer(org):
    c = make_customer(org.admin, "王芳", owner_id=org.rep_a.pk, team_id=org.team_a.pk)
    row = services.log_interaction(actor=org.rep_a, customer_id=c.pk, kind="call", subject="回访",
                                   body="客户想换货，@rep_b @rep_a2 请@manager_a处理 @agent")
    got = {n.recipient.username: n for n in Notification.objects.filter(kind="mention")}
    # rep_b (team B) and rep_a2 (own customers only) may not see 王芳; the manager and the service agent may.
    assert set(got) == {"manager_a", "agent"}
    n = got["manager_a"]
    assert (n.target_type, n.target_id, n.url) == ("customers.customer", c.pk, f"/customers/{c.pk}/")
    assert n.params["excerpt"].startswith("回访") and n.key.endswith(f"interaction:{row.pk}")
    with translation.override("zh-hans"):
        assert present(n).title == "rep_a 在客户 王芳 中提到了你"


def test_owner_change_tells_the_new_owner(org):
    c = make_customer(org.admin, "李雷", owner_id=org.rep_a.pk, team_id=org.team_a.pk)
    services.update_customer(actor=org.manager_a, customer_id=c.pk, data={"owner_id": org.rep_a2.pk})
    (n,) = Notification.objects.filter(recipient=org.rep_a2, kind="assignment")
    assert n.params["record"] == "customer" and n.url == f"/customers/{c.pk}/" and n.actor_id == org.manager_a.pk
    services.update_customer(actor=org.manager_a, customer_id=c.pk, data={"city": "上海"})
    assert Notification.objects.count() == 1


def test_hand_over_tells_each_new_owner_once_with_the_count(org):
    for i in range(5):
        make_customer(org.admin, f"C{i}", owner_id=org.rep_a.pk, team_id=org.team_a.pk)
    mapping = services.reassign_customers(actor=org.admin, from_user=org.rep_a, to_users=[org.rep_a2, org.rep_b],
                                          reason="rep_a left")
    got = {n.recipient_id: n for n in Notification.objects.filter(kind="assignment")}
    assert set(got) == {org.rep_a2.pk, org.rep_b.pk}
    assert got[org.rep_a2.pk].params["count"] == sum(1 for u in mapping.values() if u == org.rep_a2.pk) == 3
    assert got[org.rep_a2.pk].url == f"/customers/?owner={org.rep_a2.pk}"
    with translation.override("en"):
        assert present(got[org.rep_b.pk]).title == "admin handed 2 customers over to you"
