"""Next purchase: customers on known cycles, overdue customers, shrinkage, replenishable categories."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clientwise.analytics.nextbuy import RESULT_COLUMNS, credibility_k, next_purchase

START = pd.Timestamp("2025-01-01 10:00", tz="UTC")
AS_OF = pd.Timestamp("2026-01-01", tz="UTC")


def make(rows: list[tuple[int, pd.Timestamp, str, bool]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders and lines from (customer, time, category, replenishable) rows, one line per order."""
    lines = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "category", "replenishable"])
    lines["order_id"] = np.arange(1, len(lines) + 1)
    lines["product_id"] = lines["category"].map(hash) % 1000
    lines["quantity"] = 1
    lines["amount"] = 10.0
    lines["margin"] = 2.0
    orders = lines[["customer_id", "order_id", "ordered_at", "amount"]].copy()
    return orders, lines


def cycle(customer: int, first: pd.Timestamp, every: list[float] | float, n: int, category: str = "TOYS",
          replenishable: bool = False) -> list[tuple]:
    gaps = every if isinstance(every, list) else [every] * (n - 1)
    times = [first]
    for g in gaps[: n - 1]:
        times.append(times[-1] + pd.Timedelta(days=g))
    return [(customer, t, category, replenishable) for t in times]


def population(seed: int = 0, n: int = 60) -> list[tuple]:
    """Background customers who come back about monthly (25-35 days, some jitter), so k can be estimated."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(1000, 1000 + n):
        mean = rng.uniform(25, 35)
        gaps = list(np.maximum(1, rng.normal(mean, 4, 8)).round())
        rows += cycle(c, START + pd.Timedelta(days=int(rng.integers(0, 60))), gaps, 9)
    return rows


def row(result: pd.DataFrame, customer: int, category: str | None = None) -> pd.Series:
    sel = result[(result["customer_id"] == customer)
                 & (result["category"].isna() if category is None else result["category"] == category)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_customers_on_known_cycles_get_the_next_date_within_a_few_days():
    rows = population()
    rows += cycle(1, START, 30, 11)  # exactly monthly
    rows += cycle(2, START + pd.Timedelta(days=200), [14, 16, 13, 15, 14, 15, 13, 16], 9)  # ~fortnightly
    last1 = START + pd.Timedelta(days=300)
    orders, lines = make(rows)
    result = next_purchase(orders, lines, AS_OF)
    assert list(result.columns) == RESULT_COLUMNS
    r1 = row(result, 1)
    assert r1["purchases"] == 11 and r1["own_interval_days"] == 30.0
    assert r1["last_purchase"] == pd.Timestamp(last1.date())
    assert abs(r1["interval_days"] - 30) < 1.5
    assert abs((r1["expected_date"] - pd.Timestamp((last1 + pd.Timedelta(days=30)).date())).days) <= 2
    assert r1["credibility"] > 0.7
    r2 = row(result, 2)
    assert r2["own_interval_days"] == pytest.approx(14.5)
    expected = pd.Timestamp((START + pd.Timedelta(days=200 + 116 + 14.5)).date())
    assert abs((r2["expected_date"] - expected).days) <= 3
    assert r2["spread_days"] < 6  # a regular customer has a narrow window
    assert r2["window_start"] <= r2["expected_date"] <= r2["window_end"]


def test_overdue_customers_keep_their_date_and_are_flagged():
    rows = population()
    rows += cycle(3, START, 30, 8)  # last purchase on day 210: due around day 240, as_of is day 365
    rows += cycle(4, AS_OF - pd.Timedelta(days=70), 30, 3)  # last purchase 10 days ago: not due yet
    orders, lines = make(rows)
    result = next_purchase(orders, lines, AS_OF)
    r3 = row(result, 3)
    assert r3["overdue"]
    assert -130 <= r3["days_until"] <= -120
    assert r3["expected_date"] < pd.Timestamp(AS_OF.date())
    r4 = row(result, 4)
    assert not r4["overdue"]
    assert 15 <= r4["days_until"] <= 25


def test_few_purchases_are_shrunk_towards_the_population_and_many_are_not():
    # Background: 200 Poisson buyers (exponential gaps, mean rates around 40 days): gaps vary a lot within a
    # customer, so one gap says little and k is large.
    rng = np.random.default_rng(2)
    rows = []
    for c in range(3000, 3200):
        mean = rng.gamma(4.0, 10.0)
        rows += cycle(c, START, list(np.maximum(1, rng.exponential(mean, 8)).round()), 9)
    rows += cycle(5, START, [100], 2)  # one gap of 100 days
    rows += cycle(6, START - pd.Timedelta(days=500), 100, 9)  # eight gaps of 100 days, the last before AS_OF
    orders, lines = make(rows)
    result = next_purchase(orders, lines, AS_OF)
    r5, r6 = row(result, 5), row(result, 6)
    assert r5["own_interval_days"] == 100 and r6["own_interval_days"] == 100
    assert 35 < r5["interval_days"] < 65  # pulled most of the way to the population
    assert r6["interval_days"] > r5["interval_days"] + 15  # more history, more of its own rhythm
    assert r5["credibility"] < 0.4 < r6["credibility"]
    exact = next_purchase(orders, lines, AS_OF, prior_strength=0)
    assert row(exact, 5)["interval_days"] == 100.0 and row(exact, 5)["credibility"] == 1.0
    k = 3.0
    fixed = next_purchase(orders, lines, AS_OF, prior_strength=k)
    assert row(fixed, 5)["credibility"] == pytest.approx(1 / (1 + k))
    assert row(fixed, 6)["credibility"] == pytest.approx(8 / (8 + k))


def test_one_purchase_is_not_enough_and_later_orders_and_same_day_orders_do_not_count():
    rows = population()
    rows += [(7, START, "TOYS", False)]
    rows += cycle(8, START, 30, 4)
    rows += [(8, START + pd.Timedelta(hours=3), "TOYS", False)]  # a second order on the first day
    rows += [(8, AS_OF + pd.Timedelta(days=1), "TOYS", False)]  # after as_of: the future
    orders, lines = make(rows)
    result = next_purchase(orders, lines, AS_OF)
    assert 7 not in set(result["customer_id"])
    r8 = row(result, 8)
    assert r8["purchases"] == 4 and r8["own_interval_days"] == 30.0
    assert r8["last_purchase"] == pd.Timestamp((START + pd.Timedelta(days=90)).date())
    assert len(next_purchase(orders, lines, AS_OF, min_orders=5).query("customer_id == 8")) == 0
    with pytest.raises(ValueError):
        next_purchase(orders, lines, AS_OF, min_orders=1)


def test_replenishable_categories_get_their_own_cycle():
    rows = population()
    # Customer 9 buys formula every 28 days and, in between, toys at irregular times.
    rows += cycle(9, START, 28, 12, "FORMULA", True)
    rows += [(9, START + pd.Timedelta(days=d), "TOYS", False) for d in (5, 50, 51, 130, 200, 290)]
    # Other formula buyers, so the category has a population of its own.
    rng = np.random.default_rng(1)
    for c in range(2000, 2030):
        rows += cycle(c, START + pd.Timedelta(days=int(rng.integers(0, 30))),
                      list(rng.normal(30, 3, 9).round()), 10, "FORMULA", True)
    orders, lines = make(rows)
    result = next_purchase(orders, lines, AS_OF)
    formula = row(result, 9, "FORMULA")
    assert abs(formula["interval_days"] - 28) < 1.5
    last = START + pd.Timedelta(days=28 * 11)
    assert abs((formula["expected_date"] - pd.Timestamp((last + pd.Timedelta(days=28)).date())).days) <= 2
    overall = row(result, 9)
    assert overall["purchases"] == 12 + 6 - 0  # toys on distinct days from formula
    assert overall["interval_days"] < 20
    assert set(result["category"].dropna()) == {"FORMULA"}  # toys are not replenishable


def test_a_configured_cycle_is_the_prior_for_categories_with_few_repeaters():
    rows = cycle(10, START, [20], 2, "INK", True) + cycle(11, START, [20], 2, "INK", True)
    rows += population()
    orders, lines = make(rows)
    plain = row(next_purchase(orders, lines, AS_OF, prior_strength=2), 10, "INK")
    configured = row(next_purchase(orders, lines, AS_OF, prior_strength=2, category_cycles={"INK": 80}),
                     10, "INK")
    assert plain["interval_days"] == pytest.approx(20.0)  # the population of two buyers is their own mean
    assert configured["interval_days"] == pytest.approx((1 * 20 + 2 * 80) / 3)


def test_days_are_local_calendar_days():
    # 23:30 UTC is the next morning in Shanghai: the two orders below are one day apart there, not two.
    rows = population() + [(12, pd.Timestamp("2025-06-01 23:30", tz="UTC"), "TOYS", False),
                           (12, pd.Timestamp("2025-06-03 01:00", tz="UTC"), "TOYS", False)]
    orders, lines = make(rows)
    utc = row(next_purchase(orders, lines, AS_OF, prior_strength=0), 12)
    local = row(next_purchase(orders, lines, AS_OF, prior_strength=0, tz="Asia/Shanghai"), 12)
    assert utc["own_interval_days"] == 2 and local["own_interval_days"] == 1
    assert local["last_purchase"] == pd.Timestamp("2025-06-03")


def test_credibility_k_recovers_the_variance_ratio():
    rng = np.random.default_rng(0)
    n_cust, n_gaps = 3000, 6
    means = rng.normal(40, 10, n_cust)  # between-customer variance 100
    gaps = rng.normal(means[:, None], 15, (n_cust, n_gaps))  # within variance 225: k = 2.25
    pop, k, _ = credibility_k(np.full(n_cust, n_gaps, float), gaps.mean(axis=1), gaps.var(axis=1, ddof=1))
    assert k == pytest.approx(2.25, rel=0.15)
    assert pop == pytest.approx(40, abs=0.6)
    _, k_none, _ = credibility_k(np.ones(5), np.full(5, 30.0), np.full(5, np.nan))
    assert np.isnan(k_none)


def test_no_orders_give_an_empty_frame():
    orders, lines = make(cycle(1, AS_OF + pd.Timedelta(days=1), 30, 3))  # all in the future
    result = next_purchase(orders, lines, AS_OF)
    assert result.empty and list(result.columns) == RESULT_COLUMNS


DEMO_NOW = dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_on_demo_data_habit_buyers_get_their_simulated_cycle():
    from clientwise.commerce.models import Order, OrderLine
    from clientwise.demo.generator import generate
    from clientwise.demo.models import CustomerTruth

    generate(customers=1500, seed=4, now=DEMO_NOW)
    orders = pd.DataFrame(list(Order.objects.values_list("customer_id", "id", "ordered_at", "amount")),
                          columns=["customer_id", "order_id", "ordered_at", "amount"])
    lines = pd.DataFrame(list(OrderLine.objects.values_list(
        "order_id", "customer_id", "order__ordered_at", "product_id", "product__category__code",
        "product__category__replenishable", "quantity", "amount")),
        columns=["order_id", "customer_id", "ordered_at", "product_id", "category", "replenishable",
                 "quantity", "amount"])
    for frame in (orders, lines):
        frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True)
    result = next_purchase(orders, lines, DEMO_NOW, tz="Asia/Shanghai")
    truth = pd.DataFrame(list(CustomerTruth.objects.filter(dropped_at__isnull=True).exclude(habit_category="")
                              .values_list("customer_id", "habit_category", "habit_cycle_days")),
                         columns=["customer_id", "category", "cycle"])
    habit = truth.merge(result, on=["customer_id", "category"])
    habit = habit[habit["purchases"] >= 4]
    assert len(habit) > 50
    error = (habit["interval_days"] - habit["cycle"]).abs()
    assert error.median() < 7, habit.describe()
    # Shrinkage helps the customers with little history more than it hurts.
    own_error = (habit["own_interval_days"] - habit["cycle"]).abs()
    assert error.mean() <= own_error.mean()
