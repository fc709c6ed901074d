"""The campaign statistics (clientwise/marketing/stats.py) against hand computations, SciPy, statsmodels, a
published Welch example, and seeded simulations of A/A and A/B campaigns. No database: plain functions.

The simulations print what they measure (`pytest -s` shows it); docs/marketing-statistics.md records the figures.
"""

from __future__ import annotations

import hashlib
import math
import time
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps

from clientwise.marketing import stats as S

# ---------------------------------------------------------------------------------------------------------------
# Lift: hand computation, SciPy, a published example


def test_lift_matches_a_hand_computation():
    treated = [1, 0, 1, 1, 0, 1]
    control = [0, 0, 1, 0]
    r = S.lift(treated, control)
    # By hand: means 2/3 and 1/4; sample variances (ddof 1) (4·(1/3)² + 2·(2/3)²)/5 = 4/15 and
    # ((3/4)² + 3·(1/4)²)/3 = 1/4; SE² = (4/15)/6 + (1/4)/4 = 77/720; Δ = 5/12.
    vt, vc = Fraction(4, 15), Fraction(1, 4)
    se2 = vt / 6 + vc / 4
    assert se2 == Fraction(77, 720)
    df = se2**2 / ((vt / 6) ** 2 / 5 + (vc / 4) ** 2 / 3)
    assert r.absolute == pytest.approx(5 / 12, abs=1e-15)
    assert r.std_error == pytest.approx(math.sqrt(77 / 720), rel=1e-14)
    assert r.df == pytest.approx(float(df), rel=1e-13)
    assert r.t_statistic == pytest.approx((5 / 12) / math.sqrt(77 / 720), rel=1e-13)
    crit = sps.t.ppf(0.975, float(df))
    assert (r.ci_low, r.ci_high) == pytest.approx(
        (5 / 12 - crit * math.sqrt(77 / 720), 5 / 12 + crit * math.sqrt(77 / 720)), rel=1e-12
    )
    assert r.p_value == pytest.approx(2 * sps.t.sf(r.t_statistic, float(df)), rel=1e-12)
    # Relative lift 2/3 ÷ 1/4 − 1 = 5/3; delta method: Var(R) = Var(m_t)/m_c² + m_t²·Var(m_c)/m_c⁴.
    assert r.relative == pytest.approx(5 / 3, rel=1e-14)
    var_r = (4 / 15 / 6) / (1 / 4) ** 2 + (2 / 3) ** 2 * (1 / 4 / 4) / (1 / 4) ** 4
    z = sps.norm.ppf(0.975)
    assert (r.relative_ci_low, r.relative_ci_high) == pytest.approx(
        (5 / 3 - z * math.sqrt(var_r), 5 / 3 + z * math.sqrt(var_r)), rel=1e-12
    )
    assert (r.n_treated, r.n_control, r.mean_treated, r.mean_control) == (6, 4, pytest.approx(2 / 3), 0.25)
    assert r.cuped_theta is None and r.variance_reduction is None
    assert r.relative_ci_method == "delta"


@pytest.mark.parametrize(
    ("kind", "nt", "nc", "alpha"),
    [
        ("conversion", 900, 100, 0.05),
        ("conversion", 50, 3000, 0.10),
        ("revenue", 4000, 450, 0.05),
        ("revenue", 12, 7, 0.01),
    ],
)
def test_lift_agrees_with_scipy_welch(kind, nt, nc, alpha):
    rng = np.random.default_rng(nt + nc)
    if kind == "conversion":
        t, c = (rng.random(nt) < 0.12).astype(float), (rng.random(nc) < 0.09).astype(float)
    else:
        t = rng.lognormal(3, 1.2, nt) * (rng.random(nt) < 0.4)
        c = rng.lognormal(3, 1.2, nc) * (rng.random(nc) < 0.35)
    r = S.lift(t, c, alpha=alpha)
    ref = sps.ttest_ind(t, c, equal_var=False)
    ci = ref.confidence_interval(confidence_level=1 - alpha)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert r.t_statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert r.df == pytest.approx(ref.df, rel=1e-12)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert r.significant == (ref.pvalue < alpha)


def test_student_sleep_data_reproduces_the_published_welch_test():
    """Student (1908), "The probable error of a mean", Biometrika 6(1): 1–25, table of Cushny & Peebles' extra
    hours of sleep under two drugs (R's `datasets::sleep`). The R manual's `t.test` example on it,
    `t.test(extra ~ group, data = sleep)`, prints: Welch Two Sample t-test, t = -1.8608, df = 17.776,
    p-value = 0.07939, 95 percent confidence interval -3.3654832 0.2054832, means 0.75 and 2.33. Here drug 2 is
    "treated" and drug 1 "control", so the signs flip."""
    drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    r = S.lift(drug2, drug1)
    assert round(r.t_statistic, 4) == 1.8608
    assert round(r.df, 3) == 17.776
    assert round(r.p_value, 5) == 0.07939
    assert (round(r.ci_low, 7), round(r.ci_high, 7)) == (-0.2054832, 3.3654832)
    assert (round(r.mean_control, 2), round(r.mean_treated, 2)) == (0.75, 2.33)


def test_incremental_is_the_lift_times_the_treated_count():
    t = np.r_[np.full(300, 120.0), np.zeros(700)]
    c = np.r_[np.full(20, 100.0), np.zeros(80)]
    r = S.lift(t, c)
    inc = S.incremental(r)
    assert inc.n == 1000
    assert inc.value == pytest.approx((36.0 - 20.0) * 1000)
    assert (inc.ci_low, inc.ci_high) == pytest.approx((r.ci_low * 1000, r.ci_high * 1000))
    assert S.incremental(r, n=50).value == pytest.approx(16.0 * 50)
    with pytest.raises(ValueError, match="LiftResult"):
        S.incremental(0.3)
    with pytest.raises(ValueError, match="whole number"):
        S.incremental(r, n=-1)


def test_bad_input_gets_clear_errors():
    ok = [1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="treated is empty"):
        S.lift([], ok)
    with pytest.raises(ValueError, match="control has a missing"):
        S.lift(ok, [1.0, float("nan"), 0.0])
    with pytest.raises(ValueError, match="pre_treated and pre_control go together"):
        S.lift(ok, ok, pre_treated=ok)
    with pytest.raises(ValueError, match="pre_control has 2 values but control has 3"):
        S.lift(ok, ok, pre_treated=ok, pre_control=[1, 2])
    with pytest.raises(ValueError, match="numbers"):
        S.lift(["a", "b"], ok)
    with pytest.raises(ValueError, match="one-dimensional"):
        S.lift([[1, 2], [3, 4]], ok)
    with pytest.raises(ValueError, match="alpha"):
        S.lift(ok, ok, alpha=1.5)
    with pytest.raises(S.InsufficientDataError, match="at least 2"):
        S.lift([1.0], ok)
    with pytest.raises(S.InsufficientDataError, match="neither arm varies"):
        S.lift(np.zeros(500), np.zeros(50))


def test_edge_cases_that_are_valid_input():
    # No conversion yet in the control arm: the absolute lift is testable, the relative one is not defined.
    r = S.lift([1, 0, 0, 1, 0], [0, 0, 0])
    assert r.relative is None and r.relative_ci_low is None and r.df == pytest.approx(4)
    # A pre-period without variation leaves the plain Welch test.
    rng = np.random.default_rng(3)
    t, c = rng.normal(size=40), rng.normal(size=30)
    flat = S.lift(t, c, pre_treated=np.ones(40), pre_control=np.ones(30))
    plain = S.lift(t, c)
    assert flat.cuped_theta == 0.0 and flat.variance_reduction == pytest.approx(0.0, abs=1e-12)
    assert (flat.absolute, flat.p_value) == pytest.approx((plain.absolute, plain.p_value), rel=1e-12)
    # Booleans are conversions.
    assert S.lift(np.array([True, False, True]), np.array([False, False, True])).absolute == pytest.approx(
        1 / 3
    )


def test_cuped_matches_the_ancova_estimate():
    """The CUPED estimate with the pooled within-arm θ is the ANCOVA treatment coefficient of Y ~ T + X."""
    rng = np.random.default_rng(5)
    x = rng.gamma(2, 30, 3000)
    tr = rng.random(3000) < 0.8
    y = 0.7 * x + rng.normal(0, 20, 3000) + 4 * tr
    r = S.lift(y[tr], y[~tr], pre_treated=x[tr], pre_control=x[~tr])
    design = np.column_stack([np.ones(3000), tr, x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert r.absolute == pytest.approx(coef[1], rel=1e-10)
    assert r.cuped_theta == pytest.approx(coef[2], rel=1e-10)


# ---------------------------------------------------------------------------------------------------------------
# CUPED and Welch in simulated campaigns


def _revenue(rng, sims: int, n: int, uplift: float = 1.0):
    """Spend before and after the campaign for n customers × sims campaigns: each customer has a lasting spend
    level (lognormal), so the pre-period predicts the outcome (ρ ≈ 0.7); one in ten buys nothing after. The
    campaign multiplies a treated customer's spend by `uplift`."""
    level = np.exp(rng.normal(4.0, 0.7, (sims, n)))
    pre = level * np.exp(rng.normal(0.0, 0.35, (sims, n)))
    post = level * np.exp(rng.normal(0.0, 0.35, (sims, n))) * (rng.random((sims, n)) < 0.9) * uplift
    return pre, post


def _run(sims, pre_t, post_t, pre_c, post_c, truth, relative_truth=0.0):
    rows = []
    for s in range(sims):
        raw = S.lift(post_t[s], post_c[s])
        cup = S.lift(post_t[s], post_c[s], pre_treated=pre_t[s], pre_control=pre_c[s])
        rows.append(
            (
                raw.absolute,
                raw.ci_low <= truth <= raw.ci_high,
                cup.absolute,
                cup.ci_low <= truth <= cup.ci_high,
                cup.variance_reduction,
                raw.relative_ci_low <= relative_truth <= raw.relative_ci_high,
                cup.relative_ci_low <= relative_truth <= cup.relative_ci_high,
            )
        )
    a = np.array(rows, dtype=float)
    return {
        "raw_mean": a[:, 0].mean(),
        "raw_cover": a[:, 1].mean(),
        "cuped_mean": a[:, 2].mean(),
        "cuped_cover": a[:, 3].mean(),
        "var_ratio": a[:, 2].var() / a[:, 0].var(),
        "reported_reduction": a[:, 4].mean(),
        "raw_sd": a[:, 0].std(),
        "cuped_sd": a[:, 2].std(),
        "raw_relative_cover": a[:, 5].mean(),
        "cuped_relative_cover": a[:, 6].mean(),
    }


def test_cuped_aa_is_unbiased_with_nominal_coverage_and_lower_variance():
    sims, nt, nc = 4000, 900, 300
    rng = np.random.default_rng(20260817)
    pre_t, post_t = _revenue(rng, sims, nt)
    pre_c, post_c = _revenue(rng, sims, nc)
    m = _run(sims, pre_t, post_t, pre_c, post_c, truth=0.0)
    print(f"\nCUPED A/A revenue ({sims} sims, {nt}/{nc}): {m}")
    # Unbiased: the mean estimate is within 3 standard errors of 0 (its SE over sims is cuped_sd/√sims).
    assert abs(m["cuped_mean"]) < 3 * m["cuped_sd"] / math.sqrt(sims)
    assert 0.94 <= m["cuped_cover"] <= 0.96
    assert 0.94 <= m["raw_cover"] <= 0.96
    # Autocorrelated outcomes: the variance of the estimate drops by about ρ², as the result reports.
    assert m["var_ratio"] < 0.6
    assert 1 - m["var_ratio"] == pytest.approx(m["reported_reduction"], abs=0.05)


def test_cuped_ab_covers_a_known_effect():
    sims, nt, nc = 3000, 900, 300
    rng = np.random.default_rng(17)
    pre_t, post_t = _revenue(rng, sims, nt, uplift=1.08)
    pre_c, post_c = _revenue(rng, sims, nc)
    # True effect: 8 % of the control mean E[post] = exp(4 + 0.7²/2) · exp(0.35²/2) · 0.9.
    truth = 0.08 * math.exp(4.0 + 0.7**2 / 2) * math.exp(0.35**2 / 2) * 0.9
    m = _run(sims, pre_t, post_t, pre_c, post_c, truth=truth, relative_truth=0.08)
    print(f"\nCUPED A/B revenue, true effect {truth:.3f} ({sims} sims): {m}")
    assert abs(m["cuped_mean"] - truth) < 3 * m["cuped_sd"] / math.sqrt(sims)
    assert 0.94 <= m["cuped_cover"] <= 0.96
    # The relative lift is exactly 8 %: the delta-method CI covers it, with and without CUPED.
    assert 0.94 <= m["raw_relative_cover"] <= 0.96
    assert 0.94 <= m["cuped_relative_cover"] <= 0.96
    assert m["var_ratio"] < 0.6


def test_conversion_aa_coverage_with_and_without_a_pre_period():
    """0/1 outcomes: each customer's propensity lasts, so buying before predicts buying after (weakly)."""
    sims, nt, nc = 3000, 1800, 200
    rng = np.random.default_rng(99)

    def arm(n):
        p = rng.beta(0.6, 5.0, (sims, n))
        return (rng.random((sims, n)) < p).astype(float), (rng.random((sims, n)) < p).astype(float)

    pre_t, post_t = arm(nt)
    pre_c, post_c = arm(nc)
    m = _run(sims, pre_t, post_t, pre_c, post_c, truth=0.0)
    print(f"\nCUPED A/A conversion ({sims} sims, {nt}/{nc}): {m}")
    assert 0.94 <= m["raw_cover"] <= 0.96
    assert 0.94 <= m["cuped_cover"] <= 0.96
    assert abs(m["cuped_mean"]) < 3 * m["cuped_sd"] / math.sqrt(sims)
    assert m["var_ratio"] < 1.0


# ---------------------------------------------------------------------------------------------------------------
# Sequential monitoring


def test_always_valid_ci_formulas_by_hand():
    # Δ̂ = 0.3, V = 0.04 (s_t² = 4 over 200, s_c² = 2 over 100), α = 0.05.
    rstar = S.optimal_mixture_ratio(0.05)
    assert rstar == pytest.approx(2 * math.log(20) + math.log1p(rstar), abs=1e-12)
    assert rstar == pytest.approx(8.21, abs=0.01)
    v, est, two_l = 0.04, 0.3, 2 * math.log(20)
    # Accruing: τ² = r*·v_star; with v_star = 0.25/r*, τ² = 0.25.
    r = S.always_valid_from_moments(200, 1.3, 4.0, 100, 1.0, 2.0, design="accruing", v_star=0.25 / rstar)
    tau2 = 0.25
    half = math.sqrt(v * (v + tau2) / tau2 * (two_l + math.log((v + tau2) / v)))
    lam = math.sqrt(v / (v + tau2)) * math.exp(tau2 * est**2 / (2 * v * (v + tau2)))
    assert (r.estimate, r.ci_low, r.ci_high) == pytest.approx((est, est - half, est + half), rel=1e-12)
    assert r.p_value == pytest.approx(min(1.0, 1 / lam), rel=1e-12)
    assert r.variance == pytest.approx(v) and r.reject == (r.p_value <= 0.05)
    # planned_n: v_star = V·n/planned_n.
    d = S.always_valid_from_moments(200, 1.3, 4.0, 100, 1.0, 2.0, design="accruing", planned_n=3000)
    assert d.v_star == pytest.approx(0.04 * 300 / 3000, rel=1e-12)
    # Fixed audience: a = v_star/r*; at V = v_star the half-width is √(v_star·(1 + 1/r*)·(2 log 20 + log(1 + r*))).
    f = S.always_valid_from_moments(200, 1.3, 4.0, 100, 1.0, 2.0, design="fixed_audience", v_star=0.04)
    a = 0.04 / rstar
    half_f = math.sqrt((v + a) * (two_l + math.log((v + a) / a)))
    assert half_f == pytest.approx(math.sqrt(0.04) * 3.03, rel=0.002)
    m = math.sqrt(a / (a + v)) * math.exp(est**2 / (2 * (a + v)))
    assert (f.ci_low, f.ci_high, f.p_value) == pytest.approx(
        (est - half_f, est + half_f, min(1, 1 / m)), rel=1e-12
    )
    # Wider than the single-look Welch interval (±1.96·0.2): the price of looking any number of times.
    assert half_f > sps.norm.ppf(0.975) * 0.2
    assert S.planned_variance(900, 100, baseline_rate=0.1) == pytest.approx(0.09 * (1 / 900 + 1 / 100))
    assert S.planned_variance(10, 10, baseline_sd=3.0) == pytest.approx(9 * 0.2)


def test_always_valid_ci_on_arrays_equals_the_moments_form():
    rng = np.random.default_rng(8)
    t, c = rng.exponential(10, 700), rng.exponential(9, 300)
    for kw in ({"design": "accruing", "planned_n": 5000}, {"design": "fixed_audience", "v_star": 0.5}):
        a = S.always_valid_ci(t, c, **kw)
        b = S.always_valid_from_moments(700, t.mean(), t.var(ddof=1), 300, c.mean(), c.var(ddof=1), **kw)
        assert (a.estimate, a.ci_low, a.ci_high, a.p_value) == pytest.approx(
            (b.estimate, b.ci_low, b.ci_high, b.p_value), rel=1e-12
        )
    x_t, x_c = t + rng.normal(0, 3, 700), c + rng.normal(0, 3, 300)
    plain = S.always_valid_ci(t, c, design="fixed_audience", v_star=0.5)
    cup = S.always_valid_ci(t, c, design="fixed_audience", v_star=0.5, pre_treated=x_t, pre_control=x_c)
    assert cup.estimate == pytest.approx(S.lift(t, c, pre_treated=x_t, pre_control=x_c).absolute, rel=1e-10)
    assert cup.ci_high - cup.ci_low < plain.ci_high - plain.ci_low
    with pytest.raises(ValueError, match="v_star"):
        S.always_valid_ci(t, c, design="fixed_audience")
    with pytest.raises(ValueError, match="planned_n or v_star"):
        S.always_valid_ci(t, c, design="accruing")
    with pytest.raises(ValueError, match="design"):
        S.always_valid_ci(t, c, design="daily", v_star=1.0)
    with pytest.raises(ValueError, match="v_star"):
        S.always_valid_ci(t, c, design="accruing", v_star=-1.0)
    with pytest.raises(S.InsufficientDataError):
        S.always_valid_ci(t[:1], c, design="accruing", planned_n=100)


def _peeks(n_t, mean_t, var_t, n_c, mean_c, var_c, **kw):
    """Per simulation (rows; peeks on axis 1): ever rejected by the always-valid test, ever by a naive Welch
    test at 0.05, and by a single Welch test at the last peek."""
    seq = S.always_valid_from_moments(n_t, mean_t, var_t, n_c, mean_c, var_c, **kw)
    naive = sps.ttest_ind_from_stats(
        mean_t, np.sqrt(var_t), n_t, mean_c, np.sqrt(var_c), n_c, equal_var=False
    )
    return seq.reject.any(axis=1), (naive.pvalue < 0.05).any(axis=1), naive.pvalue[:, -1] < 0.05


def _fixed_audience_conversions(rng, sims, n, rate, day_weights):
    """Each of n customers converts at most once in the window, with probability `rate`, on a day drawn from
    `day_weights`. Returns per peek (day) n, the share converted so far, its variance; shape (sims, days)."""
    days = day_weights.size
    pvals = np.r_[rate * day_weights / day_weights.sum(), 1 - rate]
    share = np.cumsum(rng.multinomial(n, pvals, size=sims)[:, :days], axis=1) / n
    return np.full(days, float(n)), share, share * (1 - share) * n / (n - 1)


@pytest.mark.parametrize("timing", ["uniform", "front-loaded"])
def test_daily_peeks_at_a_fixed_audience_keep_false_positives_at_alpha(timing):
    """The campaign's own shape: the audience is fixed at the send (4,500 treated, 500 held out, 10 %
    converting within 30 days) and each day's look counts the conversions so far. Front-loaded: the response
    decays by a third a day after the send. v_star is fixed before launch from the planned rate."""
    sims, days, nt, nc, q = 2000, 30, 4500, 500, 0.10
    w = np.ones(days) if timing == "uniform" else 0.67 ** np.arange(days)
    rng = np.random.default_rng(31)
    t, c = _fixed_audience_conversions(rng, sims, nt, q, w), _fixed_audience_conversions(rng, sims, nc, q, w)
    first = 2 if timing == "uniform" else 0  # a look needs a conversion in some arm
    sl = slice(first, None)
    seq, naive, last = _peeks(
        t[0][sl],
        t[1][:, sl],
        t[2][:, sl],
        c[0][sl],
        c[1][:, sl],
        c[2][:, sl],
        design="fixed_audience",
        v_star=S.planned_variance(nt, nc, baseline_rate=q),
    )
    print(
        f"\nA/A fixed audience {nt}/{nc}, {timing}, {sims} sims × {days - first} daily peeks: always-valid "
        f"false positives {seq.mean():.4f}, naive Welch at any peek {naive.mean():.4f}, "
        f"last day only {last.mean():.4f}"
    )
    assert seq.mean() <= 0.055
    assert naive.mean() > 0.055


def test_daily_peeks_at_a_fixed_audience_of_repeat_buyers():
    """Revenue, not a conversion: customers with lasting purchase rates (Gamma) buy on any day (Poisson) for a
    Gamma amount; each look sums each customer's spend so far. Fewer simulations: it draws every customer-day."""
    sims, days, nt, nc = 600, 20, 900, 100
    rng = np.random.default_rng(33)

    def arm(n):
        rate = rng.gamma(0.5, 0.05 / 0.5, (sims, n, 1))  # orders per day, mean 0.05
        orders = rng.poisson(np.broadcast_to(rate, (sims, n, days)))
        spend = np.zeros(orders.shape)
        bought = orders > 0  # a day's k orders cost Gamma(2k, 40): the sum of k Gamma(2, 40) orders
        spend[bought] = rng.gamma(orders[bought] * 2.0, 40.0)
        spend = np.cumsum(spend, axis=2)
        return np.full(days, float(n)), spend.mean(axis=1), spend.var(axis=1, ddof=1)

    t, c = arm(nt), arm(nc)
    # v_star from the spread of the same outcome in a pre-period of equal length (here: an independent draw).
    pre = arm(nc)[2][:, -1].mean()
    seq, naive, last = _peeks(*t, *c, design="fixed_audience", v_star=float(pre * (1 / nt + 1 / nc)))
    print(
        f"\nA/A fixed audience of repeat buyers, {sims} sims × {days} peeks: always-valid false positives "
        f"{seq.mean():.4f}, naive Welch at any peek {naive.mean():.4f}, last day only {last.mean():.4f}"
    )
    assert seq.mean() <= 0.055
    assert naive.mean() > seq.mean()


def _arrivals(rng, sims, days, per_day, effect=0.0):
    """Customers arrive every day with a complete outcome; revenue is zero for 70 % and lognormal for the rest
    (a skewed outcome). Returns cumulative n, mean and variance after each day, shape (sims, days)."""
    y = np.exp(rng.normal(3.0, 1.0, (sims, days, per_day))) * (rng.random((sims, days, per_day)) < 0.3)
    y = y * (1 + effect)
    n = per_day * np.arange(1, days + 1, dtype=float)
    s1 = np.cumsum(y.sum(axis=2), axis=1)
    s2 = np.cumsum((y * y).sum(axis=2), axis=1)
    return n, s1 / n, (s2 - s1 * s1 / n) / (n - 1)


def test_daily_peeks_with_accruing_customers_keep_false_positives_at_alpha():
    sims, days, per_day = 2000, 30, 100
    rng = np.random.default_rng(30)
    t, c = _arrivals(rng, sims, days, per_day), _arrivals(rng, sims, days, per_day)
    seq, naive, last = _peeks(*t, *c, design="accruing", planned_n=2 * days * per_day)
    print(
        f"\nA/A accruing, {sims} sims × {days} daily peeks, {per_day}+{per_day} new customers a day: "
        f"always-valid false positives {seq.mean():.4f}, naive Welch at any peek {naive.mean():.4f}, "
        f"Welch at the last day only {last.mean():.4f}"
    )
    assert seq.mean() <= 0.055
    assert naive.mean() > 0.055
    assert 0.04 <= last.mean() <= 0.06


def test_daily_peeks_still_find_a_real_effect():
    sims, days = 1000, 30
    rng = np.random.default_rng(32)
    t, c = _arrivals(rng, sims, days, 100, effect=0.25), _arrivals(rng, sims, days, 100)
    seq, _, last = _peeks(*t, *c, design="accruing", planned_n=2 * days * 100)
    w = np.ones(days)
    ft = _fixed_audience_conversions(rng, sims, 9000, 0.13, w)
    fc = _fixed_audience_conversions(rng, sims, 1000, 0.10, w)
    fseq, _, flast = _peeks(
        *ft, *fc, design="fixed_audience", v_star=S.planned_variance(9000, 1000, baseline_rate=0.10)
    )
    print(
        f"\nA/B accruing +25 % revenue, {sims} sims: always-valid detects by day {days} in {seq.mean():.3f}, a "
        f"single Welch test on day {days} in {last.mean():.3f}; fixed audience 9000/1000, 13 % vs 10 %: "
        f"{fseq.mean():.3f} vs {flast.mean():.3f}"
    )
    assert last.mean() > 0.8 and seq.mean() > 0.5
    assert flast.mean() > 0.75 and fseq.mean() > 0.45


# ---------------------------------------------------------------------------------------------------------------
# Planning


def test_sample_size_for_means_agrees_with_statsmodels():
    power_mod = pytest.importorskip("statsmodels.stats.power")
    for sd, mde, share, alpha, power in [
        (40.0, 2.0, 0.1, 0.05, 0.8),
        (1.0, 0.1, 0.5, 0.05, 0.9),
        (250.0, 9.0, 0.2, 0.01, 0.8),
    ]:
        plan = S.sample_size(
            baseline_mean=100.0, baseline_sd=sd, mde=mde, alpha=alpha, power=power, control_share=share
        )
        # statsmodels: nobs1 = treated, ratio = n_control / n_treated, effect size d = δ/σ.
        ref = power_mod.NormalIndPower().solve_power(
            effect_size=mde / sd, alpha=alpha, power=power, ratio=share / (1 - share)
        )
        assert plan.n_treated == math.ceil(ref)
        assert plan.n_control == math.ceil(ref * share / (1 - share) - 1e-9)
        mde_back = S.minimum_detectable_effect(
            plan.n_treated, plan.n_control, baseline_mean=100.0, baseline_sd=sd, alpha=alpha, power=power
        )
        assert mde_back.absolute <= mde
        ref_d = power_mod.NormalIndPower().solve_power(
            nobs1=plan.n_treated, alpha=alpha, power=power, ratio=plan.n_control / plan.n_treated
        )
        # statsmodels adds the far tail's power (Φ(−d√n − z), about 1e-6 here): equal to 1e-4.
        assert mde_back.absolute == pytest.approx(ref_d * sd, rel=1e-4)


def test_sample_size_for_rates_agrees_with_statsmodels():
    sm_power = pytest.importorskip("statsmodels.stats.power")
    sm_prop = pytest.importorskip("statsmodels.stats.proportion")
    for p0, mde, share in [(0.05, 0.01, 0.1), (0.30, -0.03, 0.5), (0.02, 0.2, 0.2)]:
        plan = S.sample_size(baseline_rate=p0, mde=mde, relative=(mde == 0.2), control_share=share)
        delta = plan.mde_absolute
        p1 = p0 + delta
        ratio = share / (1 - share)
        # The same unpooled variance under H0 and H1 (the Welch test's): statsmodels' explicit formula.
        sd = math.sqrt(p1 * (1 - p1) + p0 * (1 - p0) / ratio)
        ref = sm_power.normal_sample_size_one_tail(delta, 0.8, 0.025, std_null=sd, std_alternative=sd)
        assert plan.n_treated == math.ceil(ref)
        # statsmodels' own two-proportion planner pools the variance under H0 (the pooled z-test's): close with
        # equal arms; with a 10 % holdout the pooled rate is the treated one and it asks for ~10 % more (the
        # simulation below shows the unpooled figure is the Welch test's).
        pooled = sm_prop.samplesize_proportions_2indep_onetail(delta, p0, 0.8, ratio=ratio, alpha=0.05)
        if share == 0.5:
            assert plan.n_treated == pytest.approx(pooled, rel=0.01)


def test_sample_size_follows_lehrs_sixteen_over_delta_squared():
    """Lehr (1992), "Sixteen s-squared over d-squared: a relation for crude sample size estimates", Statistics in
    Medicine 11: 1099–1102 (also in van Belle, Statistical Rules of Thumb, ch. 2): two equal groups, two-sided α = 0.05
    and 80 % power need n ≈ 16·σ²/δ² per group; the exact normal figure is 2·(1.95996 + 0.84162)² = 15.70."""
    plan = S.sample_size(baseline_mean=0.0, baseline_sd=10.0, mde=1.0, control_share=0.5)
    assert plan.n_treated == plan.n_control == math.ceil(2 * (1.959964 + 0.841621) ** 2 * 100)
    assert 15.6 * 100 <= plan.n_treated <= 16 * 100


def test_planned_campaign_reaches_its_power_in_simulation():
    """At the planned sizes, simulated campaigns with exactly the planned effect are significant in ≈ 80 %."""
    plan = S.sample_size(baseline_rate=0.08, mde=0.25, relative=True, control_share=0.1)
    rng = np.random.default_rng(11)
    sims, hits = 2000, 0
    conv_t = rng.binomial(plan.n_treated, 0.10, sims)
    conv_c = rng.binomial(plan.n_control, 0.08, sims)
    for kt, kc in zip(conv_t, conv_c, strict=True):
        t = np.zeros(plan.n_treated)
        t[:kt] = 1
        c = np.zeros(plan.n_control)
        c[:kc] = 1
        hits += S.lift(t, c).p_value < 0.05
    print(f"\nplanned {plan.n_treated}/{plan.n_control} for 8 % → 10 %: simulated power {hits / sims:.3f}")
    assert 0.77 <= hits / sims <= 0.83


def test_variance_reduction_and_mde_of_a_rate():
    base = S.sample_size(baseline_rate=0.1, mde=0.01)
    cuped = S.sample_size(baseline_rate=0.1, mde=0.01, variance_reduction=0.5)
    assert cuped.n_total == pytest.approx(base.n_total / 2, rel=0.001)
    mde = S.minimum_detectable_effect(base.n_treated, base.n_control, baseline_rate=0.1)
    assert mde.absolute == pytest.approx(0.01, rel=0.001) and mde.relative == pytest.approx(0.1, rel=0.001)
    down = S.minimum_detectable_effect(base.n_treated, base.n_control, baseline_rate=0.1, decrease=True)
    assert -0.011 < down.absolute < -0.009
    tiny = S.minimum_detectable_effect(3, 2, baseline_rate=0.9)
    assert tiny.absolute is None and tiny.relative is None


def test_planner_rejects_bad_input():
    with pytest.raises(ValueError, match="baseline_rate"):
        S.sample_size(mde=0.01)
    with pytest.raises(ValueError, match="not both"):
        S.sample_size(mde=0.01, baseline_rate=0.1, baseline_sd=2.0)
    with pytest.raises(ValueError, match="not a rate"):
        S.sample_size(mde=0.2, baseline_rate=0.9)
    with pytest.raises(ValueError, match="non-zero"):
        S.sample_size(mde=0, baseline_rate=0.1)
    with pytest.raises(ValueError, match="control_share"):
        S.sample_size(mde=0.01, baseline_rate=0.1, control_share=1.0)
    with pytest.raises(ValueError, match="relative mde"):
        S.sample_size(mde=0.1, relative=True, baseline_sd=3.0)
    with pytest.raises(ValueError, match="n_control"):
        S.minimum_detectable_effect(100, 1, baseline_rate=0.1)


# ---------------------------------------------------------------------------------------------------------------
# Sample-ratio mismatch


def test_srm_p_value_is_the_chi_square_goodness_of_fit():
    for nt, nc, share in [(9021, 979, 0.1), (5000, 5000, 0.5), (820, 180, 0.2), (10, 0, 0.1)]:
        total = nt + nc
        ref = sps.chisquare([nt, nc], [total * (1 - share), total * share])
        assert S.srm_p_value(nt, nc, share) == pytest.approx(ref.pvalue, rel=1e-10)
    assert S.SRM_P_THRESHOLD == 0.001
    assert S.srm_alarm(9000, 880, 0.1) and not S.srm_alarm(9000, 1000, 0.1)
    with pytest.raises(ValueError):
        S.srm_p_value(0, 0, 0.1)
    with pytest.raises(ValueError):
        S.srm_p_value(10, -1, 0.1)
    with pytest.raises(ValueError):
        S.srm_p_value(10, 1, 1.2)


def test_srm_alarm_rate_under_correct_binomial_splits_is_its_threshold():
    rng = np.random.default_rng(12)
    draws = 200_000
    nc = rng.binomial(20_000, 0.1, draws)
    alarms = sum(S.srm_alarm(20_000 - int(k), int(k), 0.1) for k in nc)
    rate = alarms / draws
    print(f"\nSRM alarm rate on {draws} correct splits: {rate:.5f} (threshold {S.SRM_P_THRESHOLD})")
    # Binomial(200000, 0.001): mean 200, sd 14.1.
    assert 0.001 - 4 * 14.1 / draws <= rate <= 0.001 + 4 * 14.1 / draws


# ---------------------------------------------------------------------------------------------------------------
# Holdout assignment


PINNED = {  # blake2b(digest_size=8) of "campaign:17:<id>": these values must never change.
    1: ("fdc34d8654591dc8", 0.9912613347008555),
    42: ("1df6ff483e29efc1", 0.11705012811413662),
    1_000_000: ("02e673fa9c0c1ba4", 0.011328934368109222),
    "C-0007": ("2f2f6574c685c99f", 0.18431696034396972),
}


def test_hash_values_are_pinned():
    ids = list(PINNED)
    h = S.hash_u64(ids, "campaign:17")
    u = S.hash_unit(ids, "campaign:17")
    for i, key in enumerate(ids):
        hexd, unit = PINNED[key]
        assert hashlib.blake2b(f"campaign:17:{key}".encode(), digest_size=8).hexdigest() == hexd
        assert f"{int(h[i]):016x}" == hexd
        assert u[i] == unit
    # An integer id and its decimal string are the same customer.
    assert (
        S.hash_unit(np.array([42], dtype=np.int32), "campaign:17")[0] == S.hash_unit(["42"], "campaign:17")[0]
    )


def test_holdout_is_sticky_whatever_else_is_in_the_array():
    ids = np.arange(1, 20_001)
    full = S.assign_holdout(ids, "spring-sms", 0.1)
    rng = np.random.default_rng(4)
    subset = np.sort(rng.choice(ids, 3000, replace=False))
    perm = rng.permutation(ids)
    assert np.array_equal(S.assign_holdout(subset, "spring-sms", 0.1), full[subset - 1])
    assert np.array_equal(S.assign_holdout(perm, "spring-sms", 0.1), full[perm - 1])
    more = np.r_[ids, np.arange(50_000, 60_000)]
    assert np.array_equal(S.assign_holdout(more, "spring-sms", 0.1)[:20_000], full)
    # Another salt is another draw; a larger share only adds customers to the control group.
    other = S.assign_holdout(ids, "autumn-sms", 0.1)
    assert 0.05 < (other & full).sum() / full.sum() < 0.15
    assert np.all(S.assign_holdout(ids, "spring-sms", 0.2)[full])


def test_holdout_is_balanced_across_salts():
    """Across campaigns (salts) the control count behaves as Binomial(n, share), so the SRM check fires at its
    threshold's rate and no more."""
    n, salts, share = 2500, 400, 0.1
    ids = np.arange(n)
    counts = np.array([int(S.assign_holdout(ids, f"campaign-{s}", share).sum()) for s in range(salts)])
    p = np.array([S.srm_p_value(n - int(k), int(k), share) for k in counts])
    var_ratio = counts.var(ddof=1) / (n * share * (1 - share))
    print(
        f"\nholdout over {salts} salts: control count mean {counts.mean():.2f} (expected {n * share:.0f}), variance "
        f"÷ binomial {var_ratio:.3f}; SRM alarms at 0.001 {np.mean(p < 0.001):.4f}, at 0.05 {np.mean(p < 0.05):.4f}"
    )
    # Mean within 4 standard errors (15/√400 = 0.75); variance within the 99.9 % band of χ²₃₉₉/399 (0.77–1.23).
    assert abs(counts.mean() - n * share) < 4 * 0.75
    assert 0.77 < var_ratio < 1.23
    assert (p < S.SRM_P_THRESHOLD).sum() <= 3  # expected 0.4
    assert 8 <= (p < 0.05).sum() <= 34  # Binomial(400, 0.05): mean 20, sd 4.4


def test_stratified_holdout_is_exact_per_stratum_and_order_free():
    rng = np.random.default_rng(6)
    n = 10_007
    ids = rng.permutation(np.arange(100, 100 + n))
    tiers = rng.choice(np.array(["vip", "gold", "silver", None], dtype=object), n, p=[0.03, 0.17, 0.5, 0.3])
    ctl = S.assign_holdout(ids, "retention-q3", 0.1, strata=tiers)
    for tier in ("vip", "gold", "silver", None):
        in_tier = np.array([t == tier for t in tiers])
        size = int(in_tier.sum())
        assert ctl[in_tier].sum() == math.floor(0.1 * size + 0.5), tier
    # The same customers in another order get the same arms.
    perm = rng.permutation(n)
    again = S.assign_holdout(ids[perm], "retention-q3", 0.1, strata=tiers[perm])
    assert np.array_equal(again, ctl[perm])
    # Within a stratum the control customers are the lowest hashes: mostly the same as the unstratified draw.
    plain = S.assign_holdout(ids, "retention-q3", 0.1)
    assert (plain == ctl).mean() > 0.98
    with pytest.raises(ValueError, match="duplicates"):
        S.assign_holdout(np.r_[ids, ids[:1]], "x", 0.1, strata=np.r_[tiers, tiers[:1]])
    with pytest.raises(ValueError, match="one label per customer"):
        S.assign_holdout(ids, "x", 0.1, strata=tiers[:-1])


def test_holdout_rejects_bad_input():
    with pytest.raises(ValueError, match="salt"):
        S.assign_holdout([1, 2], "", 0.1)
    with pytest.raises(ValueError, match="control_share"):
        S.assign_holdout([1, 2], "s", 1.5)
    with pytest.raises(ValueError, match="whole numbers or strings"):
        S.assign_holdout(np.array([1.5, 2.0]), "s", 0.1)
    with pytest.raises(ValueError, match="position 1"):
        S.assign_holdout(np.array([1, None], dtype=object), "s", 0.1)
    assert not S.assign_holdout([1, 2, 3], "s", 0.0).any()


def test_a_million_ids_are_assigned_in_seconds():
    ids = np.arange(1, 1_000_001, dtype=np.int64)
    tiers = ids % 5
    t0 = time.perf_counter()
    plain = S.assign_holdout(ids, "bench", 0.1)
    t1 = time.perf_counter()
    strat = S.assign_holdout(ids, "bench", 0.1, strata=tiers)
    t2 = time.perf_counter()
    print(f"\n1M ids: unstratified {t1 - t0:.2f} s, stratified {t2 - t1:.2f} s")
    assert strat.sum() == 100_000 and abs(plain.sum() - 100_000) < 5 * 300
    assert t1 - t0 < 10 and t2 - t1 < 10  # ≈ 1 s each unloaded; generous for a shared 2-core machine
