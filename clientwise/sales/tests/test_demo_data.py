"""Demo sales rows: every stage populated with a consistent history, tasks for the demo reps, key accounts with
share-of-wallet history; deterministic for a seed; removed with the demo."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count

from clientwise.core.extensions import DemoContext
from clientwise.sales import demo_data, queries
from clientwise.sales.models import (
    Activity,
    KeyAccount,
    Lead,
    Mention,
    Opportunity,
    Stage,
    StageVisit,
    WalletShare,
)

NOW = dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC)


def business(seed=5):
    from clientwise.demo.generator import generate

    return generate(customers=150, seed=seed, now=NOW, chunk_size=150)


def sales_fingerprint():
    return {
        "opps": list(Opportunity.objects.order_by("external_id").values_list(
            "external_id", "customer__name", "stage__position", "amount", "expected_close", "status", "lost_reason")),
        "visits": list(StageVisit.objects.order_by("opportunity__external_id", "entered_at").values_list(
            "opportunity__external_id", "stage__position", "entered_at", "left_at")),
        "leads": list(Lead.objects.order_by("external_id").values_list("external_id", "name", "status", "score")),
        "wallet": list(WalletShare.objects.order_by("external_id").values_list("account__customer__name", "period",
                                                                               "our_volume", "total_demand")),
    }


@pytest.mark.django_db
def test_demo_sales_rows_are_consistent_deterministic_and_deleted_with_the_demo(org):
    result = business()
    ctx = DemoContext(seed=result.seed, now=result.now, source="demo", staff=list(result.staff))
    counts = demo_data.generate(ctx)
    reps = [s for s in result.staff if s.role == "sales_rep"]
    assert counts["opportunities"] == Opportunity.objects.count() > 0
    assert counts["key accounts"] == KeyAccount.objects.count() > 0
    # Every stage of the default pipeline has opportunities.
    per_stage = dict(Opportunity.objects.values_list("stage__position").annotate(n=Count("id")))
    assert set(per_stage) == set(range(7))
    # Histories: one open stay per opportunity, ending in its current stage; stays chain without gaps.
    for opp in Opportunity.objects.all():
        visits = list(StageVisit.objects.filter(opportunity=opp).order_by("entered_at"))
        assert visits[0].stage.position == 0 and visits[-1].stage_id == opp.stage_id
        assert [v.left_at is None for v in visits].count(True) == 1 and visits[-1].left_at is None
        assert all(a.left_at == b.entered_at for a, b in zip(visits, visits[1:], strict=False))
        assert (opp.status == "lost") == (opp.stage.kind == Stage.Kind.LOST) and (opp.status == "lost") == bool(
            opp.lost_reason)
    assert Activity.objects.filter(assignee__username__in=[r.username for r in reps], done_at__isnull=True).exists()
    assert Mention.objects.exists()
    assert WalletShare.objects.values("account").annotate(n=Count("id")).filter(n=12).count() == counts["key accounts"]
    fn = queries.funnel(org.admin, Opportunity.objects.first().pipeline)
    assert fn["stages"][0]["reached"] == Opportunity.objects.count() and fn["stages"][0]["avg_days"] > 0
    first = sales_fingerprint()

    demo_data.delete("default")
    assert Opportunity.objects.count() == Lead.objects.count() == KeyAccount.objects.count() == 0
    assert Activity.objects.count() == StageVisit.objects.count() == 0
    demo_data.generate(ctx)
    assert sales_fingerprint() == first

    from clientwise.demo.generator import delete_demo_data

    delete_demo_data()
    assert Opportunity.objects.count() == Lead.objects.count() == KeyAccount.objects.count() == 0
