"""Demo sales rows: every stage populated with a consistent history, tasks for the demo reps, key accounts with
share-of-wallet history; deterministic for a seed; removed with the demo."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count

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


def run_demo(*, reset=False):
    """The `clientwise demo` command (by name: apps do not import the demo package), which calls our generate."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("demo", customers=150, seed=5, now="2026-07-01", quiet=True, data_only=True, reset=reset,
                 stdout=out)
    return out.getvalue()


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
    printed = run_demo()
    counts = {label: int(re.search(rf"{label}\s+([\d,]+)", printed).group(1).replace(",", ""))
              for label in ("opportunities", "key accounts", "leads")}
    reps = list(get_user_model().objects.filter(role="sales_rep", username__startswith="rep_"))
    assert counts["opportunities"] == Opportunity.objects.count() > 0
    assert counts["key accounts"] == KeyAccount.objects.count() > 0 and counts["leads"] == Lead.objects.count()
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
    # A key account's money goals fit what it really buys from us (issue 15: a ¥1.99M goal on a ¥34.5k account):
    # the annual framework contract is 1.1–1.6 × the last twelve months' volume (at least ¥10,000).
    from clientwise.sales.models import AccountGoal

    for goal in AccountGoal.objects.filter(target__isnull=False).select_related("account"):
        yearly = sum(w.our_volume for w in WalletShare.objects.filter(account=goal.account))
        assert goal.target <= max(Decimal("10000"), yearly * Decimal("1.6")) + 1000, (goal.account, goal.target, yearly)
        assert goal.target >= min(Decimal("10000"), yearly), (goal.account, goal.target, yearly)
    fn = queries.funnel(org.admin, Opportunity.objects.first().pipeline)
    assert fn["stages"][0]["reached"] == Opportunity.objects.count() and fn["stages"][0]["avg_days"] > 0
    first = sales_fingerprint()

    demo_data.delete("default")
    assert Opportunity.objects.count() == Lead.objects.count() == KeyAccount.objects.count() == 0
    assert Activity.objects.count() == StageVisit.objects.count() == 0
    run_demo(reset=True)  # the whole demo again, same seed: the same sales rows
    assert sales_fingerprint() == first
