"""Forecast and funnel arithmetic, exact to the cent, over what the user may see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from clientwise.sales import queries, services
from clientwise.sales.models import Opportunity, StageVisit


def stage(position):
    return services.default_pipeline().stages.get(position=position)


@pytest.fixture
def month():
    return timezone.localdate().replace(day=1)


def test_weighted_pipeline_by_month_rep_and_team_and_attainment(org, make_opp, make_customer, month):
    nxt = (month + dt.timedelta(days=32)).replace(day=1)
    a1 = make_opp(actor=org.rep_a, amount="1000.00", expected_close=month + dt.timedelta(days=5))  # 10 %
    a2 = make_opp(actor=org.rep_a, amount="333.33", expected_close=nxt)
    services.move_opportunity(actor=org.rep_a, opportunity_id=a2.pk, stage_id=stage(3).pk)  # 60 %
    b1 = make_opp(actor=org.rep_b, customer=make_customer(owner=org.rep_b), amount="2000.00", expected_close=month)
    services.move_opportunity(actor=org.rep_b, opportunity_id=b1.pk, stage_id=stage(4).pk)  # 90 %
    won = make_opp(actor=org.rep_a, amount="500.00", expected_close=month)
    services.move_opportunity(actor=org.rep_a, opportunity_id=won.pk, stage_id=stage(5).pk)
    lost = make_opp(actor=org.rep_a, amount="9999.00", expected_close=month)
    services.move_opportunity(actor=org.rep_a, opportunity_id=lost.pk, stage_id=stage(6).pk, lost_reason="price")
    services.update_opportunity(actor=org.rep_a, opportunity_id=a1.pk, data={"probability": 25})
    services.set_quota(actor=org.admin, user_id=org.rep_a.pk, month=month, amount="2000")

    fc = queries.forecast(org.admin, start=month, months=2)
    by_month = {r["label"]: r for r in fc["by_month"]}
    this, second = by_month[month.strftime("%Y-%m")], by_month[nxt.strftime("%Y-%m")]
    # 1000 × 25 % + 2000 × 90 % = 250 + 1800; 333.33 × 60 % = 199.998 → 200.00
    assert (this["weighted"], this["pipeline"], this["open_count"]) == (Decimal("2050.00"), Decimal("3000.00"), 2)
    assert (second["weighted"], second["pipeline"]) == (Decimal("200.00"), Decimal("333.33"))
    assert (this["won"], this["quota"], this["attainment"]) == (Decimal("500.00"), Decimal("2000.00"), 0.25)
    reps = {r["key"]: r for r in fc["by_owner"]}
    assert reps[org.rep_a.pk]["weighted"] == Decimal("450.00") and reps[org.rep_a.pk]["won"] == Decimal("500.00")
    assert reps[org.rep_b.pk]["weighted"] == Decimal("1800.00")
    teams = {r["key"]: r for r in fc["by_team"]}
    assert teams[org.team_a.pk]["weighted"] == Decimal("450.00") and teams[org.team_b.pk]["quota"] == Decimal("0")
    assert fc["total"]["weighted"] == Decimal("2250.00")

    mine = queries.forecast(org.rep_a, start=month, months=2)  # a rep sees only their customers' deals
    assert mine["total"]["weighted"] == Decimal("450.00")
    assert [r["key"] for r in mine["by_owner"]] == [org.rep_a.pk]
    team = queries.forecast(org.admin, start=month, months=2, team=org.team_b.pk)
    assert team["total"]["weighted"] == Decimal("1800.00")


def test_funnel_conversion_and_average_days(org, make_opp, monkeypatch):
    t0 = timezone.now()
    clock = {"now": t0}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])

    def at(days):
        clock["now"] = t0 + dt.timedelta(days=days)

    opps = [make_opp(name=f"O{i}") for i in range(4)]
    # O0: first call (2 days) → meeting (4 days) → won; O1: first call (4 days) → proposal (skips) → lost;
    # O2: first call (6 days) → meeting, still there; O3: still in first call.
    at(2)
    services.move_opportunity(actor=org.rep_a, opportunity_id=opps[0].pk, stage_id=stage(1).pk)
    at(4)
    services.move_opportunity(actor=org.rep_a, opportunity_id=opps[1].pk, stage_id=stage(3).pk)
    at(6)
    services.move_opportunity(actor=org.rep_a, opportunity_id=opps[0].pk, stage_id=stage(5).pk)
    services.move_opportunity(actor=org.rep_a, opportunity_id=opps[2].pk, stage_id=stage(1).pk)
    at(7)
    services.move_opportunity(actor=org.rep_a, opportunity_id=opps[1].pk, stage_id=stage(6).pk,
                              lost_reason="competitor")
    fn = queries.funnel(org.rep_a, services.default_pipeline())
    rows = {r["stage"].position: r for r in fn["stages"]}
    assert [rows[p]["reached"] for p in range(6)] == [4, 3, 2, 2, 1, 1]
    assert rows[0]["conversion"] == 0.75 and rows[1]["conversion"] == pytest.approx(2 / 3)
    assert rows[2]["conversion"] == 1.0 and rows[4]["conversion"] == 1.0 and rows[5]["conversion"] is None
    assert rows[0]["avg_days"] == 4.0  # (2 + 4 + 6) / 3 finished stays
    assert rows[1]["avg_days"] == 4.0  # O0's 4 days; O2 is still there
    assert rows[3]["avg_days"] == 3.0
    assert (fn["won"], fn["lost"], fn["open"], fn["win_rate"]) == (1, 1, 2, 0.5)
    assert fn["lost_reasons"][0]["reason"] == "competitor"
    assert StageVisit.objects.filter(left_at__isnull=True).count() == 4
    other = queries.funnel(org.rep_b, services.default_pipeline())  # sees none of these customers
    assert other["total"] == 0 and all(r["avg_days"] is None and r["reached"] == 0 for r in other["stages"])


def test_board_columns_count_and_weight(org, make_opp):
    make_opp(amount="100.00")
    o = make_opp(amount="300.00")
    services.move_opportunity(actor=org.rep_a, opportunity_id=o.pk, stage_id=stage(3).pk)
    cols = {c["stage"].position: c for c in queries.board(org.rep_a, services.default_pipeline(),
                                                          queries.OpportunityFilters())}
    assert (cols[0]["count"], cols[0]["total"], cols[0]["weighted"]) == (1, Decimal("100.00"), Decimal("10.00"))
    assert (cols[3]["count"], cols[3]["weighted"]) == (1, Decimal("180.00"))
    assert Opportunity.objects.count() == 2


def test_pivot_measures_match_the_forecast_and_follow_visibility(org, make_opp, make_customer, month):
    """The opportunities fact in the reports pivot engine: same weighted pipeline as the forecast, by owner and
    close month, scoped to what the user may see."""
    from clientwise.reports.runner import run_pivot

    a1 = make_opp(actor=org.rep_a, amount="1000.00", expected_close=month + dt.timedelta(days=5))
    services.move_opportunity(actor=org.rep_a, opportunity_id=a1.pk, stage_id=stage(3).pk)  # 60 %
    b1 = make_opp(actor=org.rep_b, customer=make_customer(owner=org.rep_b), amount="2000.00", expected_close=month)
    services.move_opportunity(actor=org.rep_b, opportunity_id=b1.pk, stage_id=stage(4).pk)  # 90 %
    won = make_opp(actor=org.rep_a, amount="500.00", expected_close=month)
    services.move_opportunity(actor=org.rep_a, opportunity_id=won.pk, stage_id=stage(5).pk)
    lost = make_opp(actor=org.rep_a, amount="9999.00", expected_close=month)
    services.move_opportunity(actor=org.rep_a, opportunity_id=lost.pk, stage_id=stage(6).pk, lost_reason="price")

    measures = ["weighted_pipeline", "pipeline_amount", "won_amount", "won_deals", "lost_deals", "win_rate"]
    result = run_pivot(actor=org.admin, spec={"fact": "opportunities", "measures": measures,
                                              "rows": ["opp_owner", "opp_close_month"], "engine": "database"},
                       use_cache=False)
    assert result.engine in ("sqlite", "postgresql")
    total = result.cells[-1][0]
    assert float(total["weighted_pipeline"]) == pytest.approx(600 + 1800)
    assert float(total["pipeline_amount"]) == pytest.approx(3000)
    assert float(total["won_amount"]) == pytest.approx(500)
    assert (total["won_deals"], total["lost_deals"], total["win_rate"]) == (1, 1, 0.5)
    fc = queries.forecast(org.admin, start=month, months=1)
    assert float(fc["total"]["weighted"]) == pytest.approx(float(total["weighted_pipeline"]))
    months = {r["keys"][1] for r in result.rows if len(r["keys"]) == 2}
    assert months == {month.isoformat()}

    mine = run_pivot(actor=org.rep_a, spec={"fact": "opportunities", "measures": ["weighted_pipeline",
                                                                                 "opportunities"],
                                            "engine": "database"}, use_cache=False)
    assert float(mine.cells[0][0]["weighted_pipeline"]) == pytest.approx(600)  # rep_b's deal is not visible
    assert mine.cells[0][0]["opportunities"] == 3


def test_stage_members_follow_the_pipeline_not_the_alphabet(org, make_opp, month):
    from clientwise.reports.runner import run_pivot

    first = services.default_pipeline().stages.order_by("position").first()
    for position in (6, 3, 5, 4, first.position):
        opp = make_opp(actor=org.rep_a, amount="100.00", expected_close=month)
        if position != first.position:
            kw = {"lost_reason": "price"} if position == 6 else {}
            services.move_opportunity(actor=org.rep_a, opportunity_id=opp.pk, stage_id=stage(position).pk, **kw)
    spec = {"fact": "opportunities", "measures": ["opportunities"], "rows": ["opp_stage"], "engine": "database"}
    result = run_pivot(actor=org.admin, spec=spec, use_cache=False)
    assert [r["keys"][0] for r in result.rows if r["keys"]] == [first.pk] + [stage(p).pk for p in (3, 4, 5, 6)]
    assert [r["labels"][0] for r in result.rows if r["keys"]] != sorted(r["labels"][0] for r in result.rows
                                                                        if r["keys"])
    top = run_pivot(actor=org.admin, spec={**spec, "measures": ["opportunities", "pipeline_amount"], "top_n": {
        "dimension": "opp_stage", "n": 2, "by": "pipeline_amount", "others": True}}, use_cache=False)
    leaves = [r for r in top.rows if r["keys"]]
    assert len(leaves) == 3 and leaves[-1]["labels"] == ["Others"]  # one Others row, not one per stage
    assert sum(c[0]["opportunities"] for c, r in zip(top.cells, top.rows, strict=True) if r["keys"]) == 5


def test_opportunities_group_by_customer_dimensions(org, make_opp, make_customer, month):
    from clientwise.reports import semantic
    from clientwise.reports.runner import run_pivot

    make_opp(actor=org.rep_a, customer=make_customer(city="杭州市"), amount="100.00", expected_close=month)
    make_opp(actor=org.rep_a, customer=make_customer(city="杭州市"), amount="200.00", expected_close=month)
    make_opp(actor=org.rep_b, customer=make_customer(owner=org.rep_b, city="上海市"), amount="400.00",
             expected_close=month)
    ids = {d.id for d in semantic.dimensions_for("opportunities")}
    assert {"customer_city", "customer_owner", "customer_team", "value_tier"} <= ids
    spec = {"fact": "opportunities", "measures": ["opportunities", "pipeline_amount"],
            "rows": ["customer_city", "customer_owner"], "engine": "database", "totals": True}
    result = run_pivot(actor=org.admin, spec=spec, use_cache=False)
    got = {tuple(r["labels"]): c[0] for r, c in zip(result.rows, result.cells, strict=True) if len(r["keys"]) == 2}
    assert {k[0]: (v["opportunities"], float(v["pipeline_amount"])) for k, v in got.items()} == {
        "杭州市": (2, 300.0), "上海市": (1, 400.0)}
    mine = run_pivot(actor=org.rep_a, spec=spec, use_cache=False)  # rep_a does not see rep_b's customer
    assert {r["labels"][0] for r in mine.rows if r["keys"]} == {"杭州市"}
