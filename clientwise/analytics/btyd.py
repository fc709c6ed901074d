"""Buy-till-you-die models over plain NumPy arrays: BG/NBD, Gamma-Gamma and discounted CLV.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science 24(2)): while
alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase they drop out with
probability p ~ Beta(a, b). A customer is summarised by x (repeat purchases), t_x (time of the last purchase,
measured from the first) and T (time from the first purchase to the end of observation).

MBG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of models for customer
base analysis", IJRM 24(3)): the same, except that a customer may also drop out right after the first purchase,
so customers without a repeat purchase are not certain to be alive (BG/NBD gives them P(alive) = 1, a known
artefact). Same parameters (r, α, a, b); the likelihood is FHL's with B(a, b+x+1) and a/(b+x) for every x.

Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves", after Colombo & Jiang 1999): the
spend of each transaction is Gamma(p, ν) with ν ~ Gamma(q, γ) per customer, independent of the purchase
process; it is fitted on customers with at least one repeat purchase and their mean repeat spend m_x.

Both fits maximise the weighted log-likelihood over *unique* input rows (the number of customers sharing a
pattern is its weight), with L-BFGS-B on the logarithms of the parameters and analytic gradients. Inputs are
rescaled internally (time so that max T = 10, money so that the mean spend is 1) for conditioning; the returned
parameters are in the caller's units. No Django here: everything takes and returns arrays.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import optimize
from scipy.special import digamma, expit, gammaln, hyp2f1

__all__ = [
    "BGNBDParams", "GammaGammaParams", "FitInfo", "unique_rows", "bgnbd_log_likelihood", "fit_bgnbd",
    "bgnbd_expected_purchases", "bgnbd_population_expected_purchases", "bgnbd_p_alive", "fit_mbgnbd",
    "mbgnbd_log_likelihood", "mbgnbd_expected_purchases", "mbgnbd_population_expected_purchases", "mbgnbd_p_alive",
    "PURCHASE_MODELS", "fit_gamma_gamma",
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
    Whole non-negative numbers (days, counts) are packed into one integer key and sorted once; anything else
    is deduplicated row-wise.
    """
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    n = cols[0].size if cols else 0
    packed = None
    if n and all(np.all((c >= 0) & (c == np.floor(c))) for c in cols):
        tops = [int(c.max()) + 1 for c in cols]
        if math.prod(tops) < 2**62:
            packed = np.zeros(n, dtype=np.int64)
            for c, top in zip(cols, tops, strict=True):
                packed = packed * top + c.astype(np.int64)
    if packed is not None:
        keys, first, inverse, counts = np.unique(packed, return_index=True, return_inverse=True,
                                                 return_counts=True)
        return [c[first] for c in cols], counts.astype(np.float64), inverse.reshape(-1)
    stacked = np.column_stack(cols) if cols else np.zeros((0, 0))
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


class _BGNBDData:
    """Fit inputs arranged for fast likelihood evaluations.

    Every term that depends on x only (the gamma and digamma functions) is computed once per distinct x; every
    log(α + T) and log(α + t_x) once per distinct T and t_x; the "alive at T" branch, −(r + x)·log(α + T), is
    summed per distinct T with weights prepared here. What is left per row concerns customers with a repeat
    purchase only: d = log P(dropped after t_x) − log P(alive at T), through softplus(d) for the likelihood
    and its logistic σ(d) (the posterior weight of the "dropped" branch) for the gradient.
    """

    def __init__(self, x, t_x, T, w, *, modified: bool = False):
        # MBG/NBD: the beta terms take x + 1 and every row (x = 0 too) has the "dropped after t_x" branch.
        self.shift = 1.0 if modified else 0.0
        self.wsum = float(w.sum())
        self.ux, ix = np.unique(x, return_inverse=True)
        self.uT, iT = np.unique(T, return_inverse=True)
        self.utx, itx = np.unique(t_x, return_inverse=True)
        nx, nT = self.ux.size, self.uT.size
        self.wx = np.bincount(ix, weights=w, minlength=nx)
        self.w_T = np.bincount(iT, weights=w, minlength=nT)  # Σ w per T
        self.wxx_T = np.bincount(iT, weights=w * x, minlength=nT)  # Σ w·x per T
        rep = np.ones(x.shape, dtype=bool) if modified else x > 0
        self.x, self.w = x[rep], w[rep]
        self.iT = iT[rep]
        self.repeat_u = np.ones(nx, dtype=bool) if modified else self.ux > 0
        # Repeat buyers' distinct (x, t_x) pairs: everything in d that does not depend on T is computed per pair.
        pairs, self.ipair = np.unique(ix[rep] * self.utx.size + itx[rep], return_inverse=True)
        self.pair_ix, self.pair_itx = pairs // self.utx.size, pairs % self.utx.size
        self.pair_x = self.ux[self.pair_ix]


def _bgnbd_objective(theta, data: _BGNBDData):
    """Negative weighted mean log-likelihood and its gradient with respect to the log-parameters.

    ll = A(x) − (r+x)·log(α+T) + δ(x>0)·softplus(d),  d = log(a/(b+x−1)) + (r+x)·(log(α+T) − log(α+t_x)),
    with A(x) = log Γ(r+x)α^r/Γ(r) + log B(a, b+x)/B(a, b) (FHL 2005 eq. 6 rearranged).
    """
    r, alpha, a, b = np.exp(theta)
    d = data
    ux = d.ux
    uxs = ux + d.shift  # x in the beta terms (x + 1 for MBG/NBD)
    nx, nT, ntx = ux.size, d.uT.size, d.utx.size
    head = (gammaln(r + ux) - gammaln(r) + r * math.log(alpha)
            + gammaln(a + b) + gammaln(b + uxs) - gammaln(b) - gammaln(a + b + uxs))
    drop = np.zeros(nx)
    drop[d.repeat_u] = math.log(a) - np.log(b + uxs[d.repeat_u] - 1)
    log_aT = np.log(alpha + d.uT)
    log_atx = np.log(alpha + d.utx)
    alive_T = r * d.w_T + d.wxx_T  # Σ w·(r+x) per T
    pair_rx = r + d.pair_x
    pair_part = drop[d.pair_ix] - pair_rx * log_atx[d.pair_itx]  # log a/(b+x−1) − (r+x)·log(α+t_x)
    # d per repeat customer, built in place: fresh multi-megabyte temporaries cost more than the arithmetic.
    gap = pair_part[d.ipair]
    term = d.x + r
    term *= log_aT[d.iT]
    gap += term
    # softplus(d) = log(1 + e^d) and σ(d) from one exponential of −|d| (np.logaddexp and expit are several
    # times slower on large arrays and this is most of an evaluation).
    small = np.abs(gap)
    np.negative(small, out=small)
    np.exp(small, out=small)  # e^−|d| ∈ (0, 1]
    softplus = np.maximum(gap, 0.0)
    softplus += np.log1p(small)
    ws4 = np.where(gap >= 0.0, 1.0, small)
    small += 1.0
    ws4 /= small  # σ(d): posterior weight of "dropped after the last purchase"
    ws4 *= d.w
    ws4x = np.multiply(ws4, d.x, out=term)
    value = -(np.dot(d.wx, head) - np.dot(alive_T, log_aT) + np.dot(d.w, softplus)) / d.wsum
    s4_T = np.bincount(d.iT, weights=ws4, minlength=nT)
    s4x_T = np.bincount(d.iT, weights=ws4x, minlength=nT)
    s4_pair = np.bincount(d.ipair, weights=ws4, minlength=d.pair_x.size)
    s4_tx = np.bincount(d.pair_itx, weights=s4_pair, minlength=ntx)
    s4x_tx = np.bincount(d.pair_itx, weights=s4_pair * d.pair_x, minlength=ntx)
    s4_x = np.bincount(d.pair_ix, weights=s4_pair, minlength=nx)
    # Per T: Σ w·s3 and Σ w·s3·(r+x) where s3 = 1 − s4 (alive at T); per t_x the same with s4.
    s3_T = d.w_T - s4_T
    s3rx_T = alive_T - (r * s4_T + s4x_T)
    s4rx_tx = r * s4_tx + s4x_tx
    inv_b = np.zeros(nx)
    inv_b[d.repeat_u] = 1.0 / (b + uxs[d.repeat_u] - 1)
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + uxs)
    g_r = (np.dot(d.wx, digamma(r + ux) - digamma(r) + math.log(alpha))
           - np.dot(s3_T, log_aT) - np.dot(s4_tx, log_atx))
    g_alpha = d.wsum * r / alpha - np.dot(s3rx_T, 1.0 / (alpha + d.uT)) - np.dot(s4rx_tx, 1.0 / (alpha + d.utx))
    g_a = np.dot(d.wx, psi_ab - psi_abx) + ws4.sum() / a
    g_b = np.dot(d.wx, psi_ab + digamma(b + uxs) - digamma(b) - psi_abx) - np.dot(s4_x, inv_b)
    grad = -np.array([r * g_r, alpha * g_alpha, a * g_a, b * g_b]) / d.wsum
    return value, grad


def _single_threaded_blas():
    """BLAS limited to one thread for the duration of a fit. The optimizer's and the objective's BLAS calls are
    small; OpenBLAS waking its thread pool for each of them cost more than the work (measured: a 1M-customer
    fit took 1.3 s with the default pool and 0.5 s with one thread on 2 cores). threadpoolctl comes with
    scikit-learn; without it the fit runs as is."""
    try:
        # Optional: threadpoolctl comes with scikit-learn, and the fit runs without it.
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _time_scale(T: np.ndarray) -> float:
    top = float(np.max(T)) if T.size else 0.0
    return 10.0 / top if top > 0 else 1.0


def fit_bgnbd(x, t_x, T, weights=None, *, initial: BGNBDParams | None = None, tol: float = 1e-12,
              max_iter: int = 2000) -> tuple[BGNBDParams, FitInfo]:
    """Maximum-likelihood BG/NBD parameters for customers (x, t_x, T), in the units of t_x and T.

    Pass unique rows with `weights` = number of customers per row (see `unique_rows`); without weights every
    row counts once. x must be whole numbers ≥ 0 and 0 ≤ t_x ≤ T; t_x = 0 when x = 0.
    """
    return _fit_purchases(x, t_x, T, weights, initial=initial, tol=tol, max_iter=max_iter, modified=False)


def fit_mbgnbd(x, t_x, T, weights=None, *, initial: BGNBDParams | None = None, tol: float = 1e-12,
               max_iter: int = 2000) -> tuple[BGNBDParams, FitInfo]:
    """Maximum-likelihood MBG/NBD parameters (r, α, a, b), with the same inputs and conventions as fit_bgnbd."""
    return _fit_purchases(x, t_x, T, weights, initial=initial, tol=tol, max_iter=max_iter, modified=True)


def _fit_purchases(x, t_x, T, weights, *, initial: BGNBDParams | None, tol: float, max_iter: int,
                   modified: bool) -> tuple[BGNBDParams, FitInfo]:
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
    with _single_threaded_blas():
        res = optimize.minimize(_bgnbd_objective, theta0, args=(_BGNBDData(x, ts_x, ts_T, w, modified=modified),),
                                jac=True,
                                method="L-BFGS-B", bounds=[(-12.0, 12.0)] * 4,
                                options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-9, "maxcor": 20})
    r, alpha, a, b = np.exp(res.x)
    params = BGNBDParams(r=float(r), alpha=float(alpha / scale), a=float(a), b=float(b))
    # The likelihood is a density in the x purchase times: back in the caller's units it gains x·log(scale).
    log_likelihood = float(-res.fun + np.dot(w, x) * math.log(scale) / wsum)
    info = FitInfo(rows=int(x.size), customers=wsum, log_likelihood=log_likelihood, iterations=int(res.nit),
                   evaluations=int(res.nfev), seconds=round(time.perf_counter() - started, 4),
                   converged=bool(res.success), message=str(res.message),
                   extra={"time_scale": scale, "model": "mbgnbd" if modified else "bgnbd"})
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
# MBG/NBD (Batislam et al. 2007; Wagner & Hoppe 2008 for the conditional expectation)


def mbgnbd_log_likelihood(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """Per-row log-likelihood of (x, t_x, T) under MBG/NBD:
    L = B(a, b+x+1)/B(a, b) · Γ(r+x)α^r/Γ(r) · [(α+T)^-(r+x) + a/(b+x) (α+t_x)^-(r+x)]."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = _as_arrays(x, t_x, T)
    head = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            + gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1))
    return head + np.logaddexp(-(r + x) * np.log(alpha + T),
                               np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + t_x))


def mbgnbd_expected_purchases(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] under MBG/NBD: expected repeat purchases in the next `t` time units."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = _as_arrays(x, t_x, T)
    t = np.asarray(t, dtype=np.float64)
    z = t / (alpha + T + t)
    log_tail = _log_hyp2f1(r + x, b + x + 1, a + b + x, z) + (r + x) * np.log((alpha + T) / (alpha + T + t))
    numerator = (a + b + x) / (a - 1) * -np.expm1(log_tail)
    denominator = 1 + a / (b + x) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return numerator / denominator


def mbgnbd_population_expected_purchases(params: BGNBDParams, t) -> np.ndarray:
    """E[X(t)] under MBG/NBD: expected repeat purchases in (0, t] of a new customer."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=np.float64)
    log_tail = _log_hyp2f1(r, b + 1, a + b, t / (alpha + t)) + r * np.log(alpha / (alpha + t))
    return b / (a - 1) * -np.expm1(log_tail)


def mbgnbd_p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)), below 1 for one-time buyers too."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = _as_arrays(x, t_x, T)
    log_odds = np.log(a / (b + x)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return expit(-log_odds)


@dataclass(frozen=True)
class PurchaseModel:
    """One purchase-process model's functions, so callers can switch between BG/NBD and MBG/NBD by name."""

    name: str
    fit: object
    expected_purchases: object
    p_alive: object
    log_likelihood: object


PURCHASE_MODELS = {
    "bgnbd": PurchaseModel("bgnbd", fit_bgnbd, bgnbd_expected_purchases, bgnbd_p_alive, bgnbd_log_likelihood),
    "mbgnbd": PurchaseModel("mbgnbd", fit_mbgnbd, mbgnbd_expected_purchases, mbgnbd_p_alive,
                            mbgnbd_log_likelihood),
}


# ---------------------------------------------------------------------------------------------------------------
# Gamma-Gamma


class _GGData:
    """Gamma-Gamma inputs: x-only terms per distinct x, log m and log x computed once."""

    def __init__(self, x, m, w):
        self.x, self.m, self.w = x, m, w
        self.wsum = float(w.sum())
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.wx = np.bincount(self.ix, weights=w, minlength=self.ux.size)
        self.wxx = np.bincount(self.ix, weights=w * x, minlength=self.ux.size)
        log_m, log_x = np.log(m), np.log(x)
        self.w_xlogxm = float(np.dot(w, x * (log_m + log_x)))  # Σ w·x·(log m + log x)
        self.w_logm = float(np.dot(w, log_m))
        self.xm = x * m


def _gg_objective(theta, data: _GGData):
    """Negative weighted mean log-likelihood of mean spends and its gradient (log-parameters):
    ll = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + x·m)."""
    p, q, g = np.exp(theta)
    d = data
    pux = p * d.ux
    log_gxm = np.log(g + d.xm)
    px = p * d.x
    head = gammaln(pux + q) - gammaln(pux) - gammaln(q) + q * math.log(g)
    value = -(np.dot(d.wx, head) + p * d.w_xlogxm - d.w_logm - np.dot(d.w * (px + q), log_gxm)) / d.wsum
    psi_pxq = digamma(pux + q)
    w_log_gxm = d.w * log_gxm
    g_p = np.dot(d.wxx, psi_pxq - digamma(pux)) + d.w_xlogxm - np.dot(w_log_gxm, d.x)
    g_q = np.dot(d.wx, psi_pxq - digamma(q) + math.log(g)) - w_log_gxm.sum()
    g_g = d.wsum * q / g - np.dot(d.w * (px + q), 1.0 / (g + d.xm))
    grad = -np.array([p * g_p, q * g_q, g * g_g]) / d.wsum
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
    with _single_threaded_blas():
        res = optimize.minimize(_gg_objective, theta0, args=(_GGData(x, ms, w),), jac=True, method="L-BFGS-B",
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
                            margin: float | np.ndarray = 1.0, model: str = "bgnbd") -> np.ndarray:
    """Discounted value of the next `months` months (the usual BG/NBD + Gamma-Gamma formulation):

        CLV = Σ_{i=1..months} margin · E[M] · (E[Y(i months)] − E[Y((i−1) months)]) / (1 + d)^i

    with d the monthly discount rate. One month is 365.25/12 days; `days_per_unit` says how many days one time
    unit of t_x and T is (1 when they are in days, 7 for weeks). `model`: "bgnbd" or "mbgnbd" (PURCHASE_MODELS),
    the model `params` belong to.
    """
    expected_purchases = PURCHASE_MODELS[model].expected_purchases
    x, t_x, T, spend = _as_arrays(x, t_x, T, expected_spend)
    month = 365.25 / 12 / days_per_unit
    value = np.zeros_like(x)
    previous = np.zeros_like(x)
    for i in range(1, months + 1):
        cumulative = expected_purchases(params, i * month, x, t_x, T)
        value += (cumulative - previous) / (1 + monthly_discount_rate) ** i
        previous = cumulative
    return value * spend * margin
