"""Uplift: who changes their behaviour because of a campaign, learnt from past campaigns' holdouts.

Pure functions over plain arrays (the marketing services build the feature matrix and store the scores):

- `fit_uplift(X, treatment, outcome, learner="t"|"x")`: meta-learners on LightGBM. The T-learner fits one model
  per arm and scores μ₁(x) − μ₀(x); the X-learner (Künzel, Sekhon, Bickel & Yu 2019) imputes each customer's effect
  with the other arm's model, fits those, and blends the two effect models by the treated share.
- `qini_curve`: the Qini curve (Radcliffe 2007) and uplift curve of a ranking on a holdout, with the Qini
  coefficient and the AUUC.
- `uplift_at_k`: treated-minus-control outcome among the top k share of a ranking.

Details, formulas and what the tests check: docs/marketing-statistics.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

LEARNERS = ("t", "x")
MIN_ROWS_FOR_TREES = 20
"""An arm (or an effect model's sample) with fewer rows, or an outcome without variation, gets its mean as a
constant model: a boosted tree cannot learn anything from it and a constant is the honest answer."""
NUM_BOOST_ROUND = 150


def lgb_params(n_rows: int, *, binary: bool, random_state: int) -> dict[str, Any]:
    """Small, regularised trees: uplift is a difference of two noisy fits, so each fit is kept smooth. One thread
    and `deterministic` make a fit reproducible for a `random_state` (and fast on a shared machine)."""
    return {
        "objective": "binary" if binary else "regression",
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": int(max(5, min(100, n_rows // 100))),
        "lambda_l2": 1.0,
        "feature_fraction": 1.0,
        "bagging_fraction": 1.0,
        "num_threads": 1,
        "deterministic": True,
        "force_col_wise": True,
        "seed": int(random_state),
        "verbose": -1,
    }


class _Constant:
    def __init__(self, value: float):
        self.value = float(value)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(X.shape[0], self.value)


def _fit(X: np.ndarray, y: np.ndarray, *, binary: bool, random_state: int):
    if y.size < MIN_ROWS_FOR_TREES or np.all(y == y[0]):
        return _Constant(y.mean())
    params = lgb_params(y.size, binary=binary, random_state=random_state)
    return lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=NUM_BOOST_ROUND)


def _matrix(X: Any, n_features: int | None = None) -> tuple[np.ndarray, tuple[str, ...] | None]:
    names = tuple(str(c) for c in X.columns) if hasattr(X, "columns") else None
    try:
        m = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as e:
        raise ValueError(f"X must be numeric (encode categories first): {e}") from None
    if m.ndim == 1 and n_features in (None, 1):
        m = m.reshape(-1, 1)
    if m.ndim != 2:
        raise ValueError(f"X must be a two-dimensional table (rows × features), got shape {m.shape}")
    if np.isinf(m).any():
        raise ValueError("X has an infinite value (NaN is allowed: the trees treat it as missing)")
    if n_features is not None and m.shape[1] != n_features:
        raise ValueError(f"X has {m.shape[1]} features, the model was fitted on {n_features}")
    return m, names


def _treatment(treatment: Any, n: int) -> np.ndarray:
    t = np.asarray(treatment)
    if t.ndim != 1 or t.size != n:
        raise ValueError(f"treatment must have one value per row ({n}), got shape {t.shape}")
    if t.dtype.kind == "b":
        return t
    try:
        tf = t.astype(float)
    except (TypeError, ValueError):
        raise ValueError("treatment must be 0/1 or True/False (1 = received the campaign)") from None
    if not np.isin(tf, (0.0, 1.0)).all():
        raise ValueError("treatment must be 0/1 or True/False (1 = received the campaign)")
    return tf == 1.0


def _outcome(outcome: Any, n: int) -> np.ndarray:
    try:
        y = np.asarray(outcome, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("outcome must be numbers (0/1 for a conversion, an amount for revenue)") from None
    if y.ndim != 1 or y.size != n:
        raise ValueError(f"outcome must have one value per row ({n}), got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("outcome has a missing or infinite value")
    return y


class UpliftModel:
    """A fitted meta-learner. `predict(X)` is the expected outcome with the campaign minus without it, per row
    (for a 0/1 outcome: a difference of probabilities); `predict_outcomes(X)` the two expected outcomes of the
    first-stage models (e.g. churn with and without the retention offer)."""

    def __init__(
        self,
        *,
        learner: str,
        binary: bool,
        n_features: int,
        feature_names: tuple[str, ...] | None,
        treated_share: float,
        mu0: Any,
        mu1: Any,
        tau0: Any = None,
        tau1: Any = None,
    ):
        self.learner = learner
        self.binary = binary
        self.n_features = n_features
        self.feature_names = feature_names
        self.treated_share = treated_share
        self._mu0, self._mu1, self._tau0, self._tau1 = mu0, mu1, tau0, tau1

    def predict_outcomes(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        m, _ = _matrix(X, self.n_features)
        return self._mu0.predict(m), self._mu1.predict(m)

    def predict(self, X: Any) -> np.ndarray:
        m, _ = _matrix(X, self.n_features)
        if self.learner == "t":
            return self._mu1.predict(m) - self._mu0.predict(m)
        # X-learner: τ(x) = g(x)·τ₀(x) + (1 − g(x))·τ₁(x), g the propensity. In a randomised holdout g is the
        # treated share: the effect model fitted on the larger arm's imputations gets the larger weight.
        g = self.treated_share
        return g * self._tau0.predict(m) + (1 - g) * self._tau1.predict(m)

    def __repr__(self) -> str:
        return (
            f"UpliftModel(learner={self.learner!r}, binary={self.binary}, n_features={self.n_features}, "
            f"treated_share={self.treated_share:.3f})"
        )


def fit_uplift(
    X: Any, treatment: Any, outcome: Any, *, learner: str = "t", random_state: int = 0
) -> UpliftModel:
    """Fit a T- or X-learner on LightGBM from a randomised campaign (treatment 1 = received it, 0 = holdout).

    T-learner: μ₀ on the control rows, μ₁ on the treated rows, uplift = μ₁(x) − μ₀(x).
    X-learner: the same μ₀, μ₁; imputed effects D₁ = Y − μ₀(X) on treated rows and D₀ = μ₁(X) − Y on control rows;
    regressions τ₁ on D₁ and τ₀ on D₀; uplift = g·τ₀(x) + (1 − g)·τ₁(x) with g the treated share (the propensity
    of a randomised assignment). A 0/1 outcome gets binary (log-loss) first-stage models and probabilities;
    anything else squared-error regression. Deterministic for a given `random_state`. Needs at least one row in
    each arm; an arm with fewer than MIN_ROWS_FOR_TREES rows or without variation is modelled by its mean.
    """
    if learner not in LEARNERS:
        raise ValueError(f"learner must be one of {LEARNERS}, got {learner!r}")
    m, names = _matrix(X)
    n = m.shape[0]
    t = _treatment(treatment, n)
    y = _outcome(outcome, n)
    n1 = int(t.sum())
    if n1 == 0 or n1 == n:
        raise ValueError(f"both arms need rows: {n1} treated and {n - n1} control")
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    mu0 = _fit(m[~t], y[~t], binary=binary, random_state=random_state)
    mu1 = _fit(m[t], y[t], binary=binary, random_state=random_state)
    g = n1 / n
    kw = {
        "learner": learner,
        "binary": binary,
        "n_features": m.shape[1],
        "feature_names": names,
        "treated_share": g,
        "mu0": mu0,
        "mu1": mu1,
    }
    if learner == "t":
        return UpliftModel(**kw)
    d1 = y[t] - mu0.predict(m[t])
    d0 = mu1.predict(m[~t]) - y[~t]
    tau1 = _fit(m[t], d1, binary=False, random_state=random_state)
    tau0 = _fit(m[~t], d0, binary=False, random_state=random_state)
    return UpliftModel(**kw, tau0=tau0, tau1=tau1)


# ---------------------------------------------------------------------------------------------------------------
# Evaluation on a holdout


def _eval_arrays(uplift: Any, treatment: Any, outcome: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        u = np.asarray(uplift, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("uplift must be numbers (the predicted uplift per row)") from None
    if u.ndim != 1 or u.size == 0:
        raise ValueError(f"uplift must be a non-empty one-dimensional array, got shape {u.shape}")
    if not np.isfinite(u).all():
        raise ValueError("uplift has a missing or infinite value")
    t = _treatment(treatment, u.size)
    y = _outcome(outcome, u.size)
    if t.all() or not t.any():
        raise ValueError("the evaluation rows need both treated and control customers")
    return u, t, y


@dataclass(frozen=True)
class QiniCurve:
    """A ranking's Qini and uplift curves, evaluated at the end of each group of tied scores (linear in
    between). `fraction`: share of rows targeted; `qini`: incremental outcome among them per treated customer of
    the whole set, (Y_t(k) − Y_c(k)·N_t(k)/N_c(k)) / N_t; `uplift`: (Ȳ_t(k) − Ȳ_c(k))·k/N; `random`: the
    straight line of a random ranking, fraction × overall lift. Both curves end at the overall lift."""

    fraction: np.ndarray
    qini: np.ndarray
    uplift: np.ndarray
    random: np.ndarray
    qini_coefficient: float
    auuc: float
    overall_lift: float


def qini_curve(uplift: Any, treatment: Any, outcome: Any) -> QiniCurve:
    """Sort by predicted uplift (highest first) and accumulate treated and control counts and outcomes.

    qini_coefficient = ∫₀¹ (qini − random) d(fraction): the area between the Qini curve and the random line, in
    outcome units per treated customer (> 0: the ranking finds responders better than chance; a ranking that
    puts the same effect everywhere scores ≈ 0). auuc = ∫₀¹ uplift d(fraction), whose random-ranking value is
    overall_lift / 2. Trapezoids over the tie-group end points, so tied scores count as one block whatever
    their order. Where a prefix has no control row, its control term is taken as 0."""
    u, t, y = _eval_arrays(uplift, treatment, outcome)
    n = u.size
    order = np.argsort(-u, kind="stable")
    us, ts, ys = u[order], t[order], y[order]
    ends = np.r_[np.flatnonzero(us[1:] != us[:-1]), n - 1]
    nt = np.cumsum(ts)[ends].astype(float)
    nc = np.cumsum(~ts)[ends].astype(float)
    yt = np.cumsum(np.where(ts, ys, 0.0))[ends]
    yc = np.cumsum(np.where(ts, 0.0, ys))[ends]
    k = (ends + 1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        control_scaled = np.where(nc > 0, yc * nt / nc, 0.0)
        mean_t = np.where(nt > 0, yt / nt, 0.0)
        mean_c = np.where(nc > 0, yc / nc, 0.0)
    both = (nt > 0) & (nc > 0)
    total_t = nt[-1]
    qini = np.r_[0.0, (yt - control_scaled) / total_t]
    upl = np.r_[0.0, np.where(both, (mean_t - mean_c) * k / n, 0.0)]
    frac = np.r_[0.0, k / n]
    overall = float(yt[-1] / nt[-1] - yc[-1] / nc[-1])
    rand = frac * overall
    area = float(np.trapezoid(qini - rand, frac))
    auuc = float(np.trapezoid(upl, frac))
    return QiniCurve(
        fraction=frac,
        qini=qini,
        uplift=upl,
        random=rand,
        qini_coefficient=area,
        auuc=auuc,
        overall_lift=overall,
    )


def uplift_at_k(uplift: Any, treatment: Any, outcome: Any, k: float) -> float:
    """Mean outcome of the treated minus that of the control customers among the ⌈k·N⌉ rows with the highest
    predicted uplift (k a share in (0, 1]; ties at the cut are taken in input order)."""
    if not (isinstance(k, (int, float)) and 0 < k <= 1):
        raise ValueError(f"k must be a share in (0, 1], got {k!r}")
    u, t, y = _eval_arrays(uplift, treatment, outcome)
    top = np.argsort(-u, kind="stable")[: math.ceil(k * u.size)]
    tt, yy = t[top], y[top]
    if tt.all() or not tt.any():
        raise ValueError(
            f"the top {k:.0%} holds no {'control' if tt.all() else 'treated'} customer: take a larger k"
        )
    return float(yy[tt].mean() - yy[~tt].mean())
