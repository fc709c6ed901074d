"""The statistics of a campaign measured against its holdout: pure functions over plain arrays.

Nothing here touches the database: the marketing services pass outcome arrays (one value per customer: 0/1 for a
conversion, an amount for revenue) and store what comes back. The formulas, their assumptions and what the tests
check are in docs/marketing-statistics.md; the short version of each is in its docstring.

- `lift`: treated vs control, Welch's t (unequal variances, Welch–Satterthwaite df), absolute and relative lift with
  CIs (relative by the delta method), optionally CUPED with pre-period values (Deng, Xu, Kohavi & Walker 2013).
- `incremental`: the absolute lift scaled to the treated group (incremental revenue or conversions) with its CI.
- `always_valid_ci` / `always_valid_from_moments`: a confidence sequence (Robbins' normal mixture; for customers
  accruing over time the mSPRT of Johari, Koomen, Pekelis & Walsh 2017) that may be looked at every day without
  inflating false positives, for a fixed audience whose outcomes accumulate or for customers who keep arriving;
  `planned_variance` tunes it before launch.
- `sample_size` / `minimum_detectable_effect`: the planner before launch (normal approximation of the same Welch test).
- `srm_p_value` / `srm_alarm`: the sample-ratio-mismatch check (chi-square goodness of fit, 1 df).
- `hash_unit` / `assign_holdout`: the holdout drawn by a salted blake2b hash of the customer id, optionally
  stratified.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

SRM_P_THRESHOLD = 0.001
"""A sample-ratio mismatch is alarmed when the chi-square p-value falls below this (Kohavi, Tang & Xu 2020, ch. 21;
Fabijan et al. 2019 use the same 0.0005–0.001 range). Under a correct assignment it fires in this share of checks."""

RELATIVE_CI_METHOD = "delta"
"""How the relative lift's CI is made: the delta method on the ratio of (adjusted) means, normal quantile."""


class InsufficientDataError(ValueError):
    """The input is well formed but cannot support the statistic (e.g. no variation in either arm yet)."""


# ---------------------------------------------------------------------------------------------------------------
# Input checks


def _outcomes(name: str, values: Any) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"{name} must be numbers (0/1 for a conversion, an amount for revenue): {e}"
        ) from None
    if a.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional array, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty: both arms need customers")
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} has a missing or infinite value (NaN/inf) at position {i}")
    return a


def _alpha(alpha: float) -> float:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    return float(alpha)


def _share(name: str, share: float, *, closed: bool = False) -> float:
    ok = isinstance(share, (int, float)) and not isinstance(share, bool) and math.isfinite(share)
    ok = ok and ((0 <= share <= 1) if closed else (0 < share < 1))
    if not ok:
        bounds = "[0, 1]" if closed else "(0, 1)"
        raise ValueError(f"{name} must be a number in {bounds}, got {share!r}")
    return float(share)


def _pre_pair(treated: np.ndarray, control: np.ndarray, pre_treated: Any, pre_control: Any):
    if (pre_treated is None) != (pre_control is None):
        raise ValueError("pre_treated and pre_control go together: give both pre-period arrays or neither")
    if pre_treated is None:
        return None, None
    xt = _outcomes("pre_treated", pre_treated)
    xc = _outcomes("pre_control", pre_control)
    if xt.size != treated.size:
        raise ValueError(f"pre_treated has {xt.size} values but treated has {treated.size}: one per customer")
    if xc.size != control.size:
        raise ValueError(f"pre_control has {xc.size} values but control has {control.size}: one per customer")
    return xt, xc


# ---------------------------------------------------------------------------------------------------------------
# Lift


@dataclass(frozen=True)
class LiftResult:
    """Treated vs control for one outcome. `absolute` = adjusted_mean_treated − adjusted_mean_control (the raw
    difference of means without a pre-period; the CUPED-adjusted one with it); `relative` = absolute ÷
    adjusted_mean_control (None when that mean is not positive). CIs are two-sided at 1 − alpha."""

    absolute: float
    relative: float | None
    ci_low: float
    ci_high: float
    relative_ci_low: float | None
    relative_ci_high: float | None
    p_value: float
    n_treated: int
    n_control: int
    mean_treated: float
    mean_control: float
    adjusted_mean_treated: float
    adjusted_mean_control: float
    std_error: float
    df: float
    t_statistic: float
    alpha: float
    cuped_theta: float | None
    variance_reduction: float | None
    relative_ci_method: str = RELATIVE_CI_METHOD

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _welch(var_t: float, n_t: int, var_c: float, n_c: int) -> tuple[float, float]:
    """Standard error of the difference of means and the Welch–Satterthwaite degrees of freedom."""
    vt, vc = var_t / n_t, var_c / n_c
    se2 = vt + vc
    den = vt * vt / (n_t - 1) + vc * vc / (n_c - 1)
    return math.sqrt(se2), (se2 * se2 / den if den > 0 else math.inf)


def lift(
    treated: Any, control: Any, *, pre_treated: Any = None, pre_control: Any = None, alpha: float = 0.05
) -> LiftResult:
    """Lift of the treated arm over the control arm, by Welch's unequal-variance t-test.

    `treated`, `control`: one outcome per customer (0/1 conversion or an amount). With `pre_treated` and
    `pre_control` (the same customers' values of a pre-period covariate, usually the same metric before the
    campaign), CUPED (Deng, Xu, Kohavi & Walker 2013): θ = pooled within-arm cov(X, Y) / pooled within-arm var(X),
    each outcome becomes Y − θ(X − X̄) with X̄ the mean over both arms, and the Welch test runs on the adjusted
    outcomes. The adjusted difference is unbiased because the assignment is independent of X; its variance is
    about (1 − ρ²) of the raw one, reported as `variance_reduction` = 1 − SE²(adjusted)/SE²(raw).

    Welch: SE = √(s_t²/n_t + s_c²/n_c), df = SE⁴ / ((s_t²/n_t)²/(n_t−1) + (s_c²/n_c)²/(n_c−1)), t = Δ/SE,
    p = 2·P(T_df > |t|), CI = Δ ± t_{df,1−α/2}·SE. The relative lift's CI is the delta method on the ratio of the
    adjusted means (every covariance term included, θ taken as known) with the normal quantile.

    Raises ValueError for malformed input (empty arm, NaN, mismatched pre-period lengths) and
    InsufficientDataError (a ValueError) when an arm has fewer than 2 customers or neither arm varies.
    """
    a = _alpha(alpha)
    yt = _outcomes("treated", treated)
    yc = _outcomes("control", control)
    xt, xc = _pre_pair(yt, yc, pre_treated, pre_control)
    nt, nc = yt.size, yc.size
    if nt < 2 or nc < 2:
        raise InsufficientDataError(f"each arm needs at least 2 customers (treated {nt}, control {nc})")
    mt, mc = float(yt.mean()), float(yc.mean())
    vyt, vyc = float(yt.var(ddof=1)), float(yc.var(ddof=1))

    theta = None
    reduction = None
    if xt is None:
        at, ac = mt, mc
        vt, vc = vyt, vyc
        cov_t = np.array([[vyt, 0.0], [0.0, 0.0]])
        cov_c = np.array([[vyc, 0.0], [0.0, 0.0]])
        th = 0.0
        wt = wc = 0.0
        xbar_t = xbar_c = 0.0
    else:
        xbar_t, xbar_c = float(xt.mean()), float(xc.mean())
        dxt, dxc = xt - xbar_t, xc - xbar_c
        dyt, dyc = yt - mt, yc - mc
        sxx = float(dxt @ dxt + dxc @ dxc)
        sxy = float(dxt @ dyt + dxc @ dyc)  # pooled within-arm cross-products (the ANCOVA slope)
        # A pre-period without variation carries no information: θ = 0 leaves the plain Welch test.
        th = sxy / sxx if sxx > 0 else 0.0
        theta = th
        cxy_t, cxy_c = dxt @ dyt, dxc @ dyc
        cov_t = np.array([[dyt @ dyt, cxy_t], [cxy_t, dxt @ dxt]]) / (nt - 1)
        cov_c = np.array([[dyc @ dyc, cxy_c], [cxy_c, dxc @ dxc]]) / (nc - 1)
        # Adjusted outcome Y − θ(X − X̄), X̄ over both arms: per-arm variance var(Y) − 2θcov + θ²var(X).
        vt = max(0.0, float(cov_t[0, 0] - 2 * th * cov_t[0, 1] + th * th * cov_t[1, 1]))
        vc = max(0.0, float(cov_c[0, 0] - 2 * th * cov_c[0, 1] + th * th * cov_c[1, 1]))
        n = nt + nc
        wt, wc = nc / n, nt / n  # x̄_t − X̄ = (n_c/n)(x̄_t − x̄_c); x̄_c − X̄ = (n_t/n)(x̄_c − x̄_t)
        at = float(mt - th * wt * (xbar_t - xbar_c))
        ac = float(mc - th * wc * (xbar_c - xbar_t))

    if vt == 0 and vc == 0:
        raise InsufficientDataError(
            "neither arm varies (e.g. no conversions yet in either): the difference cannot be tested"
        )
    se, df = _welch(vt, nt, vc, nc)
    diff = at - ac
    tstat = diff / se
    p = float(2 * special.stdtr(df, -abs(tstat)))
    crit = float(special.stdtrit(df, 1 - a / 2))
    if xt is not None:
        se_raw2 = vyt / nt + vyc / nc
        reduction = 1 - se * se / se_raw2 if se_raw2 > 0 else 0.0

    relative = rel_lo = rel_hi = None
    if ac > 0:
        relative = at / ac - 1
        # Gradient of R = ã_t / ã_c with respect to (ȳ_t, x̄_t) and (ȳ_c, x̄_c), where
        # ã_t = ȳ_t − θ w_t (x̄_t − x̄_c) and ã_c = ȳ_c − θ w_c (x̄_c − x̄_t).
        g_t = np.array([1 / ac, -th * wt / ac - at * th * wc / ac**2])
        g_c = np.array([-at / ac**2, th * wt / ac + at * th * wc / ac**2])
        var_r = float(g_t @ cov_t @ g_t) / nt + float(g_c @ cov_c @ g_c) / nc
        z = float(special.ndtri(1 - a / 2))
        half = z * math.sqrt(max(var_r, 0.0))
        rel_lo, rel_hi = relative - half, relative + half

    return LiftResult(
        absolute=diff,
        relative=relative,
        ci_low=diff - crit * se,
        ci_high=diff + crit * se,
        relative_ci_low=rel_lo,
        relative_ci_high=rel_hi,
        p_value=p,
        n_treated=nt,
        n_control=nc,
        mean_treated=mt,
        mean_control=mc,
        adjusted_mean_treated=at,
        adjusted_mean_control=ac,
        std_error=se,
        df=df,
        t_statistic=tstat,
        alpha=a,
        cuped_theta=theta,
        variance_reduction=reduction,
    )


@dataclass(frozen=True)
class Incremental:
    """Incremental outcome (revenue, conversions) over `n` treated customers: lift × n, CI scaled alike."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    per_customer: float
    alpha: float


def incremental(result: LiftResult, *, n: int | None = None) -> Incremental:
    """Incremental total = absolute lift × n (default n = the treated count), its CI = the lift's CI × n.

    This treats the lift as the expected effect per treated customer (the super-population view), so the CI also
    covers what the same campaign would add on another draw of customers; it is slightly wider than the CI of the
    realised increment in this very treated group, whose own total is observed without error."""
    if not isinstance(result, LiftResult):
        raise ValueError("incremental() takes the LiftResult that lift() returned")
    if n is None:
        n = result.n_treated
    if not isinstance(n, Integral) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative whole number of customers, got {n!r}")
    n = int(n)
    return Incremental(
        value=result.absolute * n,
        ci_low=result.ci_low * n,
        ci_high=result.ci_high * n,
        n=n,
        per_customer=result.absolute,
        alpha=result.alpha,
    )


# ---------------------------------------------------------------------------------------------------------------
# Sequential monitoring

DESIGNS = ("fixed_audience", "accruing")
"""How the looks differ. `fixed_audience`: the customers are fixed at the send and each look sees their outcomes
accumulated over a longer window (a campaign's results page, day by day): the lift estimate is a running total of
independent daily increments, its variance V grows, and the noise is a martingale in V. `accruing`: each look adds
customers whose outcome is complete (a trigger campaign, or outcomes measured a fixed time after each send): the
estimate is a mean over more customers, V shrinks, and the noise is a martingale in 1/V."""


def optimal_mixture_ratio(alpha: float) -> float:
    """r* solving r = 2·log(1/α) + log(1 + r) (≈ 8.21 at α = 0.05): the mixture that makes the confidence sequence
    narrowest at the look where the estimate's variance is v_star (there it is ±3.03·√v_star at α = 0.05,
    against ±1.96·√v_star for a single look)."""
    a = _alpha(alpha)
    two_l = 2 * math.log(1 / a)
    r = two_l + math.log1p(two_l)
    for _ in range(100):  # a contraction: the derivative of the right-hand side is 1/(1+r) < 1
        nxt = two_l + math.log1p(r)
        if abs(nxt - r) < 1e-13:
            return nxt
        r = nxt
    return r


def planned_variance(
    n_treated: int, n_control: int, *, baseline_rate: float | None = None, baseline_sd: float | None = None
) -> float:
    """The variance of the lift estimate a campaign of this size will have at the end of its window:
    σ²·(1/n_t + 1/n_c) with σ² = p(1 − p) for a rate or baseline_sd² for an amount (e.g. the customers' spread of
    the same outcome over an equally long pre-period). Fixed before launch, it is the `v_star` of a
    fixed-audience confidence sequence."""
    for name, n in (("n_treated", n_treated), ("n_control", n_control)):
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must be a positive whole number, got {n!r}")
    if (baseline_rate is None) == (baseline_sd is None):
        raise ValueError("give baseline_rate (a conversion) or baseline_sd (an amount)")
    if baseline_rate is not None:
        p = _share("baseline_rate", baseline_rate)
        var = p * (1 - p)
    else:
        if not (isinstance(baseline_sd, (int, float)) and math.isfinite(baseline_sd) and baseline_sd > 0):
            raise ValueError(f"baseline_sd must be a positive number, got {baseline_sd!r}")
        var = float(baseline_sd) ** 2
    return var * (1 / n_treated + 1 / n_control)


@dataclass(frozen=True)
class SequentialResult:
    """One look at a running campaign. The CIs of all looks hold at once with probability ≥ 1 − alpha, and a
    rejection at any look (p_value ≤ alpha) keeps the false-positive rate ≤ alpha however often one looks. The
    p-value is the always-valid one at this look: keep the running minimum over looks (and the running
    intersection of CIs, for a constant effect) for the strongest statement. Fields are floats, or arrays when
    the moments were."""

    estimate: Any
    ci_low: Any
    ci_high: Any
    p_value: Any
    variance: Any
    n_treated: Any
    n_control: Any
    v_star: Any
    design: str
    alpha: float

    @property
    def reject(self) -> Any:
        return self.p_value <= self.alpha


def always_valid_from_moments(
    n_treated: Any,
    mean_treated: Any,
    var_treated: Any,
    n_control: Any,
    mean_control: Any,
    var_control: Any,
    *,
    design: str,
    alpha: float = 0.05,
    v_star: float | None = None,
    planned_n: int | None = None,
) -> SequentialResult:
    """A confidence sequence for the difference of means from per-arm counts, means and variances (ddof=1):
    scalars or arrays of any matching shape (looks × simulations), so SQL aggregates can be fed in directly.

    Δ̂ = m_t − m_c and V = s_t²/n_t + s_c²/n_c at each look. Both designs bound a martingale by Robbins' normal
    mixture (Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021): for a martingale S with variance process s,
    ∫ exp(λS − λ²s/2) dN(0, 1/a)(λ) = √(a/(a+s))·exp(S²/(2(a+s))) is a non-negative supermartingale, so by Ville's
    inequality it passes 1/α with probability ≤ α at any look; inverting it gives |S| ≤ √((s+a)(2·log(1/α) +
    log((s+a)/a))) at every look at once. With r* = `optimal_mixture_ratio(α)`:

    - `fixed_audience`: S = Δ̂ − Δ, s = V, a = v_star/r*. CI: Δ̂ ± √((V+a)(2·log(1/α) + log((V+a)/a))); it covers the
      lift of the window so far at every look, even as that lift grows. p = min(1, √((a+V)/a)·exp(−Δ̂²/(2(a+V)))).
      `v_star` is required (`planned_variance` before launch): it must not depend on the outcomes seen.
    - `accruing`: S = (Δ̂ − Δ)/V, s = 1/V, i.e. the mSPRT of Johari, Koomen, Pekelis & Walsh (2017) with mixture
      variance τ² = r*·v_star: CI Δ̂ ± √(V(V+τ²)/τ² · (2·log(1/α) + log((V+τ²)/V))), p = min(1, 1/Λ) with
      Λ = √(V/(V+τ²))·exp(τ²Δ̂²/(2V(V+τ²))). Either `v_star` or `planned_n` (customers in both arms when complete;
      then v_star = V·n/planned_n, which with the variance taken from the data is the asymptotic confidence
      sequence of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas 2024).

    v_star is the estimate's variance at the look where the sequence should be tightest (±3.03·√v_star at
    α = 0.05); a wrong guess costs width, never validity. The variances are estimated from the data, so the
    guarantee is asymptotic (CLT), checked by simulation in the tests.
    """
    a = _alpha(alpha)
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {DESIGNS}, got {design!r}")
    nt = np.asarray(n_treated, dtype=float)
    nc = np.asarray(n_control, dtype=float)
    if np.any(nt < 2) or np.any(nc < 2):
        raise InsufficientDataError("each arm needs at least 2 customers at every look")
    vt = np.asarray(var_treated, dtype=float)
    vc = np.asarray(var_control, dtype=float)
    if not (np.all(np.isfinite(vt)) and np.all(np.isfinite(vc))) or np.any(vt < 0) or np.any(vc < 0):
        raise ValueError("variances must be finite and non-negative")
    est = np.asarray(mean_treated, dtype=float) - np.asarray(mean_control, dtype=float)
    if not np.all(np.isfinite(est)):
        raise ValueError("means must be finite")
    v = vt / nt + vc / nc
    if np.any(v <= 0):
        raise InsufficientDataError("neither arm varies at some look: the difference cannot be tested yet")
    if v_star is not None:
        if not (isinstance(v_star, (int, float)) and math.isfinite(v_star) and v_star > 0):
            raise ValueError(f"v_star must be a positive variance, got {v_star!r}")
        vs = np.full_like(v, float(v_star))
    elif design == "accruing" and planned_n is not None:
        if not isinstance(planned_n, Integral) or isinstance(planned_n, bool) or planned_n < 4:
            raise ValueError(f"planned_n must be a whole number ≥ 4, got {planned_n!r}")
        vs = v * (nt + nc) / float(planned_n)
    else:
        need = "v_star (see planned_variance)" if design == "fixed_audience" else "planned_n or v_star"
        raise ValueError(f"a {design} confidence sequence needs {need}, fixed before the first look")
    rstar = optimal_mixture_ratio(a)
    two_l = 2 * math.log(1 / a)
    if design == "fixed_audience":
        mix = vs / rstar
        half = np.sqrt((v + mix) * (two_l + np.log((v + mix) / mix)))
        log_m = -0.5 * np.log((v + mix) / mix) + est * est / (2 * (v + mix))
    else:
        tau2 = rstar * vs
        ratio = (v + tau2) / v
        half = np.sqrt(v * (v + tau2) / tau2 * (two_l + np.log(ratio)))
        log_m = -0.5 * np.log(ratio) + tau2 * est * est / (2 * v * (v + tau2))
    p = np.exp(-np.maximum(log_m, 0.0))

    def out(x):
        x = np.asarray(x)
        return float(x) if x.ndim == 0 else x

    def count(x):
        x = np.asarray(x)
        return int(x) if x.ndim == 0 else x.astype(np.int64)

    return SequentialResult(
        estimate=out(est),
        ci_low=out(est - half),
        ci_high=out(est + half),
        p_value=out(p),
        variance=out(v),
        n_treated=count(nt),
        n_control=count(nc),
        v_star=out(vs),
        design=design,
        alpha=a,
    )


def always_valid_ci(
    treated: Any,
    control: Any,
    *,
    design: str,
    alpha: float = 0.05,
    v_star: float | None = None,
    planned_n: int | None = None,
    pre_treated: Any = None,
    pre_control: Any = None,
) -> SequentialResult:
    """`always_valid_from_moments` on the outcome arrays of this look (CUPED-adjusted as in `lift` when the
    pre-period arrays are given; θ is re-estimated at each look, which the asymptotic theory allows)."""
    _alpha(alpha)
    yt = _outcomes("treated", treated)
    yc = _outcomes("control", control)
    xt, xc = _pre_pair(yt, yc, pre_treated, pre_control)
    if yt.size < 2 or yc.size < 2:
        raise InsufficientDataError(
            f"each arm needs at least 2 customers (treated {yt.size}, control {yc.size})"
        )
    if xt is not None:
        dxt, dxc = xt - xt.mean(), xc - xc.mean()
        sxx = float(dxt @ dxt + dxc @ dxc)
        th = float(dxt @ (yt - yt.mean()) + dxc @ (yc - yc.mean())) / sxx if sxx > 0 else 0.0
        xbar = (xt.sum() + xc.sum()) / (xt.size + xc.size)
        yt = yt - th * (xt - xbar)
        yc = yc - th * (xc - xbar)
    return always_valid_from_moments(
        yt.size,
        yt.mean(),
        yt.var(ddof=1),
        yc.size,
        yc.mean(),
        yc.var(ddof=1),
        design=design,
        alpha=alpha,
        v_star=v_star,
        planned_n=planned_n,
    )


# ---------------------------------------------------------------------------------------------------------------
# Planning


@dataclass(frozen=True)
class SampleSize:
    """Customers needed so that a two-sided Welch test at `alpha` detects `mde_absolute` with `power`."""

    n_treated: int
    n_control: int
    n_total: int
    mde_absolute: float
    mde_relative: float | None
    baseline: float
    alpha: float
    power: float
    control_share: float
    variance_reduction: float


@dataclass(frozen=True)
class MinimumDetectableEffect:
    """The smallest true effect a campaign of this size detects with `power` (None: none within the outcome's
    range, e.g. a rate would have to pass 1)."""

    absolute: float | None
    relative: float | None
    n_treated: int
    n_control: int
    baseline: float
    alpha: float
    power: float


def _baseline(
    baseline_rate: float | None, baseline_mean: float | None, baseline_sd: float | None
) -> tuple[bool, float, float]:
    """(is_rate, baseline, sd) from exactly one description of the control outcome."""
    if baseline_rate is not None:
        if baseline_mean is not None or baseline_sd is not None:
            raise ValueError(
                "give baseline_rate (a conversion) or baseline_mean and baseline_sd (an amount), not both"
            )
        return True, _share("baseline_rate", baseline_rate), math.nan
    if baseline_sd is None:
        raise ValueError(
            "give baseline_rate (a conversion), or baseline_sd (and baseline_mean) for an amount"
        )
    if not (isinstance(baseline_sd, (int, float)) and math.isfinite(baseline_sd) and baseline_sd > 0):
        raise ValueError(f"baseline_sd must be a positive number, got {baseline_sd!r}")
    if baseline_mean is not None and not (
        isinstance(baseline_mean, (int, float)) and math.isfinite(baseline_mean)
    ):
        raise ValueError(f"baseline_mean must be a number, got {baseline_mean!r}")
    return False, (math.nan if baseline_mean is None else float(baseline_mean)), float(baseline_sd)


def _power_args(alpha: float, power: float, variance_reduction: float) -> tuple[float, float]:
    a = _alpha(alpha)
    pw = _share("power", power)
    if not (isinstance(variance_reduction, (int, float)) and 0 <= variance_reduction < 1):
        raise ValueError(f"variance_reduction must be in [0, 1), got {variance_reduction!r}")
    return a, float(special.ndtri(1 - a / 2) + special.ndtri(pw))


def sample_size(
    *,
    mde: float,
    baseline_rate: float | None = None,
    baseline_mean: float | None = None,
    baseline_sd: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    control_share: float = 0.1,
    variance_reduction: float = 0.0,
) -> SampleSize:
    """Customers per arm for a two-sided test of a difference in means at level alpha with the given power.

    N = (z_{1−α/2} + z_{power})² · (σ_t²/(1−c) + σ_c²/c) · (1 − variance_reduction) / δ², n_t = ⌈(1−c)N⌉,
    n_c = ⌈cN⌉, with c the control share and δ the effect (`mde`, or `mde` × baseline when `relative`). A rate:
    σ_c² = p(1−p), σ_t² = (p+δ)(1−p−δ) (unpooled, as the Welch test is); an amount: σ_t = σ_c = baseline_sd.
    `variance_reduction` is what CUPED is expected to remove (ρ² of the pre-period with the outcome). δ may be
    negative (a fall in churn). Normal approximation: the t-test needs a few customers more when n is tiny."""
    is_rate, base, sd = _baseline(baseline_rate, baseline_mean, baseline_sd)
    a, z = _power_args(alpha, power, variance_reduction)
    pw = float(power)
    c = _share("control_share", control_share)
    if not (isinstance(mde, (int, float)) and math.isfinite(mde) and mde != 0):
        raise ValueError(f"mde must be a non-zero number, got {mde!r}")
    if relative:
        if not (math.isfinite(base) and base != 0):
            raise ValueError("a relative mde needs a non-zero baseline (baseline_rate or baseline_mean)")
        delta = float(mde) * base
    else:
        delta = float(mde)
    if is_rate:
        p1 = base + delta
        if not 0 < p1 < 1:
            raise ValueError(f"baseline_rate + effect = {p1:.4g} is not a rate in (0, 1)")
        var_t, var_c = p1 * (1 - p1), base * (1 - base)
    else:
        var_t = var_c = sd * sd
    n_star = z * z * (var_t / (1 - c) + var_c / c) * (1 - variance_reduction) / (delta * delta)
    nt, nc = math.ceil((1 - c) * n_star), math.ceil(c * n_star)
    rel = delta / base if math.isfinite(base) and base != 0 else None
    return SampleSize(
        n_treated=nt,
        n_control=nc,
        n_total=nt + nc,
        mde_absolute=delta,
        mde_relative=rel,
        baseline=base,
        alpha=a,
        power=pw,
        control_share=c,
        variance_reduction=float(variance_reduction),
    )


def minimum_detectable_effect(
    n_treated: int,
    n_control: int,
    *,
    baseline_rate: float | None = None,
    baseline_mean: float | None = None,
    baseline_sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    variance_reduction: float = 0.0,
    decrease: bool = False,
) -> MinimumDetectableEffect:
    """The inverse of `sample_size`: the smallest |δ| with (z_{1−α/2} + z_{power})·√(σ_t²/n_t + σ_c²/n_c)·
    √(1 − variance_reduction) = |δ|. For a rate σ_t² depends on δ, so it is solved numerically (an increase by
    default; `decrease=True` for a fall, e.g. churn)."""
    is_rate, base, sd = _baseline(baseline_rate, baseline_mean, baseline_sd)
    a, z = _power_args(alpha, power, variance_reduction)
    for name, n in (("n_treated", n_treated), ("n_control", n_control)):
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 2:
            raise ValueError(f"{name} must be a whole number ≥ 2, got {n!r}")
    k = math.sqrt(1 - variance_reduction)
    sign = -1.0 if decrease else 1.0
    if is_rate:

        def gap(d: float) -> float:
            p1 = base + sign * d
            return d - z * k * math.sqrt(p1 * (1 - p1) / n_treated + base * (1 - base) / n_control)

        top = base if decrease else 1 - base
        # No solution below the outcome's bound: nothing within the possible range is detectable.
        absolute = None if gap(top) <= 0 else sign * optimize.brentq(gap, 0.0, top, xtol=1e-12, rtol=1e-12)
    else:
        absolute = sign * z * k * sd * math.sqrt(1 / n_treated + 1 / n_control)
    rel = absolute / base if absolute is not None and math.isfinite(base) and base != 0 else None
    return MinimumDetectableEffect(
        absolute=absolute,
        relative=rel,
        n_treated=int(n_treated),
        n_control=int(n_control),
        baseline=base,
        alpha=a,
        power=float(power),
    )


# ---------------------------------------------------------------------------------------------------------------
# Sample-ratio mismatch


def srm_p_value(n_treated: int, n_control: int, expected_control_share: float) -> float:
    """Chi-square goodness of fit (1 df) of the observed arm sizes to the intended split:
    χ² = (n_c − N·c)²/(N·c) + (n_t − N·(1−c))²/(N·(1−c)), p = P(χ²₁ > χ²)."""
    c = _share("expected_control_share", expected_control_share)
    for name, n in (("n_treated", n_treated), ("n_control", n_control)):
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 0:
            raise ValueError(f"{name} must be a non-negative whole number, got {n!r}")
    total = int(n_treated) + int(n_control)
    if total == 0:
        raise ValueError("no customers in either arm")
    ec, et = total * c, total * (1 - c)
    chi2 = (int(n_control) - ec) ** 2 / ec + (int(n_treated) - et) ** 2 / et
    return float(special.chdtrc(1, chi2))


def srm_alarm(
    n_treated: int, n_control: int, expected_control_share: float, *, threshold: float = SRM_P_THRESHOLD
) -> bool:
    """True when the arm sizes are too far from the intended split to trust the comparison."""
    return srm_p_value(n_treated, n_control, expected_control_share) < threshold


# ---------------------------------------------------------------------------------------------------------------
# Holdout assignment


def _id_list(customer_ids: Any) -> list:
    ids = np.asarray(customer_ids)
    if ids.ndim != 1:
        raise ValueError(f"customer_ids must be a one-dimensional array, got shape {ids.shape}")
    kind = ids.dtype.kind
    if kind in "iuU":
        return ids.tolist()
    if kind == "O":
        lst = ids.tolist()
        for i, x in enumerate(lst):
            if isinstance(x, bool) or not isinstance(x, (Integral, str)):
                raise ValueError(
                    f"customer id at position {i} is {x!r}: ids must be whole numbers or strings"
                )
        return lst
    raise ValueError(f"customer ids must be whole numbers or strings, got dtype {ids.dtype}")


def hash_u64(customer_ids: Any, salt: str) -> np.ndarray:
    """blake2b (RFC 7693, digest_size=8) of the UTF-8 text f"{salt}:{id}", read as a big-endian unsigned 64-bit
    integer. The id is written in decimal for an integer and as is for a string, so 42 and "42" hash alike.
    Independent of process, platform and of the other ids in the array."""
    if not isinstance(salt, str) or not salt:
        raise ValueError("salt must be a non-empty string (e.g. the campaign's key)")
    b2 = hashlib.blake2b
    digests = b"".join([b2(f"{salt}:{i}".encode(), digest_size=8).digest() for i in _id_list(customer_ids)])
    return np.frombuffer(digests, dtype=">u8").astype(np.uint64)


def hash_unit(customer_ids: Any, salt: str) -> np.ndarray:
    """`hash_u64`'s top 53 bits / 2⁵³: a uniform number in [0, 1) per customer, exact in float64."""
    return (hash_u64(customer_ids, salt) >> np.uint64(11)).astype(np.float64) / float(2**53)


def assign_holdout(customer_ids: Any, salt: str, control_share: float, strata: Any = None) -> np.ndarray:
    """True for the customers held out as the control group.

    Unstratified: control ⇔ hash_unit(id, salt) < control_share. Sticky: a customer's arm depends only on its id,
    the salt and the share, never on the other ids in the array; the control count is Binomial(n, share).

    Stratified (`strata`: one label per customer, e.g. tier; None/NaN is a stratum of its own): within each
    stratum the customers are ranked by their hash and the first ⌊share·n_s + ½⌋ are control, so every stratum's
    control count is as close to share·n_s as rounding allows. The result does not depend on the order of the
    array, but a customer's arm may change when customers join or leave its stratum (sticky only within an
    unchanged stratum). Ids must be unique in this form. Ties of the 64-bit hash (≈ n²/2⁶⁵) keep input order.
    """
    c = _share("control_share", control_share, closed=True)
    h = hash_u64(customer_ids, salt)
    if strata is None:
        return (h >> np.uint64(11)).astype(np.float64) / float(2**53) < c
    labels = (
        np.asarray(strata, dtype=object) if not isinstance(strata, pd.Series) else strata.to_numpy(object)
    )
    if labels.ndim != 1 or labels.size != h.size:
        raise ValueError(f"strata must have one label per customer ({h.size}), got shape {labels.shape}")
    ids = np.asarray(customer_ids)
    if pd.Index(ids).has_duplicates:
        raise ValueError("customer_ids has duplicates: a stratified holdout ranks each customer once")
    codes, _ = pd.factorize(labels, use_na_sentinel=False)
    n = h.size
    order = np.lexsort((h, codes))
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    sizes = np.diff(np.r_[starts, n])
    quota = np.floor(c * sizes + 0.5).astype(np.int64)
    rank = np.arange(n) - np.repeat(starts, sizes)
    control = np.empty(n, dtype=bool)
    control[order] = rank < np.repeat(quota, sizes)
    return control
