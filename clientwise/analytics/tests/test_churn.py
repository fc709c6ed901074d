"""Churn: labels on the time split, the calibrated classifier, SHAP reasons, validation metrics, demo data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from clientwise.analytics import churn
from clientwise.analytics.churn import (
    churn_windows,
    feature_matrix,
    fit_churn,
    format_reason,
    gains_table,
    make_churn_labels,
    score_churn,
    validate_churn,
)

UTC = dt.UTC


def ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


# ---------------------------------------------------------------------------------------------------------------
# Labels and windows


def test_labels_are_for_customers_who_bought_before_the_cutoff_and_windows_are_half_open():
    orders = pd.DataFrame({
        "customer_id": [1, 1, 2, 3, 4, 5, 5, 6],
        "order_id": range(8),
        "ordered_at": [ts("2026-01-05"), ts("2026-03-10"),  # 1: bought again inside the window
                       ts("2025-12-01"),  # 2: never again
                       ts("2026-03-01"),  # 3: first order inside the window: not in the population
                       ts("2026-03-01 00:00"),  # 4: exactly at the cut-off counts as the window, not history
                       ts("2025-11-01"), ts("2026-03-31"),  # 5: next order exactly at the window end: churned
                       ts("2026-02-28 23:59")],  # 6: a minute before the cut-off: history
        "amount": 1.0,
    })
    y = make_churn_labels(orders, ts("2026-03-01"), 30)
    assert y.name == "churned" and y.index.name == "customer_id"
    assert y.to_dict() == {1: 0, 2: 1, 5: 1, 6: 1}
    assert y.dtype == np.int8


def test_labels_accept_a_naive_cutoff_and_can_leave_out_long_gone_customers():
    orders = pd.DataFrame({"customer_id": [1, 2, 2], "order_id": [1, 2, 3],
                           "ordered_at": [ts("2024-01-01"), ts("2026-02-01"), ts("2026-03-15")],
                           "amount": 1.0})
    assert make_churn_labels(orders, dt.datetime(2026, 3, 1), 30).to_dict() == {1: 1, 2: 0}
    assert make_churn_labels(orders, "2026-03-01", 30, active_within_days=365).to_dict() == {2: 0}
    naive = orders.assign(ordered_at=orders["ordered_at"].dt.tz_localize(None))
    assert make_churn_labels(naive, ts("2026-03-01"), 30).to_dict() == {1: 1, 2: 0}


def test_windows_train_two_horizons_back_and_validate_one_back():
    w = churn_windows(dt.date(2026, 7, 1), 90)
    assert w.score_cutoff == pd.Timestamp("2026-07-01")
    assert w.valid_cutoff == pd.Timestamp("2026-04-02")
    assert w.train_cutoff == pd.Timestamp("2026-01-02")
    assert w.horizon_days == 90


# ---------------------------------------------------------------------------------------------------------------
# Synthetic customers whose risk is known


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A feature frame in the contract's shape; churn risk rises with days since the last purchase (relative
    to the customer's rhythm) and falls with frequency. Returns (X, y, true probability)."""
    rng = np.random.default_rng(seed)
    freq = rng.poisson(3, n).astype(float)
    gap = rng.gamma(2.0, 30.0, n)
    since = rng.exponential(90, n).round()
    T = since + freq * gap + rng.uniform(0, 30, n)
    logit = -1.0 + 1.2 * np.log1p(since / gap) - 0.35 * freq
    prob = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < prob).astype(np.int8)
    orders = freq + 1
    monetary = rng.gamma(2.0, 100.0, n)
    X = pd.DataFrame({
        "customer_id": np.arange(1, n + 1, dtype=np.int64), "frequency": freq,
        "recency_days": (T - since).round(), "T_days": T.round(), "monetary": monetary,
        "orders_total": orders, "revenue_total": orders * monetary, "margin_total": orders * monetary * 0.2,
        "orders_90d": rng.poisson(0.5, n), "orders_365d": rng.poisson(1.5, n),
        "revenue_365d": monetary * rng.poisson(1.5, n), "margin_365d": monetary * 0.2,
        "days_since_last": since, "tenure_days": T + 10, "mean_gap_days": np.where(freq > 0, gap, np.nan),
        "n_categories": rng.integers(1, 5, n), "returns_365d": rng.poisson(0.1, n),
        "web_share": rng.random(n), "kind": np.where(rng.random(n) < 0.05, "organization", "person"),
        "urban_rural": rng.choice(["urban", "rural", ""], n),
        "age": np.where(rng.random(n) < 0.2, np.nan, 40.0),
        "an_extra_column": "ignored",
    })
    return X, y, prob


@pytest.fixture(scope="module")
def fitted():
    Xt, yt, _ = synthetic(6000, 1)
    Xv, yv, pv = synthetic(4000, 2)
    return fit_churn(Xt, yt, Xv, yv, seed=0), Xv, yv, pv


def test_feature_matrix_derives_columns_and_reads_decimals():
    X = pd.DataFrame({"days_since_last": [60, 10, 5], "mean_gap_days": [20.0, np.nan, 0.0],
                      "kind": ["organization", "person", None], "urban_rural": ["urban", "rural", ""],
                      "monetary": [Decimal("12.50"), Decimal("3"), None]})
    m = feature_matrix(X, ["gap_ratio", "is_organization", "is_urban", "monetary"])
    np.testing.assert_array_equal(m[:, 0], [3.0, np.nan, np.nan])
    np.testing.assert_array_equal(m[:, 1], [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(m[:, 2], [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(m[:, 3], [12.5, 3.0, np.nan])
    with pytest.raises(ValueError):
        feature_matrix(pd.DataFrame({"age": ["forty"]}), ["age"])


def test_the_model_learns_the_risk_and_is_calibrated_on_a_later_window(fitted):
    model, Xv, yv, pv = fitted
    assert model.feature_cols == list(churn.DEFAULT_FEATURES)  # every default feature (derived ones too)
    assert model.calibration == "platt"  # fewer than 1000 customers of a class in the calibration holdout
    assert model.n_train + model.n_calibration == 6000 and model.n_calibration == 1500
    v = model.validation
    # The true probability is the best any model can do; the fit comes close and beats recency alone.
    best = roc_auc_score(yv, pv)
    assert v["auc"] > best - 0.02
    assert v["auc"] > v["baseline_auc"] + 0.03
    assert v["lift_top_decile"] > v["baseline_lift_top_decile"]
    assert v["calibration_error"] < 0.04
    assert v["brier"] < v["brier_reference"]
    assert v["n"] == 4000 and v["positives"] == int(yv.sum())
    assert v["base_rate"] == pytest.approx(yv.mean())
    prob = model.predict(Xv)
    assert v["brier"] == pytest.approx(np.mean((prob - yv) ** 2))
    assert v["auc"] == pytest.approx(roc_auc_score(yv, prob))
    assert sum(b["n"] for b in v["calibration"]) == 4000
    for b in v["calibration"]:
        assert b["lower"] <= b["mean_predicted"] <= b["upper"]
    gains = v["gains"]
    assert [g["decile"] for g in gains] == list(range(1, 11))
    captured = [g["captured"] for g in gains]
    assert captured == sorted(captured) and captured[-1] == pytest.approx(1.0)
    assert gains[0]["lift"] == v["lift_top_decile"]
    assert gains[-1]["cumulative_lift"] == pytest.approx(1.0)
    assert gains[0]["baseline_lift"] == v["baseline_lift_top_decile"]
    params = model.parameters()
    assert params["trees"] == model.best_iteration > 0
    assert {r["feature"] for r in params["importance"]} == set(model.feature_cols)
    assert sum(r["gain_share"] for r in params["importance"]) == pytest.approx(1.0)


def test_the_validation_window_does_not_reach_the_fit():
    Xt, yt, _ = synthetic(3000, 3)
    Xv, yv, _ = synthetic(2000, 4)
    a = fit_churn(Xt, yt, Xv, yv, seed=5)
    b = fit_churn(Xt, yt, Xv, 1 - yv, seed=5)
    c = fit_churn(Xt, yt, seed=5)
    np.testing.assert_array_equal(a.predict(Xv), b.predict(Xv))
    np.testing.assert_array_equal(a.predict(Xv), c.predict(Xv))
    assert c.validation is None
    assert a.validation["auc"] == pytest.approx(1 - b.validation["auc"])


def test_isotonic_calibration_keeps_the_boosters_ranking():
    Xt, yt, _ = synthetic(8000, 5)
    model = fit_churn(Xt, yt, seed=0, calibration="isotonic")
    assert model.calibration == "isotonic"
    Xv, yv, _ = synthetic(3000, 6)
    raw, cal = model.raw_probability(Xv), model.predict(Xv)
    assert roc_auc_score(yv, cal) == pytest.approx(roc_auc_score(yv, raw), abs=1e-12)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(cal[order]) >= 0)
    assert cal.min() >= 0 and cal.max() <= 1


def test_big_train_windows_are_subsampled_by_class():
    Xt, yt, _ = synthetic(5000, 7)
    model = fit_churn(Xt, yt, seed=0, max_train_rows=2000)
    assert model.n_train + model.n_calibration == 2000
    assert model.train_base_rate == pytest.approx(yt.mean(), abs=0.001)


def test_one_class_or_misaligned_labels_are_refused():
    X, y, _ = synthetic(200, 8)
    with pytest.raises(ValueError, match="both"):
        fit_churn(X, np.zeros(200))
    with pytest.raises(ValueError, match="labels"):
        fit_churn(X, y[:100])


# ---------------------------------------------------------------------------------------------------------------
# Reasons


def test_reasons_are_the_largest_shap_contributions_pushing_risk_up(fitted):
    model, Xv, _, _ = fitted
    prob, reasons = score_churn(model, Xv)
    np.testing.assert_array_equal(prob, model.predict(Xv))
    assert len(reasons) == len(Xv)
    m = feature_matrix(Xv, model.feature_cols)
    contrib = model.booster.predict(m, num_iteration=model.best_iteration, pred_contrib=True)
    # SHAP values add up to the booster's log-odds: they explain the score, not something else.
    np.testing.assert_allclose(contrib.sum(axis=1), churn._logit(model.raw_probability(m)), atol=1e-6)
    lists = reasons.to_lists()
    for i in range(0, len(Xv), 97):
        row = contrib[i, :-1]
        expected = [model.feature_cols[j] for j in np.argsort(-row, kind="stable")[:3] if row[j] > 0]
        assert [r["feature"] for r in lists[i]] == expected
        for r in lists[i]:
            j = model.feature_cols.index(r["feature"])
            assert r["contribution"] == pytest.approx(row[j], abs=1e-4) and r["contribution"] > 0
            assert r["value"] == (None if np.isnan(m[i, j]) else m[i, j])
            assert r["label"] == format_reason(r["feature"], m[i, j])
    # The riskiest customers are mostly explained by how long they have been away.
    top = np.argsort(-prob)[:200]
    firsts = [lists[i][0]["feature"] for i in top]
    assert sum(f in ("days_since_last", "gap_ratio") for f in firsts) > 150


def test_reasons_for_only_the_selected_rows(fitted):
    model, Xv, _, _ = fitted
    prob, _ = score_churn(model, Xv, reasons=False)
    mask = prob >= np.quantile(prob, 0.9)
    _, reasons = score_churn(model, Xv, reasons_for=mask)
    lists = reasons.to_lists()
    assert all(lists[i] for i in np.flatnonzero(mask))
    assert not any(lists[i] for i in np.flatnonzero(~mask))
    assert reasons.to_lists(rows=np.flatnonzero(mask)[:5]) == [lists[i] for i in np.flatnonzero(mask)[:5]]
    _, all_reasons = score_churn(model, Xv)
    full = all_reasons.to_lists()
    # 4000 rows, below MAX_EXPLAINED: every row is explained (here each has some risk-raising feature).
    assert all(full)
    assert [lists[i] for i in np.flatnonzero(mask)] == [full[i] for i in np.flatnonzero(mask)]
    # Above max_explained only the riskiest are explained.
    _, capped = score_churn(model, Xv, max_explained=100)
    explained = {i for i, r in enumerate(capped.to_lists()) if r}
    assert explained == set(np.argsort(-prob, kind="stable")[:100].tolist())


def test_reason_labels_read_like_sentences():
    assert format_reason("days_since_last", 214.0) == "no purchase for 214 days"
    assert format_reason("gap_ratio", 3.04) == "3.0× their usual gap since the last purchase"
    assert format_reason("orders_90d", 0.0) == "0 orders in the last 90 days"
    assert format_reason("revenue_365d", 1234.5) == "revenue 1,234.50 in the last 12 months"
    assert format_reason("web_share", 0.25) == "25% of orders online"
    assert format_reason("is_organization", 1.0) == "organization"
    assert format_reason("is_urban", 0.0) == "rural"
    assert format_reason("age", float("nan")) == "age unknown"
    assert format_reason("age", 41.5) == "age 41.5"
    assert format_reason("some_new_feature", 2.0) == "some new feature 2"


# ---------------------------------------------------------------------------------------------------------------
# Gains with ties


def test_gains_split_ties_evenly_instead_of_by_row_order():
    y = np.array([1, 0] * 50, dtype=float)
    flat = gains_table(np.zeros(100), y)
    assert [g["lift"] for g in flat] == pytest.approx([1.0] * 10)
    assert [g["captured"] for g in flat] == pytest.approx([0.1 * k for k in range(1, 11)])
    perfect = gains_table(y, y)  # the 50 churners first
    assert [g["captured"] for g in perfect] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1, 1, 1, 1, 1, 1])
    assert perfect[0]["lift"] == pytest.approx(2.0) and perfect[9]["lift"] == 0.0


def test_validation_metrics_by_hand():
    # Two customers of each class; the model is the fitted one, the baseline is given by hand.
    X, y, _ = synthetic(3000, 9)
    model = fit_churn(X, y, seed=0)
    Xv = X.iloc[:4]
    yv = np.array([1, 0, 1, 0])
    v = validate_churn(model, Xv, yv, baseline_score=np.array([4.0, 3.0, 2.0, 1.0]))
    assert v["baseline_auc"] == pytest.approx(0.75)  # pairs (1,0),(1,3),(2,3) ranked right; (2,1) wrong
    prob = model.predict(Xv)
    assert v["brier"] == pytest.approx(np.mean((prob - yv) ** 2))
    assert v["brier_reference"] == pytest.approx(0.25)
    assert v["n"] == 4 and v["positives"] == 2 and v["base_rate"] == 0.5


# ---------------------------------------------------------------------------------------------------------------
# Demo data: the model against the recency-only baseline


DEMO_NOW = dt.datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # midnight 2026-07-01 in Shanghai
LOCAL = "Asia/Shanghai"


def demo_frames():
    """Orders, lines, returns and customers of the generated business as plain frames."""
    from clientwise.commerce.models import Order, OrderLine, Return
    from clientwise.customers.models import Customer

    orders = pd.DataFrame(list(Order.objects.values_list(
        "customer_id", "id", "ordered_at", "amount", "cost", "channel__kind")),
        columns=["customer_id", "order_id", "ordered_at", "amount", "cost", "channel_kind"])
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"], utc=True)
    orders["amount"] = orders["amount"].astype(float)
    orders["margin"] = orders["amount"] - orders.pop("cost").astype(float)
    lines = pd.DataFrame(list(OrderLine.objects.values_list("customer_id", "order__ordered_at",
                                                            "product__category__code")),
                         columns=["customer_id", "ordered_at", "category"])
    lines["ordered_at"] = pd.to_datetime(lines["ordered_at"], utc=True)
    returns = pd.DataFrame(list(Return.objects.values_list("customer_id", "returned_at")),
                           columns=["customer_id", "returned_at"])
    returns["returned_at"] = pd.to_datetime(returns["returned_at"], utc=True)
    customers = pd.DataFrame(list(Customer.objects.values_list("id", "kind", "urban_rural", "birth_date",
                                                               "created_at")),
                             columns=["customer_id", "kind", "urban_rural", "birth_date", "created_at"])
    customers["created_at"] = pd.to_datetime(customers["created_at"], utc=True)
    return orders, lines, returns, customers


def demo_features(orders, lines, returns, customers, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The contract's per-customer feature frame as of `cutoff`, in pandas (the pipeline does it in SQL).

    Days are local calendar days; windows (90/365 days) end at the cut-off; only rows before it count."""
    o = orders[orders["ordered_at"] < cutoff]
    cid = o["customer_id"]
    day = o["ordered_at"].dt.tz_convert(LOCAL).dt.tz_localize(None).dt.floor("D")
    cut_day = cutoff.tz_convert(LOCAL).tz_localize(None).floor("D")
    since = (cut_day - day).dt.days
    purchase_days = pd.DataFrame({"c": cid, "d": day}).drop_duplicates().sort_values(["c", "d"])
    n_days = purchase_days.groupby("c").size()
    gaps = purchase_days.groupby("c")["d"].diff().dt.days
    first, last = day.groupby(cid).min(), day.groupby(cid).max()
    g = o.groupby(cid)
    f = pd.DataFrame({
        "frequency": n_days - 1,
        "recency_days": (last - first).dt.days,
        "T_days": (cut_day - first).dt.days,
        "monetary": g["amount"].mean(),
        "orders_total": g.size(),
        "revenue_total": g["amount"].sum(),
        "margin_total": g["margin"].sum(),
        "orders_90d": (since < 90).groupby(cid).sum(),
        "orders_365d": (since < 365).groupby(cid).sum(),
        "revenue_365d": o["amount"].where(since < 365, 0.0).groupby(cid).sum(),
        "margin_365d": o["margin"].where(since < 365, 0.0).groupby(cid).sum(),
        "days_since_last": (cut_day - last).dt.days,
        "mean_gap_days": gaps.groupby(purchase_days["c"]).mean(),
        "web_share": o["channel_kind"].isin(["web", "app"]).groupby(cid).mean(),
    })
    f["n_categories"] = lines[lines["ordered_at"] < cutoff].groupby("customer_id")["category"].nunique()
    returned = returns["returned_at"]
    recent = returns[(returned < cutoff) & (returned >= cutoff - pd.Timedelta(days=365))]
    f["returns_365d"] = recent.groupby("customer_id").size()
    f["returns_365d"] = f["returns_365d"].fillna(0)
    f = f.join(customers.set_index("customer_id"))
    f["tenure_days"] = (cutoff - f.pop("created_at")).dt.days
    f["age"] = (cut_day - pd.to_datetime(f.pop("birth_date"))).dt.days / 365.25
    f.index.name = "customer_id"
    return f.reset_index()


@pytest.mark.django_db
def test_on_demo_data_the_model_beats_recency_alone_on_a_later_window_and_on_the_simulated_future():
    """Train at now − 2H, validate at now − H (labels from the loaded history), then refit on the valid
    window, score as of now and compare with the held-out future the simulation kept (CustomerTruth)."""
    from clientwise.demo.generator import generate
    from clientwise.demo.models import CustomerTruth

    horizon = 90
    generate(customers=5000, seed=3, now=DEMO_NOW, future_days=horizon)
    orders, lines, returns, customers = demo_frames()
    w = churn_windows(pd.Timestamp(DEMO_NOW), horizon)

    def window(cutoff):
        y = make_churn_labels(orders, cutoff, horizon)
        X = demo_features(orders, lines, returns, customers, cutoff).set_index("customer_id").loc[y.index]
        return X.reset_index(), y.to_numpy()

    Xt, yt = window(w.train_cutoff)
    Xv, yv = window(w.valid_cutoff)
    assert len(Xt) > 2500 and len(Xv) > 3500 and 0.3 < yv.mean() < 0.8
    model = fit_churn(Xt, yt, Xv, yv, seed=0)
    v = model.validation
    assert v["auc"] > v["baseline_auc"] + 0.01, v
    assert v["lift_top_decile"] >= v["baseline_lift_top_decile"] - 0.02
    assert v["calibration_error"] < 0.05
    assert v["brier"] < v["brier_reference"]

    # Score as of now with the procedure refitted on the latest complete window; the truth is the future.
    scoring = fit_churn(Xv, yv, seed=0)
    Xs = demo_features(orders, lines, returns, customers, pd.Timestamp(DEMO_NOW))
    future = dict(CustomerTruth.objects.values_list("customer_id", "future_orders"))
    ys = np.array([future[c] == 0 for c in Xs["customer_id"].tolist()], dtype=np.int8)
    f = validate_churn(scoring, Xs, ys)
    assert f["auc"] > f["baseline_auc"] + 0.01, f
    assert f["calibration_error"] < 0.05
    prob, reasons = score_churn(scoring, Xs)
    lists = reasons.to_lists()
    risky = np.argsort(-prob)[:100]
    assert all(lists[i] for i in risky)
    assert {lists[i][0]["feature"] for i in risky} & {"days_since_last", "gap_ratio"}
