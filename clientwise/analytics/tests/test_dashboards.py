"""Read-side aggregates of the analytics pages and API on hand-built scores and orders (exact numbers)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from clientwise.analytics import dashboards
from clientwise.analytics.models import CustomerScore, ModelRun, RunStatus, ScoringBatch
from clientwise.commerce.models import Channel
from clientwise.commerce.tests.factories import CategoryFactory, ChannelFactory, ProductFactory
from clientwise.core.errors import DomainError

REASONS_A3 = [
    {"feature": "days_since_last", "label": "no purchase for 214 days", "value": 214.0, "contribution": 0.8},
    {"feature": "gap_ratio", "label": "3.5× their usual gap", "value": 3.456, "contribution": 0.5},
    {"feature": "orders_90d", "label": "0 orders in the last 90 days", "value": 0.0, "contribution": -0.1},
    {"feature": "mystery", "label": "something odd", "value": 1, "contribution": 0.2},
    {"feature": "is_urban", "label": "rural", "value": 0.0, "contribution": 0.3},
]


def month_shift(day: dt.date, months: int) -> dt.date:
    years, month0 = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + years, month0 + 1, 1)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day.replace(day=5), dt.time(hour)))


@dataclass
class World:
    org: object
    a1: object
    a2: object
    a3: object
    a4: object
    b1: object
    batch: ScoringBatch
    old_batch: ScoringBatch
    product: object
    this_month: dt.date


def make_score(batch, customer, **values) -> CustomerScore:
    return CustomerScore.objects.create(batch=batch, customer=customer, as_of=batch.as_of, **values)


def build_world(org) -> World:
    """Five customers: a1–a4 owned by rep_a (team A), b1 by rep_b (team B); revenue 1000/400/300/200/100 from
    orders two and one months ago; a current batch of scores and an older batch that must never show."""
    from clientwise.commerce.services import create_order
    from clientwise.customers.services import create_customer

    ChannelFactory(code="store", name="Store", kind=Channel.Kind.STORE)
    ChannelFactory(code="web", name="Web shop", kind=Channel.Kind.WEB)
    product = ProductFactory(list_price=Decimal("100.00"), category=CategoryFactory(code="CAT-A", name="Shampoo"))
    this_month = timezone.localdate().replace(day=1)
    m2, m1 = month_shift(this_month, -2), month_shift(this_month, -1)

    def customer(actor, name, mobile, province):
        return create_customer(actor=actor, data={"name": name, "province": province}, mobile=mobile)

    a1 = customer(org.rep_a, "Alice Wang", "13800000001", "上海")
    a2 = customer(org.rep_a, "Bob Li", "13800000002", "上海")
    a3 = customer(org.rep_a, "Carol Zhang", "13800000003", "浙江")
    a4 = customer(org.rep_a, "Dan Liu", "13800000004", "江苏")
    b1 = customer(org.rep_b, "Eve Chen", "13800000005", "浙江")

    def order(c, units, when):
        create_order(actor=org.admin, customer_id=c.pk, lines=[{"product_id": product.pk, "quantity": units}],
                     ordered_at=at(when))

    order(a1, 6, m2)
    order(a1, 4, m1)
    order(a2, 4, m2)
    order(a3, 3, m1)
    order(a4, 2, m1)
    order(b1, 1, m2)

    today = timezone.localdate()
    old = ScoringBatch.objects.create(as_of=today - dt.timedelta(days=30), status=RunStatus.DONE, customers=5)
    for c in (a1, a2, a3, a4, b1):
        make_score(old, c, clv=Decimal("99999.00"), churn_probability=0.99, value_tier="A", rfm_r=1, rfm_f=5,
                   rfm_segment="lost")
    batch = ScoringBatch.objects.create(as_of=today, status=RunStatus.DONE, is_current=True, customers=5,
                                        horizon_days=365)
    make_score(batch, a1, rfm_r=5, rfm_f=5, rfm_m=5, rfm_segment="champions", clv=Decimal("5000.00"),
               churn_probability=0.10, p_alive=0.95, value_tier="A", acquisition_channel="store",
               immediate_value=Decimal("420.00"), potential_value=Decimal("4580.00"), expected_purchases=3.2,
               next_purchase_on=today + dt.timedelta(days=12),
               next_purchase_categories=[{"category": "CAT-A", "date": (today + dt.timedelta(days=20)).isoformat()}],
               recommendations=[{"product_id": product.pk, "sku": product.sku, "category": "CAT-A", "score": 0.42,
                                 "reason": "often bought with what they bought"}])
    make_score(batch, a2, rfm_r=4, rfm_f=3, rfm_m=4, rfm_segment="loyal", clv=Decimal("2000.00"),
               churn_probability=0.40, p_alive=0.7, value_tier="B", acquisition_channel="web", next_action="offer")
    make_score(batch, a3, rfm_r=2, rfm_f=2, rfm_m=3, rfm_segment="at_risk", clv=Decimal("1500.00"),
               churn_probability=0.80, p_alive=0.3, value_tier="B", acquisition_channel="store", next_action="call",
               churn_reasons=REASONS_A3, next_purchase_on=today - dt.timedelta(days=3))
    make_score(batch, a4, rfm_r=1, rfm_f=1, rfm_m=1, rfm_segment="lost", clv=Decimal("100.00"),
               churn_probability=0.95, p_alive=0.05, value_tier="D", acquisition_channel="web",
               next_action="win_back")
    make_score(batch, b1, rfm_r=5, rfm_f=1, rfm_m=2, rfm_segment="new", clv=Decimal("300.00"),
               churn_probability=0.60, p_alive=0.8, value_tier="C", acquisition_channel="store", next_action="offer")
    return World(org=org, a1=a1, a2=a2, a3=a3, a4=a4, b1=b1, batch=batch, old_batch=old, product=product,
                 this_month=this_month)


@pytest.fixture
def world(org) -> World:
    return build_world(org)


CHURN_RUN_METRICS = {
    "n": 1000, "positives": 300, "base_rate": 0.3, "auc": 0.81, "baseline_auc": 0.74,
    "lift_top_decile": 2.4, "baseline_lift_top_decile": 2.0,
    "gains": [{"decile": i, "customers_share": i / 10, "captured": min(1.0, 0.24 * i), "rate": 0.3,
               "lift": 2.4 if i == 1 else 1.0, "cumulative_lift": 1.0, "baseline_captured": min(1.0, 0.2 * i),
               "baseline_lift": 2.0 if i == 1 else 1.0, "baseline_cumulative_lift": 1.0} for i in range(1, 11)],
    "calibration": [{"lower": 0.0, "upper": 0.1, "n": 400, "mean_predicted": 0.05, "observed": 0.06},
                    {"lower": 0.5, "upper": 0.6, "n": 100, "mean_predicted": 0.55, "observed": 0.5}],
    "calibration_error": 0.02, "brier": 0.15, "log_loss": 0.45,
}
BGNBD_RUN_METRICS = {
    "holdout": {"bins": [{"frequency": 0, "customers": 50, "predicted": 0.4, "actual": 0.35},
                         {"frequency": 1, "customers": 30, "predicted": 1.1, "actual": 1.2}],
                "predicted_total": 53.0, "actual_total": 53.5},
    "mae": 0.31,
}


def make_run(batch, model, metrics, **kw) -> ModelRun:
    return ModelRun.objects.create(batch=batch, model=model, as_of=batch.as_of, status=RunStatus.DONE,
                                   metrics=metrics, **kw)


# --- Scope and the current batch ----------------------------------------------------------------------------------


def test_scores_read_only_the_current_batch_and_only_visible_customers(world):
    org = world.org
    assert dashboards.current_batch() == world.batch
    assert set(dashboards.scores(org.analyst).values_list("customer_id", flat=True)) == {
        world.a1.pk, world.a2.pk, world.a3.pk, world.a4.pk, world.b1.pk}
    # manager_a sees team A only; a sales rep has no analytics.view at all.
    assert set(dashboards.scores(org.manager_a).values_list("customer_id", flat=True)) == {
        world.a1.pk, world.a2.pk, world.a3.pk, world.a4.pk}
    assert dashboards.scores(org.rep_a).count() == 0
    assert dashboards.scores(org.norole).count() == 0


def test_nothing_without_a_current_batch(org):
    ScoringBatch.objects.create(as_of=timezone.localdate(), status=RunStatus.RUNNING)
    assert dashboards.current_batch() is None
    assert dashboards.scores(org.analyst).count() == 0
    assert dashboards.summary(org.analyst)["customers"] == 0


def test_summary_exact(world):
    s = dashboards.summary(world.org.analyst)
    assert s["customers"] == 5
    assert s["clv"] == Decimal("8900.00")
    assert s["avg_clv"] == Decimal("1780.00")
    assert s["high_risk"] == 3  # a3 0.80, a4 0.95, b1 0.60
    assert s["high_risk_clv"] == Decimal("1900.00")
    assert s["tiers"] == {"A": 1, "B": 2, "C": 1, "D": 1}
    assert s["tiered"] == 5
    assert s["avg_p_alive"] == pytest.approx((0.95 + 0.7 + 0.3 + 0.05 + 0.8) / 5)

    m = dashboards.summary(world.org.manager_a)
    assert (m["customers"], m["clv"], m["high_risk"], m["high_risk_clv"]) == (4, Decimal("8600.00"), 2,
                                                                                Decimal("1600.00"))


def test_archived_customers_leave_the_aggregates(world):
    from clientwise.customers.services import archive_customer

    archive_customer(actor=world.org.admin, customer_id=world.a4.pk)
    assert dashboards.summary(world.org.analyst)["customers"] == 4


# --- Value concentration ------------------------------------------------------------------------------------------


def test_value_concentration_top_20_percent_and_curve(world):
    c = dashboards.value_concentration(world.org.analyst)
    assert c["customers"] == 5
    assert c["revenue"] == Decimal("2000.00")
    assert c["top_customers"] == 1
    assert c["top_revenue"] == Decimal("1000.00")
    assert c["top_share"] == pytest.approx(0.5)
    assert c["curve"] == [[0.0, 0.0], [0.2, 0.5], [0.4, 0.7], [0.6, 0.85], [0.8, 0.95], [1.0, 1.0]]


def test_value_concentration_in_a_managers_scope(world):
    c = dashboards.value_concentration(world.org.manager_a)
    assert (c["customers"], c["revenue"], c["top_customers"]) == (4, Decimal("1900.00"), 1)
    assert c["top_share"] == pytest.approx(1000 / 1900)
    assert c["curve"][-1] == [1.0, 1.0]
    assert dashboards.value_concentration(world.org.rep_a)["customers"] == 0


def test_value_concentration_groups_when_there_are_many_customers(org):
    from clientwise.customers.models import Customer, CustomerStats

    # 40 customers with revenue 1..40: NTILE(20) makes 20 groups of 2; the top 20 % are 8 customers.
    made = Customer.objects.bulk_create([Customer(name=f"C{i}") for i in range(1, 41)])
    CustomerStats.objects.bulk_create([CustomerStats(customer=c, revenue=Decimal(i)) for i, c in enumerate(made, 1)])
    c = dashboards.value_concentration(org.analyst)
    total = sum(range(1, 41))
    assert c["top_customers"] == 8
    assert c["top_revenue"] == Decimal(sum(range(33, 41)))
    assert len(c["curve"]) == 21
    assert c["curve"][1] == [0.05, round((40 + 39) / total, 4)]
    assert c["curve"][4] == [0.2, round(sum(range(33, 41)) / total, 4)]


# --- RFM, segments, cohorts, CLV by channel and region ---------------------------------------------------------------


def test_rfm_grid_counts_and_revenue(world):
    grid = dashboards.rfm_grid(world.org.analyst)
    assert grid["customers"] == 5
    assert grid["max"] == 1
    assert [(c["r"], c["f"], c["customers"], c["revenue"]) for c in grid["cells"]] == [
        (1, 1, 1, Decimal("200.00")), (2, 2, 1, Decimal("300.00")), (4, 3, 1, Decimal("400.00")),
        (5, 1, 1, Decimal("100.00")), (5, 5, 1, Decimal("1000.00"))]
    assert [(c["r"], c["f"]) for c in dashboards.rfm_grid(world.org.manager_a)["cells"]] == [
        (1, 1), (2, 2), (4, 3), (5, 5)]


def test_segments(world):
    rows = dashboards.segments(world.org.analyst)
    assert {r["code"]: (r["customers"], r["clv"]) for r in rows} == {
        "champions": (1, Decimal("5000.00")), "loyal": (1, Decimal("2000.00")), "at_risk": (1, Decimal("1500.00")),
        "lost": (1, Decimal("100.00")), "new": (1, Decimal("300.00"))}
    assert {r["code"]: r["label"] for r in rows}["at_risk"] == "At risk"


def test_cohort_retention(world):
    data = dashboards.cohort_retention(world.org.analyst)
    m2, m1 = month_shift(world.this_month, -2), month_shift(world.this_month, -1)
    assert data["cohorts"] == [{"month": m2.strftime("%Y-%m"), "customers": 3},
                               {"month": m1.strftime("%Y-%m"), "customers": 2}]
    cells = {(c["cohort"], c["offset"]): (c["customers"], round(c["rate"], 4)) for c in data["cells"]}
    # Cohort m2 = a1, a2, b1: all bought in their first month; only a1 bought again the month after.
    assert cells == {(0, 0): (3, 1.0), (0, 1): (1, 0.3333), (0, 2): (0, 0.0), (1, 0): (2, 1.0), (1, 1): (0, 0.0)}

    mine = dashboards.cohort_retention(world.org.manager_a)
    assert [c["customers"] for c in mine["cohorts"]] == [2, 2]
    assert dashboards.cohort_retention(world.org.rep_a)["cells"] == []


def test_clv_by_channel_and_region(world):
    by_channel = dashboards.clv_by_channel(world.org.analyst)
    assert [(r["code"], r["label"], r["customers"], r["clv"], r["avg_clv"]) for r in by_channel] == [
        ("store", "Store", 3, Decimal("6800.00"), Decimal("2266.67")),
        ("web", "Web shop", 2, Decimal("2100.00"), Decimal("1050.00"))]
    by_region = dashboards.clv_by_region(world.org.analyst)
    assert [(r["label"], r["customers"], r["clv"], r["avg_clv"]) for r in by_region] == [
        ("上海", 2, Decimal("7000.00"), Decimal("3500.00")), ("浙江", 2, Decimal("1800.00"), Decimal("900.00")),
        ("江苏", 1, Decimal("100.00"), Decimal("100.00"))]
    capped = dashboards.clv_by_region(world.org.analyst, limit=1)
    assert [(r["label"], r["customers"], r["clv"]) for r in capped] == [
        ("上海", 2, Decimal("7000.00")), ("Other", 3, Decimal("1900.00"))]


# --- Ranked lists ---------------------------------------------------------------------------------------------------


def names(page) -> list[str]:
    return [row.customer.name for row in page.items]


def test_churn_ranking_pages_through_every_visible_customer(world):
    user = world.org.analyst
    f = dashboards.ScoreFilters()
    p1 = dashboards.ranked_page(user, f, ranking="churn", size=2)
    assert names(p1) == ["Dan Liu", "Carol Zhang"]
    assert p1.prev_cursor is None
    p2 = dashboards.ranked_page(user, f, ranking="churn", cursor=p1.next_cursor, size=2)
    assert names(p2) == ["Eve Chen", "Bob Li"]
    p3 = dashboards.ranked_page(user, f, ranking="churn", cursor=p2.next_cursor, size=2)
    assert names(p3) == ["Alice Wang"]
    assert p3.next_cursor is None
    back = dashboards.ranked_page(user, f, ranking="churn", cursor=p3.prev_cursor, size=2)
    assert names(back) == ["Eve Chen", "Bob Li"]
    assert [r.text for r in p1.items[1].reasons] == [
        "No purchase for 214 days", "Already 3.5× their usual time between purchases", "Lives in a rural area"]


def test_clv_ranking_and_filters(world):
    user = world.org.analyst
    assert names(dashboards.ranked_page(user, dashboards.ScoreFilters(), ranking="clv")) == [
        "Alice Wang", "Bob Li", "Carol Zhang", "Eve Chen", "Dan Liu"]
    cases = {
        dashboards.ScoreFilters(tier="B"): ["Carol Zhang", "Bob Li"],
        dashboards.ScoreFilters(min_probability=0.5): ["Dan Liu", "Carol Zhang", "Eve Chen"],
        dashboards.ScoreFilters(owner=world.org.rep_b.pk): ["Eve Chen"],
        dashboards.ScoreFilters(team=world.org.team_a.pk): ["Dan Liu", "Carol Zhang", "Bob Li", "Alice Wang"],
        dashboards.ScoreFilters(team=world.org.branch.pk): ["Dan Liu", "Carol Zhang", "Eve Chen", "Bob Li", "Alice Wang"],
        dashboards.ScoreFilters(segment="at_risk"): ["Carol Zhang"],
        dashboards.ScoreFilters(r=5, f=1): ["Eve Chen"],
    }
    for f, expected in cases.items():
        assert names(dashboards.ranked_page(user, f, ranking="churn")) == expected, f


def test_ranking_is_scoped_and_rejects_a_bad_cursor(world):
    assert names(dashboards.ranked_page(world.org.manager_a, dashboards.ScoreFilters(), ranking="churn")) == [
        "Dan Liu", "Carol Zhang", "Bob Li", "Alice Wang"]
    with pytest.raises(DomainError) as exc:
        dashboards.ranked_page(world.org.analyst, dashboards.ScoreFilters(), cursor="not-a-cursor")
    assert exc.value.code == "invalid_cursor"


# --- The customer 360 card ---------------------------------------------------------------------------------------


def test_customer_score_card(world):
    card = dashboards.customer_score(world.a1.pk)
    assert card.as_of == world.batch.as_of
    assert (card.value_tier, card.clv, card.churn_probability, card.risk) == ("A", Decimal("5000.00"), 0.10, "low")
    assert card.segment_label == "Champions"
    assert card.action.code == "nurture"  # no action stored: nothing urgent
    assert card.next_purchase_in_days == 12
    assert [(c.code, c.name) for c in card.next_purchase_categories] == [("CAT-A", "Shampoo")]
    assert [(r.product_id, r.name, r.category, r.reason) for r in card.recommendations] == [
        (world.product.pk, world.product.name, "Shampoo", "often bought with what they bought")]

    a3 = dashboards.customer_score(world.a3.pk)
    assert (a3.risk, a3.action.code, a3.next_purchase_overdue_days) == ("high", "call", 3)
    assert len(a3.reasons) == 3


def test_customer_score_is_none_before_scoring_or_when_not_scored(org, world):
    from clientwise.customers.services import create_customer

    fresh = create_customer(actor=org.rep_a, data={"name": "New"}, mobile="13800000009")
    assert dashboards.customer_score(fresh.pk) is None
    ScoringBatch.objects.filter(is_current=True).update(is_current=False)
    assert dashboards.customer_score(world.a1.pk) is None


def test_plain_reasons():
    reasons = dashboards.plain_reasons(REASONS_A3, limit=5)
    assert [r.text for r in reasons] == [
        "No purchase for 214 days", "Already 3.5× their usual time between purchases", "Lives in a rural area",
        "Something odd"]
    money = dashboards.plain_reasons([{"feature": "revenue_365d", "value": 1234.5, "contribution": 0.1},
                                      {"feature": "web_share", "value": 0.25, "contribution": 0.05},
                                      {"feature": "no_label_feature", "value": 2, "contribution": 0.01}])
    assert [r.text for r in money] == ["Spent ¥1,234.50 in the last 12 months", "25% of orders placed online",
                                       "No label feature: 2"]
    assert dashboards.plain_reasons(None) == []
    assert dashboards.plain_reasons([{"bad": 1}, "x"]) == [dashboards.Reason("", "Unknown factor", None)]


# --- Model validation -------------------------------------------------------------------------------------------------


def test_validation_of_churn_metrics():
    v = dashboards.validation(CHURN_RUN_METRICS)
    assert (v.auc, v.baseline_auc, v.lift_top_decile, v.baseline_lift_top_decile) == (0.81, 0.74, 2.4, 2.0)
    assert len(v.gains) == 10
    assert v.gains[0] == {"decile": 1, "gain": 0.24, "lift": 2.4, "baseline_gain": 0.2, "baseline_lift": 2.0}
    assert v.gains[-1]["gain"] == 1.0
    assert v.calibration == [{"predicted": 0.05, "observed": 0.06, "count": 400.0},
                             {"predicted": 0.55, "observed": 0.5, "count": 100.0}]
    assert dict(v.scalars) == {"n": 1000, "positives": 300, "base_rate": 0.3, "calibration_error": 0.02,
                               "brier": 0.15, "log_loss": 0.45}
    assert v.other == []
    assert v.has_charts


def test_validation_of_holdout_and_unknown_shapes():
    v = dashboards.validation(BGNBD_RUN_METRICS)
    assert v.holdout == [{"label": "0", "predicted": 0.4, "actual": 0.35, "customers": 50.0},
                         {"label": "1", "predicted": 1.1, "actual": 1.2, "customers": 30.0}]
    assert v.holdout_key == "frequency"
    assert dict(v.scalars) == {"holdout.predicted_total": 53.0, "holdout.actual_total": 53.5, "mae": 0.31}
    # RFM's check: per segment at the calibration cut-off, the share who bought in the holdout (no prediction).
    rfm = dashboards.validation({"holdout": {"bins": [{"segment": "at_risk", "customers": 3, "actual": 0.2}]}})
    assert (rfm.holdout, rfm.holdout_key) == ([{"label": "At risk", "predicted": None, "actual": 0.2,
                                                "customers": 3.0}], "segment")
    # Parallel lists and plain numbers are read too; anything else is shown as JSON, never an error.
    w = dashboards.validation({"holdout": {"frequency": [0, 1], "predicted": [0.5, 1.5], "actual": [0.4, 1.6]},
                               "gains": [0.3, 0.5, 1.0], "weird": {"a": [1, 2]}, "auc": "n/a"})
    assert [(h["label"], h["predicted"], h["actual"]) for h in w.holdout] == [("0", 0.5, 0.4), ("1", 1.5, 1.6)]
    assert [(g["decile"], g["gain"]) for g in w.gains] == [(1, 0.3), (2, 0.5), (3, 1.0)]
    assert w.auc is None
    assert [k for k, _ in w.other] == ["weird"]
    assert dashboards.validation(None).has_charts is False
    assert dashboards.validation({"calibration": "broken", "holdout": [1, 2]}).has_charts is False


def test_shown_run_and_models_overview(world):
    churn = make_run(world.batch, "churn", CHURN_RUN_METRICS)
    older = make_run(world.old_batch, "churn", {"auc": 0.7}, started_at=timezone.now() - dt.timedelta(days=30))
    assert dashboards.shown_run("churn") == churn
    assert dashboards.shown_run("churn", older.pk) == older
    with pytest.raises(DomainError):
        dashboards.shown_run("bgnbd", older.pk)
    assert dashboards.shown_run("bgnbd") is None
    overview = {m["code"]: m for m in dashboards.models_overview()}
    assert overview["churn"]["headline"] == ("auc", 0.81)
    assert overview["bgnbd"]["run"] is None


def test_recommendation_reasons_are_worded_in_the_users_language(world):
    from django.utils import translation

    products = {world.product.pk: (world.product.sku, world.product.name)}
    rule = {"product_id": 1, "because_product_id": world.product.pk, "lift": 3.24, "confidence": 0.456,
            "reason": "bought X; lift 3.2, confidence 46%"}
    similar = {"product_id": 1, "because_product_id": world.product.pk, "similarity": 0.4567}
    with translation.override("en"):
        assert dashboards.recommendation_reason(rule, products) == (
            f"Bought {world.product.name}: customers who buy it also buy this (lift 3.2, confidence 46%)")
        assert dashboards.recommendation_reason(similar, products) == (
            f"Bought {world.product.name}: often bought by the same customers (similarity 0.46)")
        assert dashboards.recommendation_reason({"reason": "older text"}, products) == "older text"
    with translation.override("zh-hans"):
        text = dashboards.recommendation_reason(rule, products)
        assert world.product.name in text and "3.2" in text and "Bought" not in text


def test_the_card_counts_the_next_purchase_from_the_scoring_date(world):
    """A history scored where it ends: "overdue by 10 days" as of that day, not by hundreds counted from today."""
    as_of = timezone.localdate() - dt.timedelta(days=400)
    ScoringBatch.objects.update(is_current=False)
    batch = ScoringBatch.objects.create(as_of=as_of, status=RunStatus.DONE, is_current=True, customers=1)
    make_score(batch, world.a1, churn_probability=0.2, p_alive=0.8, value_tier="A", frequency=3,
               next_purchase_on=as_of - dt.timedelta(days=10))
    card = dashboards.customer_score(world.a1.pk)
    assert (card.as_of, card.next_purchase_in_days, card.next_purchase_overdue_days) == (as_of, -10, 10)
    assert card.reading.next_purchase == "overdue"
