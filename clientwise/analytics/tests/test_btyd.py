"""BG/NBD, Gamma-Gamma and CLV: recovery of known parameters on simulated data, agreement with the published
CDNOW estimates and with the `lifetimes` reference implementation (a dev dependency, imported only here)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from clientwise.analytics import btyd


def simulate_bgnbd(n: int, *, r: float, alpha: float, a: float, b: float, seed: int, t_range=(20.0, 80.0),
                   holdout: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Customers from the BG/NBD story: λ ~ Gamma(r, 1/α), p ~ Beta(a, b); the first purchase at 0, then the
    next after an Exp(λ) wait, and after each repeat purchase the customer leaves for good with probability p.
    Observation ends at T ~ Uniform(t_range). Returns (x, t_x, T) and the purchases in (T, T + holdout]."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(*t_range, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    future = np.zeros(n)
    now = np.zeros(n)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1.0 / lam[active])
        active = active[now[active] <= T[active] + holdout]
        seen = now[active] <= T[active]
        x[active[seen]] += 1
        t_x[active[seen]] = now[active[seen]]
        future[active[~seen]] += 1
        active = active[rng.random(active.size) >= p[active]]
    return x, t_x, T, future


def test_fit_recovers_the_parameters_of_simulated_customers():
    true = btyd.BGNBDParams(r=0.6, alpha=4.0, a=0.8, b=2.5)
    x, t_x, T, _ = simulate_bgnbd(60_000, r=true.r, alpha=true.alpha, a=true.a, b=true.b, seed=11)
    params, info = btyd.fit_bgnbd(x, t_x, T)
    assert info.converged and info.rows == 60_000
    for name, value in true.as_dict().items():
        assert getattr(params, name) == pytest.approx(value, rel=0.1), (name, params)
    # The fitted model reproduces the simulated customers' repeat purchases in aggregate.
    assert btyd.bgnbd_population_expected_purchases(params, T).sum() == pytest.approx(x.sum(), rel=0.02)


def test_conditional_expectation_predicts_the_simulated_future():
    """E[Y(t) | x, t_x, T] under the true parameters against what the simulated customers do next."""
    true = btyd.BGNBDParams(r=0.6, alpha=4.0, a=0.8, b=2.5)
    x, t_x, T, future = simulate_bgnbd(60_000, r=true.r, alpha=true.alpha, a=true.a, b=true.b, seed=5,
                                       holdout=30.0)
    predicted = btyd.bgnbd_expected_purchases(true, 30.0, x, t_x, T)
    assert predicted.sum() == pytest.approx(future.sum(), rel=0.03)
    for k in (0, 1, 2, 5):
        sel = x == k
        assert predicted[sel].mean() == pytest.approx(future[sel].mean(), rel=0.1, abs=0.02), k
    alive = btyd.bgnbd_p_alive(true, x, t_x, T)
    assert np.corrcoef(alive, future > 0)[0, 1] > 0.2


def test_gradient_matches_finite_differences():
    x, t_x, T, _ = simulate_bgnbd(2_000, r=0.5, alpha=3.0, a=1.2, b=3.0, seed=3)
    w = np.ones_like(x)
    theta = np.log([0.4, 0.3, 0.9, 2.0])
    data = btyd._BGNBDData(x, t_x / 8, T / 8, w)
    value, grad = btyd._bgnbd_objective(theta, data)
    assert value == pytest.approx(-btyd.bgnbd_log_likelihood(btyd.BGNBDParams(*np.exp(theta)), x, t_x / 8,
                                                               T / 8).mean())
    numeric = approx_fprime(theta, lambda th: btyd._bgnbd_objective(th, data)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)
    xg = np.maximum(x, 1)
    m = np.random.default_rng(1).gamma(4.0, 10.0, x.size)
    theta = np.log([3.0, 2.0, 5.0])
    gg = btyd._GGData(xg, m / 40, w)
    _, grad = btyd._gg_objective(theta, gg)
    numeric = approx_fprime(theta, lambda th: btyd._gg_objective(th, gg)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)


def test_unique_rows_give_the_same_fit_as_every_customer():
    x, t_x, T, _ = simulate_bgnbd(5_000, r=0.5, alpha=3.0, a=1.2, b=3.0, seed=7)
    # Whole weeks, as customers are usually summarised, so many patterns repeat.
    t_x, T = np.floor(t_x), np.ceil(T)
    (ux, utx, uT), counts, inverse = btyd.unique_rows(x, t_x, T)
    assert counts.sum() == 5_000 and ux.size < 4_000
    np.testing.assert_array_equal(ux[inverse], x)
    np.testing.assert_array_equal(uT[inverse], T)
    full, _ = btyd.fit_bgnbd(x, t_x, T)
    weighted, info = btyd.fit_bgnbd(ux, utx, uT, counts)
    assert info.rows == ux.size and info.customers == 5_000
    for name in ("r", "alpha", "a", "b"):
        assert getattr(weighted, name) == pytest.approx(getattr(full, name), rel=1e-6)


def test_inputs_are_checked():
    with pytest.raises(ValueError):
        btyd.fit_bgnbd([1, 2], [3, 1], [2, 5])  # t_x > T
    with pytest.raises(ValueError):
        btyd.fit_bgnbd([0], [1], [5])  # t_x must be 0 without repeat purchases
    with pytest.raises(ValueError):
        btyd.fit_bgnbd([1.5], [1], [5])
    with pytest.raises(ValueError):
        btyd.fit_gamma_gamma([0, 1], [10.0, 12.0])
    with pytest.raises(ValueError):
        btyd.gamma_gamma_expected_spend(btyd.GammaGammaParams(p=1.0, q=0.9, gamma=1.0), [1], [1.0])


# -- public data: CDNOW (Fader, Hardie & Lee 2005), as shipped with lifetimes ----------------------------------

lifetimes = pytest.importorskip("lifetimes")


def sig3(value: float) -> str:
    return f"{value:.3g}"


@pytest.fixture(scope="module")
def cdnow():
    from lifetimes.datasets import load_cdnow_summary

    return load_cdnow_summary()


@pytest.fixture(scope="module")
def cdnow_money():
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    return load_cdnow_summary_data_with_monetary_value()


@pytest.fixture(scope="module")
def reference_bgf(cdnow):
    return lifetimes.BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_bgnbd_matches_the_published_cdnow_estimates_and_lifetimes(cdnow, reference_bgf):
    params, info = btyd.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert info.converged
    # FHL (2005), table 1 / Hardie's note 004: r = 0.243, α = 4.414, a = 0.793, b = 2.426 (weeks).
    assert [sig3(v) for v in (params.r, params.alpha, params.a, params.b)] == ["0.243", "4.41", "0.793", "2.43"]
    (ux, utx, uT), counts, _ = btyd.unique_rows(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    weighted, _ = btyd.fit_bgnbd(ux, utx, uT, counts)
    ref = reference_bgf.params_
    for ours in (params, weighted):
        for name in ("r", "alpha", "a", "b"):
            assert sig3(getattr(ours, name)) == sig3(ref[name]), name
            assert getattr(ours, name) == pytest.approx(ref[name], rel=5e-4), name
    assert -info.log_likelihood * len(cdnow) == pytest.approx(9582.43, abs=0.01)  # the paper's LL = -9582.4


def test_bgnbd_predictions_match_lifetimes(cdnow, reference_bgf):
    params = btyd.BGNBDParams(**{k: float(v) for k, v in reference_bgf.params_.items()})
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    for t in (1.0, 39.0, 52.0, 104.0):
        ours = btyd.bgnbd_expected_purchases(params, t, f, r, T)
        ref = reference_bgf.conditional_expected_number_of_purchases_up_to_time(t, f, r, T)
        np.testing.assert_allclose(ours, ref, rtol=1e-6)
        assert btyd.bgnbd_population_expected_purchases(params, t) == pytest.approx(
            reference_bgf.expected_number_of_purchases_up_to_time(t), rel=1e-9)
    np.testing.assert_allclose(btyd.bgnbd_p_alive(params, f, r, T),
                               reference_bgf.conditional_probability_alive(f, r, T), rtol=1e-9)
    # FHL (2005): a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226 purchases in 39 weeks.
    assert btyd.bgnbd_expected_purchases(params, 39.0, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=5e-4)


def test_gamma_gamma_matches_the_published_estimates_and_lifetimes(cdnow_money):
    repeat = cdnow_money[cdnow_money["frequency"] > 0]
    params, info = btyd.fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"])
    assert info.converged and info.rows == 946
    # Fader, Hardie & Lee, "The Gamma-Gamma model of monetary value" (2013 note): p = 6.25, q = 3.74, γ = 15.44.
    assert [sig3(params.p), sig3(params.q), sig3(params.gamma)] == ["6.25", "3.74", "15.4"]
    ref = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for ours, name in ((params.p, "p"), (params.q, "q"), (params.gamma, "v")):
        assert sig3(ours) == sig3(ref.params_[name]) and ours == pytest.approx(ref.params_[name], rel=5e-4)
    np.testing.assert_allclose(
        btyd.gamma_gamma_expected_spend(params, repeat["frequency"], repeat["monetary_value"]),
        ref.conditional_expected_average_profit(repeat["frequency"], repeat["monetary_value"]), rtol=1e-5)
    # No repeat purchase: the population mean p·γ/(q−1).
    assert btyd.gamma_gamma_expected_spend(params, [0], [0.0])[0] == pytest.approx(
        params.p * params.gamma / (params.q - 1))


def test_clv_matches_lifetimes(cdnow_money, reference_bgf):
    repeat = cdnow_money[cdnow_money["frequency"] > 0]
    gg = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    bg = btyd.BGNBDParams(**{k: float(v) for k, v in reference_bgf.params_.items()})
    spend = gg.conditional_expected_average_profit(cdnow_money["frequency"], cdnow_money["monetary_value"])
    ours = btyd.customer_lifetime_value(bg, cdnow_money["frequency"], cdnow_money["recency"], cdnow_money["T"],
                                        spend, months=12, monthly_discount_rate=0.01, days_per_unit=7)
    ref = gg.customer_lifetime_value(reference_bgf, cdnow_money["frequency"], cdnow_money["recency"],
                                     cdnow_money["T"], cdnow_money["monetary_value"], time=12, discount_rate=0.01,
                                     freq="W")
    # lifetimes counts a month as 4.345 weeks, we as 365.25/12 days = 4.348 weeks: 0.07 % apart.
    np.testing.assert_allclose(ours, ref, rtol=2e-3)
    # Discounting lowers value; a zero rate gives spend × expected purchases over the horizon.
    flat = btyd.customer_lifetime_value(bg, [3], [20.0], [38.0], [50.0], months=12, monthly_discount_rate=0.0,
                                        days_per_unit=7)
    assert flat[0] == pytest.approx(50.0 * btyd.bgnbd_expected_purchases(bg, 365.25 / 7, [3], [20.0], [38.0])[0])
    assert btyd.customer_lifetime_value(bg, [3], [20.0], [38.0], [50.0], months=12, monthly_discount_rate=0.02,
                                        days_per_unit=7)[0] < flat[0]


# -- MBG/NBD ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_mbgf(cdnow):
    return lifetimes.ModifiedBetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_mbgnbd_matches_lifetimes_on_cdnow(cdnow, reference_mbgf):
    """Fitted on unique (x, t_x, T) triples with weights, MBG/NBD's parameters agree with lifetimes'
    ModifiedBetaGeoFitter (fitted on every customer) to 3 significant digits, and so does the likelihood."""
    (ux, utx, uT), counts, _ = btyd.unique_rows(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    params, info = btyd.fit_mbgnbd(ux, utx, uT, counts)
    assert info.converged and info.rows == ux.size < len(cdnow) and info.customers == len(cdnow)
    assert info.extra["model"] == "mbgnbd"
    ref = reference_mbgf.params_
    for name in ("r", "alpha", "a", "b"):
        assert sig3(getattr(params, name)) == sig3(ref[name]), name
        assert getattr(params, name) == pytest.approx(ref[name], rel=5e-4), name
    # Not the BG/NBD estimates: the models differ (r = 0.525 against 0.243 on CDNOW).
    assert sig3(params.r) == "0.525" and sig3(params.b) == "1.61"
    assert info.log_likelihood == pytest.approx(
        -reference_mbgf._negative_log_likelihood(np.log(ref[["r", "alpha", "a", "b"]].to_numpy()),
                                                 cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(),
                                                 cdnow["T"].to_numpy(), np.ones(len(cdnow)), 0.0), rel=1e-6)
    assert np.mean(btyd.mbgnbd_log_likelihood(params, cdnow["frequency"], cdnow["recency"], cdnow["T"])) == \
        pytest.approx(info.log_likelihood, rel=1e-9)


def test_mbgnbd_predictions_match_lifetimes_and_one_time_buyers_may_be_gone(cdnow, reference_mbgf):
    params = btyd.BGNBDParams(**{k: float(v) for k, v in reference_mbgf.params_.items()})
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    for t in (1.0, 39.0, 52.0, 104.0):
        np.testing.assert_allclose(btyd.mbgnbd_expected_purchases(params, t, f, r, T),
                                   reference_mbgf.conditional_expected_number_of_purchases_up_to_time(t, f, r, T),
                                   rtol=1e-6)
        assert btyd.mbgnbd_population_expected_purchases(params, t) == pytest.approx(
            reference_mbgf.expected_number_of_purchases_up_to_time(t), rel=1e-6)
    alive = btyd.mbgnbd_p_alive(params, f, r, T)
    np.testing.assert_allclose(alive, reference_mbgf.conditional_probability_alive(f, r, T), rtol=1e-6)
    one_time = (f == 0).to_numpy()
    # BG/NBD says every one-time buyer is alive for sure; MBG/NBD does not, and less so the longer ago they came.
    assert np.all(btyd.bgnbd_p_alive(params, f, r, T)[one_time] == 1.0)
    assert np.all(alive[one_time] < 1.0)
    older = btyd.mbgnbd_p_alive(params, [0, 0], [0, 0], [10.0, 70.0])
    assert older[0] > older[1]


def test_mbgnbd_gradient_matches_finite_differences():
    x, t_x, T, _ = simulate_bgnbd(2_000, r=0.5, alpha=3.0, a=1.2, b=3.0, seed=5)
    data = btyd._BGNBDData(x, t_x / 8, T / 8, np.ones_like(x), modified=True)
    theta = np.log([0.4, 0.3, 0.9, 2.0])
    value, grad = btyd._bgnbd_objective(theta, data)
    assert value == pytest.approx(-btyd.mbgnbd_log_likelihood(btyd.BGNBDParams(*np.exp(theta)), x, t_x / 8,
                                                                T / 8).mean())
    numeric = approx_fprime(theta, lambda th: btyd._bgnbd_objective(th, data)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)
