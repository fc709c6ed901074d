"""Buy-till-you-die models over plain NumPy arrays: BG/NBD, Gamma-Gamma and discounted CLV.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science 24(2)): while
alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase they drop out with
probability p ~ Beta(a, b). A customer is summarised by x (repeat purchases), t_x (time of the last purchase,
measured from the first) and T (time from the first purchase to the end of observation).

Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves", after Colombo & Jiang 1999): the
spend of each transaction is Gamma(p, ν) with ν ~ Gamma(q, γ) per customer, independent of the purchase
process; it is fitted on customers with at least one repeat purchase and their mean repeat spend m_x.

Both fits maximise the weighted log-likelihood over *unique* input rows (the number of customers sharing a
pattern is its weight), with L-BFGS-B on the logarithms of the parameters and analytic gradients. Inputs are
rescaled internally (time so that max T = 10, money so that the mean spend is 1) for conditioning; the returned
parameters are in the caller's units. No Django here: everything takes and returns arrays.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import optimize
from scipy.special import digamma, expit, gammaln, hyp2f1

__all__ = [
    "BGNBDParams", "GammaGammaParams", "FitInfo", "unique_rows", "bgnbd_log_likelihood", "fit_bgnbd",
    "bgnbd_expected_purchases", "bgnbd_population_expected_purchases", "bgnbd_p_alive", "fit_gamma_gamma",
    "gamma_gamma_expected_spend", "customer_lifetime_value",
]


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class FitInfo:
    """How a fit went: rows (unique patterns) and customers (sum of weights) it saw, the mean log-likelihood
    per customer at the optimum, optimizer iterations and function evaluations, seconds, convergence."""

    rows: int
    customers: float
    log_likelihood: float
    iterations: int
    evaluations: int
    seconds: float
    converged: bool
    message: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Collapse equal rows of the given columns: returns (unique columns, counts, inverse index).

    `unique[k][inverse]` gives back column k, so a prediction made once per pattern is mapped to every customer.
    """
    stacked = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    uniq, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return [uniq[:, k] for k in range(uniq.shape[1])], counts.astype(np.float64), inverse.reshape(-1)


def _as_arrays(*values) -> list[np.ndarray]:
    return [np.asarray(v, dtype=np.float64) for v in values]


# ---------------------------------------------------------------------------------------------------------------
# BG/NBD


def _bgnbd_terms(r, alpha, a, b, x, t_x, T):
    """The log-likelihood pieces of FHL (2005) eq. (6), written as in Hardie's note 004:
    L = B(a, b+x)/B(a, b) · Γ(r+x)α^r/Γ(r) · [(α+T)^-(r+x) + δ(x>0) a/(b+x-1) (α+t_x)^-(r+x)]."""
    has_repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    # b + x - 1 > 0 whenever x ≥ 1; for x = 0 the term is absent (its value is masked, the log kept finite).
    a4 = np.where(has_repeat, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1, a2, a3, a4, has_repeat


def bgnbd_log_likelihood(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """Per-row log-likelihood of (x, t_x, T) under `params`."""
    x, t_x, T = _as_arrays(x, t_x, T)
    a1, a2, a3, a4, _ = _bgnbd_terms(params.r, params.alpha, params.a, params.b, x, t_x, T)
    return a1 + a2 + np.logaddexp(a3, a4)


def _bgnbd_objective(theta, x, t_x, T, w, wsum):
    """Negative weighted mean log-likelihood and its gradient with respect to the log-parameters."""
    r, alpha, a, b = np.exp(theta)
    a1, a2, a3, a4, has_repeat = _bgnbd_terms(r, alpha, a, b, x, t_x, T)
    tail = np.logaddexp(a3, a4)
    ll = a1 + a2 + tail
    s4 = np.exp(a4 - tail)  # share of the "dropped after the last purchase" branch; 0 when x = 0
    s3 = 1.0 - s4
    log_at = np.log(alpha + T)
    log_atx = np.log(alpha + t_x)
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + x)
    d_r = digamma(r + x) - digamma(r) + math.log(alpha) - s3 * log_at - s4 * log_atx
    d_alpha = r / alpha - (r + x) * (s3 / (alpha + T) + s4 / (alpha + t_x))
    d_a = psi_ab - psi_abx + s4 / a
    d_b = psi_ab + digamma(b + x) - digamma(b) - psi_abx - np.where(has_repeat, s4 / (b + np.maximum(x, 1) - 1), 0.0)
    value = -np.dot(w, ll) / wsum
    grad = -np.array([r * np.dot(w, d_r), alpha * np.dot(w, d_alpha), a * np.dot(w, d_a),
                      b * np.dot(w, d_b)]) / wsum
    return value, grad


def _time_scale(T: np.ndarray) -> float:
    top = float(np.max(T)) if T.size else 0.0
    return 10.0 / top if top > 0 else 1.0


def fit_bgnbd(x, t_x, T, weights=None, *, initial: BGNBDParams | None = None, tol: float = 1e-12,
              max_iter: int = 2000) -> tuple[BGNBDParams, FitInfo]:
    """Maximum-likelihood BG/NBD parameters for customers (x, t_x, T), in the units of t_x and T.

    Pass unique rows with `weights` = number of customers per row (see `unique_rows`); without weights every
    row counts once. x must be whole numbers ≥ 0 and 0 ≤ t_x ≤ T; t_x = 0 when x = 0.
    """
    x, t_x, T = _as_arrays(x, t_x, T)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    _check_bgnbd_inputs(x, t_x, T, w)
    started = time.perf_counter()
    scale = _time_scale(T)
    ts_x, ts_T = t_x * scale, T * scale
    if initial is None:
        theta0 = np.zeros(4)
    else:
        theta0 = np.log([initial.r, initial.alpha * scale, initial.a, initial.b])
    wsum = float(w.sum())
    res = optimize.minimize(_bgnbd_objective, theta0, args=(x, ts_x, ts_T, w, wsum), jac=True, method="L-BFGS-B",
                            bounds=[(-12.0, 12.0)] * 4,
                            options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-9, "maxcor": 20})
    r, alpha, a, b = np.exp(res.x)
    params = BGNBDParams(r=float(r), alpha=float(alpha / scale), a=float(a), b=float(b))
    # The likelihood is a density in the x purchase times: back in the caller's units it gains x·log(scale).
    log_likelihood = float(-res.fun + np.dot(w, x) * math.log(scale) / wsum)
    info = FitInfo(rows=int(x.size), customers=wsum, log_likelihood=log_likelihood, iterations=int(res.nit),
                   evaluations=int(res.nfev), seconds=round(time.perf_counter() - started, 4),
                   converged=bool(res.success), message=str(res.message),
                   extra={"time_scale": scale})
    return params, info


def _check_bgnbd_inputs(x, t_x, T, w) -> None:
    if not (x.shape == t_x.shape == T.shape == w.shape):
        raise ValueError("x, t_x, T and weights must have the same length")
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("x must be whole numbers ≥ 0")
    # T = 0 (first purchase at the very end of observation) is allowed: such a customer adds 0 to the LL.
    if np.any(t_x < 0) or np.any(t_x > T) or not np.any(T > 0):
        raise ValueError("need 0 ≤ t_x ≤ T, and T > 0 for someone")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("t_x must be 0 when x is 0")
    if np.any(w < 0) or not np.any(w > 0):
        raise ValueError("weights must be ≥ 0 with at least one > 0")


def _log_hyp2f1(a, b, c, z):
    """log 2F1(a, b; c; z) for 0 ≤ z < 1, falling back on Euler's transformation
    2F1(a, b; c; z) = (1 - z)^(c-a-b) 2F1(c-a, c-b; c; z) where the direct series overflows or loses sign."""
    a, b, c, z = np.broadcast_arrays(*_as_arrays(a, b, c, z))
    direct = hyp2f1(a, b, c, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(direct)
        bad = ~np.isfinite(out)
        if np.any(bad):
            ab, bb, cb, zb = a[bad], b[bad], c[bad], z[bad]
            out[bad] = np.log(hyp2f1(cb - ab, cb - bb, cb, zb)) + (cb - ab - bb) * np.log1p(-zb)
    return out


def bgnbd_expected_purchases(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected repeat purchases in the next `t` time units (FHL 2005 eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = _as_arrays(x, t_x, T)
    t = np.asarray(t, dtype=np.float64)
    z = t / (alpha + T + t)
    log_tail = _log_hyp2f1(r + x, b + x, a + b + x - 1, z) + (r + x) * np.log((alpha + T) / (alpha + T + t))
    head = (a + b + x - 1) / (a - 1)
    numerator = head * -np.expm1(log_tail)
    denominator = 1 + np.where(x > 0, a / (b + np.maximum(x, 1) - 1), 0.0) * np.exp(
        (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return numerator / denominator


def bgnbd_population_expected_purchases(params: BGNBDParams, t) -> np.ndarray:
    """E[X(t)]: expected purchases in (0, t] of a new customer, from the population (FHL 2005 eq. 9)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=np.float64)
    log_tail = _log_hyp2f1(r, b, a + b - 1, t / (alpha + t)) + r * np.log(alpha / (alpha + t))
    return (a + b - 1) / (a - 1) * -np.expm1(log_tail)


def bgnbd_p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(alive | x, t_x, T) (Hardie's note 021): 1 for customers without a repeat purchase, else
    1 / (1 + a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = _as_arrays(x, t_x, T)
    log_odds = np.log(a / (b + np.maximum(x, 1) - 1)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(x > 0, expit(-log_odds), 1.0)


# ---------------------------------------------------------------------------------------------------------------
# Gamma-Gamma


def _gg_objective(theta, x, m, w, wsum):
    p, q, g = np.exp(theta)
    px = p * x
    log_gxm = np.log(g + x * m)
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m) + px * np.log(x)
          - (px + q) * log_gxm)
    psi_pxq = digamma(px + q)
    d_p = x * (psi_pxq - digamma(px) + np.log(m) + np.log(x) - log_gxm)
    d_q = psi_pxq - digamma(q) + np.log(g) - log_gxm
    d_g = q / g - (px + q) / (g + x * m)
    value = -np.dot(w, ll) / wsum
    grad = -np.array([p * np.dot(w, d_p), q * np.dot(w, d_q), g * np.dot(w, d_g)]) / wsum
    return value, grad


def fit_gamma_gamma(x, m, weights=None, *, initial: GammaGammaParams | None = None, tol: float = 1e-12,
                    max_iter: int = 2000) -> tuple[GammaGammaParams, FitInfo]:
    """Maximum-likelihood Gamma-Gamma parameters from repeat purchases x ≥ 1 and mean repeat spend m > 0.

    Rows with x = 0 or m ≤ 0 carry no information about spend and must be left out by the caller.
    """
    x, m = _as_arrays(x, m)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (x.shape == m.shape == w.shape) or x.size == 0:
        raise ValueError("x, m and weights must be non-empty and of the same length")
    if np.any(x < 1) or np.any(m <= 0):
        raise ValueError("Gamma-Gamma needs x ≥ 1 and m > 0")
    started = time.perf_counter()
    scale = 1.0 / float(np.dot(w, m) / w.sum())
    ms = m * scale
    theta0 = np.zeros(3) if initial is None else np.log([initial.p, initial.q, initial.gamma * scale])
    wsum = float(w.sum())
    res = optimize.minimize(_gg_objective, theta0, args=(x, ms, w, wsum), jac=True, method="L-BFGS-B",
                            bounds=[(-12.0, 12.0)] * 3,
                            options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-9, "maxcor": 20})
    p, q, g = np.exp(res.x)
    params = GammaGammaParams(p=float(p), q=float(q), gamma=float(g / scale))
    # A density in m_x: back in the caller's money it gains log(scale).
    info = FitInfo(rows=int(x.size), customers=wsum, log_likelihood=float(-res.fun + math.log(scale)),
                   iterations=int(res.nit),
                   evaluations=int(res.nfev), seconds=round(time.perf_counter() - started, 4),
                   converged=bool(res.success), message=str(res.message), extra={"money_scale": scale})
    return params, info


def gamma_gamma_expected_spend(params: GammaGammaParams, x, m) -> np.ndarray:
    """E[M | x, m_x] = (p(γ + x·m_x)) / (p·x + q - 1): a weighted mean of the population mean p·γ/(q-1) and the
    customer's own mean m_x. Customers with x = 0 get the population mean. Needs q > 1."""
    p, q, g = params.p, params.q, params.gamma
    if q <= 1:
        raise ValueError("Gamma-Gamma expected spend needs q > 1")
    x, m = _as_arrays(x, m)
    own = np.where(x > 0, m, 0.0)
    return p * (g + x * own) / (p * x + q - 1)


# ---------------------------------------------------------------------------------------------------------------
# CLV


def customer_lifetime_value(params: BGNBDParams, x, t_x, T, expected_spend, *, months: int,
                            monthly_discount_rate: float, days_per_unit: float = 1.0,
                            margin: float | np.ndarray = 1.0) -> np.ndarray:
    """Discounted value of the next `months` months (the usual BG/NBD + Gamma-Gamma formulation):

        CLV = Σ_{i=1..months} margin · E[M] · (E[Y(i months)] − E[Y((i−1) months)]) / (1 + d)^i

    with d the monthly discount rate. One month is 365.25/12 days; `days_per_unit` says how many days one time
    unit of t_x and T is (1 when they are in days, 7 for weeks).
    """
    x, t_x, T, spend = _as_arrays(x, t_x, T, expected_spend)
    month = 365.25 / 12 / days_per_unit
    value = np.zeros_like(x)
    previous = np.zeros_like(x)
    for i in range(1, months + 1):
        cumulative = bgnbd_expected_purchases(params, i * month, x, t_x, T)
        value += (cumulative - previous) / (1 + monthly_discount_rate) ** i
        previous = cumulative
    return value * spend * margin
