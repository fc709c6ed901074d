"""A scoring run started by someone tells them that it finished (customers scored) or failed (the error); the
nightly run tells nobody."""

from __future__ import annotations

import pytest
from django.utils import translation

from clientwise.analytics.tasks import score_customers
from clientwise.analytics.tests.test_history import LAST, analytics_dir, imported  # noqa: F401 (fixtures)
from clientwise.notifications.models import Notification
from clientwise.notifications.queries import present

pytestmark = pytest.mark.django_db


def test_failed_scoring_tells_who_started_it(org):
    with pytest.raises(Exception, match="No customers had started"):
        score_customers.call(actor_id=org.analyst.pk, as_of=LAST.isoformat())
    (n,) = Notification.objects.all()
    assert (n.recipient_id, n.kind, n.url) == (org.analyst.pk, "job_failed", "/analytics/")
    assert n.params["error"].startswith("No customers had started by")
    with translation.override("en"):
        assert present(n).title == "Scoring failed"


def test_finished_scoring_tells_who_started_it_and_nightly_tells_nobody(org, imported):  # noqa: F811
    batch_id = score_customers.call(actor_id=org.analyst.pk, as_of=LAST.isoformat())
    (n,) = Notification.objects.all()
    assert (n.recipient_id, n.kind, n.target_id) == (org.analyst.pk, "job_done", batch_id)
    with translation.override("zh-hans"):
        assert present(n).body.startswith("已为 240 位客户评分（截至 2024-12-31")
    score_customers.call(as_of=LAST.isoformat())  # no actor: the nightly run or the CLI
    assert Notification.objects.count() == 1
