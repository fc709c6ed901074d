"""Value: tiers by customer rank and by cumulative value, share of wallet, concentration and Lorenz curve."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from clientwise.analytics.value import (
    combined_value,
    share_of_wallet,
    tier_summary,
    value_concentration,
    value_tiers,
)


def test_tiers_by_customer_rank():
    immediate = np.arange(10, 0, -1, dtype=float)  # 10, 9, ..., 1
    tiers = value_tiers(immediate, np.zeros(10))
    # Top 10% A, next 20% B, next 30% C, the remaining 40% D.
    assert "".join(tiers) == "ABBCCCDDDD"
    # The order of the input does not matter.
    rng = np.random.default_rng(0)
    perm = rng.permutation(10)
    assert "".join(value_tiers(immediate[perm], np.zeros(10))) == "".join(tiers[perm])
    assert "".join(value_tiers(immediate, np.zeros(10), cuts=(0.2, 0.5, 0.9))) == "AABBBCCCCD"


def test_potential_value_counts_and_ties_share_a_tier():
    immediate = np.array([100.0, 0.0, 50.0, 50.0, 10.0, np.nan])
    potential = np.array([0.0, 120.0, 0.0, 0.0, np.nan, np.nan])
    combined = combined_value(immediate, potential)
    np.testing.assert_array_equal(combined, [100, 120, 50, 50, 10, 0])
    tiers = value_tiers(immediate, potential, cuts=(0.2, 0.5, 0.8))
    # Shares of customers strictly above: 120 → 0 and 100 → 1/6 (A, below 0.2); the two 50s tie at 2/6 (B);
    # 10 → 4/6 (C); no value → D.
    assert tiers.tolist() == ["A", "A", "B", "B", "C", "D"]
    # Weights move the balance: potential alone makes customer 2 the only one with value.
    assert value_tiers(immediate, potential, weights=(0.0, 1.0)).tolist() == ["D", "A", "D", "D", "D", "D"]


def test_tiers_by_cumulative_value():
    tiers = value_tiers([50, 30, 10, 5, 5], [0, 0, 0, 0, 0], by="value")
    # The first 50% of value: A; up to 80%: B; up to 95%: C (the tied 5s start at 90%); the rest D.
    assert tiers.tolist() == ["A", "B", "C", "C", "C"]
    assert value_tiers([50, 30, 10, 5, 5], [0] * 5, by="value", cuts=(0.5, 0.8, 0.9)).tolist() == [
        "A", "B", "C", "D", "D"]


def test_no_value_is_d_and_bad_cuts_are_refused():
    assert value_tiers([0, 0, -5], [0, 0, 0]).tolist() == ["D", "D", "D"]
    assert value_tiers([], []).tolist() == []
    assert value_tiers([Decimal("12.50"), None], [Decimal("1"), Decimal("0")]).tolist() == ["A", "D"]
    for cuts in [(0.5, 0.3, 0.9), (0.1, 0.2), (0, 0.5, 1), (0.1, 0.5, 1.5)]:
        with pytest.raises(ValueError):
            value_tiers([1, 2], [0, 0], cuts=cuts)
    with pytest.raises(ValueError):
        value_tiers([1, 2], [0, 0], by="revenue")
    with pytest.raises(ValueError):
        value_tiers([1, 2], [0], cuts=None)


def test_tier_summary():
    tiers = value_tiers(np.arange(10, 0, -1, dtype=float), np.ones(10))
    summary = {r["tier"]: r for r in tier_summary(tiers, np.arange(10, 0, -1), np.ones(10))}
    assert [summary[t]["customers"] for t in "ABCD"] == [1, 2, 3, 4]
    assert summary["A"]["immediate_value"] == 10 and summary["B"]["immediate_value"] == 17
    assert summary["D"]["potential_value"] == 4 and summary["D"]["share"] == pytest.approx(0.4)


def test_share_of_wallet_where_demand_is_known():
    ours = pd.Series([30.0, 80.0, 10.0, 50.0, 120.0, -5.0], index=[11, 12, 13, 14, 15, 16])
    demand = [100.0, 100.0, np.nan, 0.0, 100.0, 40.0]
    sow = share_of_wallet(ours, demand)
    assert sow.index.tolist() == [11, 12, 13, 14, 15, 16]
    np.testing.assert_allclose(sow["share"], [0.3, 0.8, np.nan, np.nan, 1.0, 0.0])
    np.testing.assert_allclose(sow["headroom"], [70.0, 20.0, np.nan, np.nan, 0.0, 40.0])
    assert sow["low"].tolist() == [False, False, False, False, False, True]  # 0.3 is not below 0.3
    assert sow["exceeds_demand"].tolist() == [False, False, False, False, True, False]
    assert share_of_wallet(ours, demand, low=0.5)["low"].tolist() == [True, False, False, False, False, True]
    plain = share_of_wallet(np.array([1.0]), np.array([4.0]))
    assert plain.index.tolist() == [0] and plain["share"].item() == 0.25 and plain["low"].item()


def test_value_concentration_by_hand():
    revenue = [1.0] * 8 + [6.0, 6.0]  # total 20; the top two customers (20%) bring 12
    c = value_concentration(revenue)
    assert c["n"] == 10 and c["total"] == 20
    assert c["top_revenue_share"] == pytest.approx(0.6)
    # Gini from the sorted values: 2·Σ i·x_i / (n·Σx) − (n+1)/n = 2·150/200 − 1.1 = 0.4.
    assert c["gini"] == pytest.approx(0.4)
    lorenz = {round(p["customers"], 2): p["revenue"] for p in c["lorenz"]}
    assert len(c["lorenz"]) == 21
    assert lorenz[0.0] == 0 and lorenz[1.0] == pytest.approx(1.0)
    assert lorenz[0.8] == pytest.approx(0.4) and lorenz[0.9] == pytest.approx(0.7)
    assert lorenz[0.4] == pytest.approx(0.2)
    # 80% of revenue = 16: the two big customers (12) and four of the small ones: 6 of 10 customers.
    assert c["customers_for_80_percent"] == pytest.approx(0.6)


def test_equal_revenue_is_not_concentrated_and_fractions_interpolate():
    c = value_concentration([5.0, 5.0, 5.0])
    assert c["gini"] == pytest.approx(0.0)
    assert c["top_revenue_share"] == pytest.approx(0.2)  # 0.6 of a customer out of 3
    assert all(p["revenue"] == pytest.approx(p["customers"]) for p in c["lorenz"])
    one = value_concentration([0.0, 0.0, 0.0, 10.0])
    # The top 20% of four customers is 0.8 of the one who has everything: 80%, as on the Lorenz curve.
    assert one["top_revenue_share"] == pytest.approx(0.8) and one["gini"] == pytest.approx(0.75)
    assert one["customers_for_80_percent"] == pytest.approx(0.2)


def test_concentration_ignores_nan_counts_returns_as_zero_and_survives_no_revenue():
    c = value_concentration(pd.Series([10.0, np.nan, -3.0, 10.0]))
    assert c["n"] == 3 and c["total"] == 20
    assert c["gini"] == pytest.approx(1 / 3)
    empty = value_concentration([])
    assert empty["top_revenue_share"] is None and empty["gini"] is None and len(empty["lorenz"]) == 21
    assert value_concentration([0.0, 0.0])["top_revenue_share"] is None
