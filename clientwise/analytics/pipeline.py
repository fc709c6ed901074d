"""The scoring pipeline between a Parquet snapshot and the score columns: features → models → columns.

Nothing here writes to the operational database: `compute_scores` returns per-customer columns (aligned with
`customer_ids`) and one `ModelOutcome` per model; `services.run_scoring` stores them. Time is in days
throughout (features.py), `as_of` is the last observed day (inclusive).

Validation follows one rule: every model is also fitted as of an earlier cut-off and checked against what
customers did afterwards, up to `as_of` (the data the operational database already holds):

- BG/NBD, Gamma-Gamma and CLV: calibration cut-off = as_of − holdout_days; predicted purchases, spend and
  revenue in the holdout window against the actual ones, per customer and per frequency bin.
- RFM: the segments as of the calibration cut-off against the share of each segment that bought again.
- Churn: see churn.py (train at as_of − 2H, validate at as_of − H, score at as_of, H = churn horizon).
- Next purchase: expected dates as of the calibration cut-off against the first purchase day after it.
- Recommendations: hit rate in the holdout window against recommending the most popular products.
- Value tiers: each calibration tier's share of the holdout revenue.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from clientwise.analytics import btyd, churn, consistency, features, nextbuy, recommend, rfm, rules, value
from clientwise.analytics.engines import Engine

log = logging.getLogger(__name__)

VERSIONS = {"rfm": "1", "bgnbd": "2", "gamma_gamma": "1", "clv": "1", "churn": "1", "next_purchase": "1",
            "recommend": "1", "value": "1"}
DAYS_PER_MONTH = 365.25 / 12
FREQUENCY_BINS = (0, 1, 2, 3, 4, 5, 6, 7, 10, 15)  # lower bounds; the last bin is open ("15+")

Progress = Callable[[str, float, dict], None]


class NotEnoughHistory(ValueError):
    """The snapshot holds too little history for the requested as-of date (no customers, no orders, or no
    purchases before the validation cut-off). `field` names the setting to change; services turn it into a
    DomainError."""

    def __init__(self, message: str, field: str = "as_of"):
        super().__init__(message)
        self.message = message
        self.field = field


def fit_windows(as_of: dt.date, first_order_day: dt.date | None, holdout_days: int,
                churn_horizon_days: int) -> tuple[int, int]:
    """Validation windows that fit the history: the holdout at most half of the days from the first order to
    `as_of`, the churn horizon at most a third (its training labels start two horizons back), neither below 7.
    For windows the caller did not choose, so scoring as of a day early in a (newly imported) history works."""
    if first_order_day is None or first_order_day >= as_of:
        return holdout_days, churn_horizon_days
    observed = (as_of - first_order_day).days
    return min(holdout_days, max(7, observed // 2)), min(churn_horizon_days, max(7, observed // 3))


def check_history(now: pd.DataFrame, cal: pd.DataFrame, config: ScoringConfig) -> None:
    """Refuse, with a sentence a user can act on, the as-of dates the models cannot be fitted at."""
    if len(now) == 0:
        raise NotEnoughHistory(f"No customers had started by {config.as_of} (customer since or first order); "
                               f"score as of a later day.")
    if not now["T_days"].notna().any():
        raise NotEnoughHistory(f"No completed orders up to {config.as_of}; score as of a day after the first "
                               f"orders.")
    if not (cal["T_days"].to_numpy(dtype=float, na_value=np.nan) > 0).any():
        raise NotEnoughHistory(
            f"No purchases before {config.calibration_as_of} (the validation cut-off: {config.as_of} minus "
            f"{config.holdout_days} holdout days); score as of a later day or with fewer holdout days.",
            field="holdout_days")
    if not (now["frequency"].to_numpy(dtype=float) > 0).any() or not (
            cal["frequency"].to_numpy(dtype=float) > 0).any():
        raise NotEnoughHistory(
            f"No customer bought twice before {config.calibration_as_of} (the validation cut-off); the purchase "
            f"and spend models need repeat purchases. Score as of a later day or with fewer holdout days.",
            field="holdout_days")


@dataclass(frozen=True)
class ScoringConfig:
    """What a run may tune (stored on the ScoringBatch and in each ModelRun's parameters)."""

    as_of: dt.date
    horizon_days: int = 365
    discount_rate: float = 0.10  # annual; discounted monthly at (1 + rate)^(1/12) − 1
    holdout_days: int = 180
    churn_horizon_days: int = 90
    engine: str = "duckdb"
    seed: int = 0
    time_zone: str = "UTC"  # the zone of the snapshot's calendar days (settings.TIME_ZONE)
    churn_reasons_limit: int = 10_000  # customers whose churn risk is explained (highest value at risk first)
    recommendations: int = 3  # products recommended per customer
    # LightGBM threads. One by default: on a shared 2-core machine OpenMP's spinning threads made a 1M-customer
    # churn fit 4-6x slower than one thread (34-50 s against 8-10 s, same trees).
    model_threads: int = 1

    @property
    def calibration_as_of(self) -> dt.date:
        return self.as_of - dt.timedelta(days=self.holdout_days)

    @property
    def horizon_months(self) -> int:
        return max(1, round(self.horizon_days / DAYS_PER_MONTH))

    @property
    def monthly_discount_rate(self) -> float:
        return (1 + self.discount_rate) ** (1 / 12) - 1


@dataclass
class ModelOutcome:
    """One model's fit and validation, as the ModelRun row will hold it. `error` set means it failed."""

    model: str
    parameters: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    rows_in: int = 0
    rows_out: int = 0
    seconds: float = 0.0
    version: str = ""
    error: str = ""
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # In-memory results the service may keep beside the snapshot (not stored in the ModelRun row).
    artifacts: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.version = self.version or VERSIONS.get(self.model, "1")


@dataclass
class ScoringResult:
    customer_ids: np.ndarray
    columns: dict[str, Any]
    models: list[ModelOutcome]
    stages: dict[str, dict]


class _Stages:
    """Times named stages and reports each one as it ends."""

    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.info: dict[str, dict] = {}

    def done(self, name: str, seconds: float, rows: dict) -> None:
        self.info[name] = {"seconds": round(seconds, 3), "rows": rows}
        if self.progress:
            self.progress(name, seconds, rows)


def _clean(value):
    """JSON-safe: floats that are NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _frequency_bin_labels(x: np.ndarray) -> np.ndarray:
    edges = np.asarray(FREQUENCY_BINS)
    idx = np.searchsorted(edges, x, side="right") - 1
    labels = []
    for i, low in enumerate(edges):
        high = edges[i + 1] - 1 if i + 1 < len(edges) else None
        labels.append(str(low) if high == low else (f"{low}+" if high is None else f"{low}-{high}"))
    return np.asarray(labels, dtype=object)[idx]


def _binned(labels: np.ndarray, order: list[str], predicted: np.ndarray, actual: np.ndarray, key: str) -> list:
    rows = []
    for label in order:
        sel = labels == label
        n = int(sel.sum())
        if n:
            rows.append({key: label, "customers": n, "predicted": float(predicted[sel].mean()),
                         "actual": float(actual[sel].mean())})
    return rows


def _activity_counts(table, customer_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Purchase days and amount in a window, aligned with customer_ids (0 where nothing was bought)."""
    cols = _aligned(table, customer_ids, {"purchase_days": 0.0, "amount": 0.0})
    return cols["purchase_days"], cols["amount"]


def _aligned(table, customer_ids: np.ndarray, columns: dict[str, float]) -> dict[str, np.ndarray]:
    """Columns of a per-customer result aligned with the sorted `customer_ids` (missing rows get the default)."""
    frame = table.to_pandas() if hasattr(table, "to_pandas") else table
    pos, found = _align(customer_ids, frame["customer_id"].to_numpy(dtype=np.int64))
    out = {}
    for name, default in columns.items():
        col = np.full(customer_ids.size, default, dtype=np.float64)
        col[pos[found]] = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)[found]
        out[name] = col
    return out


def _btyd_inputs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(buyer mask, x, t_x, T) from a feature frame; x, t_x, T are only meaningful where buyer is True."""
    T = frame["T_days"].to_numpy(dtype=float, na_value=np.nan)
    buyer = ~np.isnan(T)
    x = frame["frequency"].to_numpy(dtype=float)
    t_x = frame["recency_days"].to_numpy(dtype=float)
    return buyer, x, t_x, np.nan_to_num(T)


# ---------------------------------------------------------------------------------------------------------------
# Models


def rfm_model(now: pd.DataFrame, cal: pd.DataFrame, cal_holdout_days: np.ndarray,
              config: ScoringConfig) -> tuple[rfm.RFMScores, ModelOutcome]:
    """RFM as of `as_of`. Validation: segments as of the calibration cut-off against the share of each that
    bought in the holdout window (`cal_holdout_days`, aligned with `cal`) — champions should rebuy most."""
    out = ModelOutcome("rfm")
    started = time.perf_counter()
    rules = rfm.segment_rules()

    def score(frame):
        return rfm.rfm_scores(frame["days_since_last"].to_numpy(dtype=float, na_value=np.nan),
                              frame["orders_total"].to_numpy(dtype=float),
                              frame["revenue_total"].to_numpy(dtype=float), rules=rules)

    scores, cal_scores = score(now), score(cal)
    scored = scores.r > 0
    bins = []
    for code in [*(rule["code"] for rule in rules), rfm.FALLBACK]:
        sel = cal_scores.segment == code
        if sel.any():
            bins.append({"segment": code, "customers": int(sel.sum()),
                         "actual": float((cal_holdout_days[sel] > 0).mean()),
                         "mean_purchase_days": float(cal_holdout_days[sel].mean())})
    days = now["days_since_last"].to_numpy(dtype=float, na_value=np.nan)[scored]
    orders = now["orders_total"].to_numpy(dtype=float)[scored]
    revenue = now["revenue_total"].to_numpy(dtype=float)[scored]

    def bounds(values, score_values, fn):
        return {str(s): float(fn(values[score_values == s])) for s in range(1, 6) if np.any(score_values == s)}

    out.parameters = {
        "rules": rules,
        "recency_days_max_by_score": bounds(days, scores.r[scored], np.max),
        "orders_min_by_score": bounds(orders, scores.f[scored], np.min),
        "revenue_min_by_score": bounds(revenue, scores.m[scored], np.min),
    }
    out.metrics = {
        "customers": int(scored.sum()),
        "segments": {code: int((scores.segment == code).sum()) for code in dict.fromkeys(scores.segment[scored])},
        "calibration_as_of": config.calibration_as_of.isoformat(), "holdout_days": config.holdout_days,
        "holdout": {"bins": bins},
    }
    out.rows_in = out.rows_out = int(scored.sum())
    out.seconds = time.perf_counter() - started
    return scores, out


@dataclass
class BTYDScores:
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray
    clv: np.ndarray
    calibration_value: np.ndarray  # revenue predicted for the holdout window as of the calibration cut-off (cal rows)


def _fit_bgnbd_frame(frame: pd.DataFrame, model: str = "bgnbd") -> tuple[btyd.BGNBDParams, btyd.FitInfo, tuple]:
    buyer, x, t_x, T = _btyd_inputs(frame)
    (ux, utx, uT), counts, _ = btyd.unique_rows(x[buyer], t_x[buyer], T[buyer])
    params, info = btyd.PURCHASE_MODELS[model].fit(ux, utx, uT, counts)
    return params, info, (buyer, x, t_x, T)


PURCHASE_MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD"}  # also the label table's "analytics.purchase_model"


def _holdout_errors(pred: np.ndarray, actual: np.ndarray) -> dict:
    return {"predicted_total": float(pred.sum()), "actual_total": float(actual.sum()),
            "ratio": float(pred.sum() / actual.sum()) if actual.sum() else None,
            "mae": float(np.mean(np.abs(pred - actual))), "rmse": float(np.sqrt(np.mean((pred - actual) ** 2))),
            "correlation": _corr(pred, actual)}


def select_purchase_model(candidates: dict[str, dict]) -> str:
    """The purchase model with the lower holdout RMSE of expected purchases per customer (the conditional
    expectation is what minimises squared error, so RMSE is the fair yardstick for it); BG/NBD on a tie."""
    return min(candidates, key=lambda name: (candidates[name]["rmse"], name != "bgnbd"))


def _fit_gg_frame(frame: pd.DataFrame, x: np.ndarray, buyer: np.ndarray):
    m = frame["monetary"].to_numpy(dtype=float)
    ok = buyer & (x > 0) & (m > 0)
    (ux, um), counts, _ = btyd.unique_rows(x[ok], np.round(m[ok], 2))
    params, info = btyd.fit_gamma_gamma(ux, um, counts)
    return params, info, m


def btyd_models(now: pd.DataFrame, cal: pd.DataFrame, holdout_days: np.ndarray, holdout_amount: np.ndarray,
                config: ScoringConfig) -> tuple[BTYDScores, list[ModelOutcome]]:
    """BG/NBD, Gamma-Gamma and CLV: validated on the holdout window, then refitted on everything to `as_of`."""
    h = float(config.holdout_days)
    outcomes = []

    # --- Purchases: BG/NBD and MBG/NBD both fitted as of the calibration cut-off, the one with the better holdout
    # fit chosen for this run (stored in the "bgnbd" run: the purchase-process model, whichever variant).
    bg = ModelOutcome("bgnbd")
    started = time.perf_counter()
    fits, preds, candidates = {}, {}, {}
    for name, model in btyd.PURCHASE_MODELS.items():
        cal_params, cal_info, (cal_buyer, cx, ctx, cT) = _fit_bgnbd_frame(cal, name)
        pred = model.expected_purchases(cal_params, h, cx[cal_buyer], ctx[cal_buyer], cT[cal_buyer])
        fits[name], preds[name] = (cal_params, cal_info), pred
        candidates[name] = {**_holdout_errors(pred, holdout_days[cal_buyer]), "params": cal_params.as_dict(),
                            "log_likelihood": cal_info.log_likelihood, "converged": cal_info.converged}
    chosen = select_purchase_model(candidates)
    purchases = btyd.PURCHASE_MODELS[chosen]
    cal_params, cal_info = fits[chosen]
    pred = preds[chosen]
    actual = holdout_days[cal_buyer]
    labels = _frequency_bin_labels(cx[cal_buyer])
    order = list(dict.fromkeys(_frequency_bin_labels(np.asarray(FREQUENCY_BINS, dtype=float))))
    params, info, (buyer, x, t_x, T) = _fit_bgnbd_frame(now, chosen)
    bg.parameters = {**params.as_dict(), "model": chosen, "model_name": PURCHASE_MODEL_NAMES[chosen],
                     "time_unit": "day", "fit": info.as_dict()}
    bg.metrics = {
        "calibration_as_of": config.calibration_as_of.isoformat(), "holdout_days": config.holdout_days,
        "customers": int(cal_buyer.sum()), **candidates[chosen],
        "holdout": {"bins": _binned(labels, order, pred, actual, "frequency")},
        "calibration_params": cal_params.as_dict(), "calibration_fit": cal_info.as_dict(),
        "selection": {"chosen": chosen, "criterion": "lower holdout RMSE of purchases per customer",
                      "candidates": candidates},
    }
    bg.metrics.pop("params", None)
    bg.rows_in = info.rows
    bg.rows_out = int(buyer.sum())
    bg.seconds = time.perf_counter() - started
    outcomes.append(bg)

    # --- Gamma-Gamma
    gg = ModelOutcome("gamma_gamma")
    started = time.perf_counter()
    cal_gg, cal_gg_info, cal_m = _fit_gg_frame(cal, cx, cal_buyer)
    gg_params, gg_info, m = _fit_gg_frame(now, x, buyer)
    spend_cal = btyd.gamma_gamma_expected_spend(cal_gg, np.where(cal_buyer, cx, 0), np.where(cal_buyer, cal_m, 0))
    bought = cal_buyer & (holdout_days > 0)
    actual_spend = holdout_amount[bought] / holdout_days[bought]
    predicted_spend = spend_cal[bought]
    quint = np.minimum((rfm.quintile_scores(predicted_spend) if predicted_spend.size else predicted_spend), 5)
    gg.parameters = {**gg_params.as_dict(), "fit": gg_info.as_dict(),
                     "population_mean_spend": gg_params.p * gg_params.gamma / (gg_params.q - 1)}
    gg.metrics = {
        "calibration_as_of": config.calibration_as_of.isoformat(), "holdout_days": config.holdout_days,
        "customers": int(bought.sum()),
        "predicted_mean": float(predicted_spend.mean()) if bought.any() else None,
        "actual_mean": float(actual_spend.mean()) if bought.any() else None,
        "mae": float(np.mean(np.abs(predicted_spend - actual_spend))) if bought.any() else None,
        "correlation": _corr(predicted_spend, actual_spend),
        "holdout": {"bins": _binned(np.asarray([f"Q{q}" for q in quint], dtype=object),
                                    [f"Q{q}" for q in range(1, 6)], predicted_spend, actual_spend, "bin")},
        "calibration_params": cal_gg.as_dict(), "calibration_fit": cal_gg_info.as_dict(),
    }
    gg.rows_in = gg_info.rows
    gg.rows_out = int(buyer.sum())
    gg.seconds = time.perf_counter() - started
    outcomes.append(gg)

    # --- CLV = BG/NBD purchases × Gamma-Gamma spend, discounted monthly
    cl = ModelOutcome("clv")
    started = time.perf_counter()
    n = len(now)
    p_alive = np.full(n, np.nan)
    expected = np.full(n, np.nan)
    spend = np.full(n, np.nan)
    clv = np.full(n, np.nan)
    (ux, utx, uT), _, inverse = btyd.unique_rows(x[buyer], t_x[buyer], T[buyer])
    p_alive[buyer] = purchases.p_alive(params, ux, utx, uT)[inverse]
    if chosen == "bgnbd":
        # BG/NBD cannot lose a customer before their first repeat purchase, so it says P(alive) = 1 for every
        # one-time buyer: an artefact, not an estimate. Left unknown (the run chose BG/NBD for its purchases).
        p_alive[buyer & (x == 0)] = np.nan
    expected[buyer] = purchases.expected_purchases(params, float(config.horizon_days), ux, utx, uT)[inverse]
    spend[buyer] = btyd.gamma_gamma_expected_spend(gg_params, x[buyer], m[buyer])
    per_purchase = btyd.customer_lifetime_value(params, ux, utx, uT, np.ones(ux.size),
                                                months=config.horizon_months,
                                                monthly_discount_rate=config.monthly_discount_rate, model=chosen)
    clv[buyer] = per_purchase[inverse] * spend[buyer]
    # Validation: predicted revenue in the holdout window (purchases × spend, undiscounted) against actual.
    cal_value = pred * spend_cal[cal_buyer]
    actual_value = holdout_amount[cal_buyer]
    past = cal["revenue_total"].to_numpy(dtype=float)[cal_buyer]
    deciles = np.asarray([f"D{d}" for d in _deciles(cal_value)], dtype=object)
    cl.parameters = {"horizon_days": config.horizon_days, "horizon_months": config.horizon_months,
                     "annual_discount_rate": config.discount_rate,
                     "monthly_discount_rate": config.monthly_discount_rate, "days_per_month": DAYS_PER_MONTH,
                     "money": "revenue (order amounts)"}
    cl.metrics = {
        "calibration_as_of": config.calibration_as_of.isoformat(), "holdout_days": config.holdout_days,
        "customers": int(cal_buyer.sum()),
        "predicted_total": float(cal_value.sum()), "actual_total": float(actual_value.sum()),
        "ratio": float(cal_value.sum() / actual_value.sum()) if actual_value.sum() else None,
        "mae": float(np.mean(np.abs(cal_value - actual_value))), "correlation": _corr(cal_value, actual_value),
        "top20_capture": _top_share_captured(cal_value, actual_value, 0.2),
        "baseline_top20_capture": _top_share_captured(past, actual_value, 0.2),
        "holdout": {"bins": _binned(deciles, [f"D{d}" for d in range(10, 0, -1)], cal_value, actual_value,
                                    "bin")},
    }
    cl.rows_in = int(buyer.sum())
    cl.rows_out = int(buyer.sum())
    cl.seconds = time.perf_counter() - started
    outcomes.append(cl)
    calibration_value = np.full(len(cal), np.nan)
    calibration_value[cal_buyer] = cal_value
    return BTYDScores(p_alive=p_alive, expected_purchases=expected, expected_spend=spend, clv=clv,
                      calibration_value=calibration_value), outcomes


def _deciles(values: np.ndarray) -> np.ndarray:
    """1-10 (10 highest) by rank; ties broken by position so every decile has n/10 customers."""
    if values.size == 0:
        return values.astype(np.int64)
    rank = np.empty(values.size, dtype=np.int64)
    rank[np.argsort(values, kind="stable")] = np.arange(values.size)
    return 1 + (10 * rank) // values.size


def _top_share_captured(score: np.ndarray, actual: np.ndarray, share: float) -> float | None:
    """Share of the actual total that the `share` highest-scored customers brought."""
    total = actual.sum()
    if score.size == 0 or total <= 0:
        return None
    k = max(1, int(round(score.size * share)))
    top = np.argsort(-score, kind="stable")[:k]
    return float(actual[top].sum() / total)


def churn_model(frames: dict[str, pd.DataFrame], config: ScoringConfig, labels: dict[str, np.ndarray],
                value_at_risk: np.ndarray):
    """Fit on the train window and validate on the next one (the stored metrics), then refit the same way on
    the valid window and score as of `as_of` (churn.py's procedure). Reasons (SHAP contributions) are
    computed for the `churn_reasons_limit` customers with the most value at risk (churn probability × CLV);
    explaining a million customers would take many minutes, so the scoring model and the customers' feature
    rows are handed back (out.artifacts) for the service to keep beside the snapshot, and the pages explain
    anyone else they show on demand (services.explain_churn)."""
    out = ModelOutcome("churn")
    started = time.perf_counter()
    train, valid, now = frames["churn_train"], frames["churn_valid"], frames["now"]
    tb, vb = _buyers(train), _buyers(valid)
    threads = {"num_threads": config.model_threads}
    validated = churn.fit_churn(train[tb], labels["churn_train"][tb], valid[vb], labels["churn_valid"][vb],
                                seed=config.seed, params=threads)
    scoring = churn.fit_churn(valid[vb], labels["churn_valid"][vb], seed=config.seed, params=threads)
    buyer = _buyers(now)
    prob = np.full(len(now), np.nan)
    matrix = churn.feature_matrix(now[buyer], scoring.feature_cols)
    p = scoring.predict(matrix)
    prob[buyer] = p
    risk = np.nan_to_num(p * np.where(np.isnan(value_at_risk[buyer]), 0.0, value_at_risk[buyer]))
    limit = min(config.churn_reasons_limit, p.size)
    # Highest value at risk first; ties (e.g. no CLV) broken by probability.
    rows = np.sort(np.lexsort((-p, -risk))[:limit])
    reasons = churn.churn_reasons(scoring, matrix, rows=rows)
    reason_lists: list = [[] for _ in range(len(now))]
    for i, row in zip(np.flatnonzero(buyer)[rows].tolist(), reasons.to_lists(rows), strict=True):
        reason_lists[i] = row
    out.parameters = {
        **scoring.parameters(), "horizon_days": config.churn_horizon_days,
        "windows": {k: v.isoformat() for k, v in _churn_cutoffs(config).items()},
        "validated_model": {"trees": validated.best_iteration, "n_train": validated.n_train,
                            "holdout_auc": validated.holdout_auc, "train_base_rate": validated.train_base_rate},
        "reasons": {"explained": int(rows.size), "limit": config.churn_reasons_limit,
                    "order": "churn probability × CLV, highest first", "others": "explained when shown"},
    }
    out.artifacts = {"model": scoring, "matrix": matrix,
                     "customer_ids": now["customer_id"].to_numpy(dtype=np.int64)[buyer]}
    out.metrics = dict(validated.validation or {})
    out.rows_in = int(vb.sum())
    out.rows_out = int(buyer.sum())
    out.seconds = time.perf_counter() - started
    return prob, reason_lists, out


def next_purchase_model(engine: Engine, config: ScoringConfig, ids: np.ndarray, all_lines: pd.DataFrame,
                        catalog: pd.DataFrame):
    """Expected next purchase date overall and per replenishable category (nextbuy.py), validated as of the
    calibration cut-off against the first purchase the customer actually made in the holdout window."""
    out = ModelOutcome("next_purchase")
    started = time.perf_counter()
    orders = engine.arrow(features.orders_sql(config.as_of)).to_pandas()
    lines = all_lines[all_lines["replenishable"].astype(bool).to_numpy()]
    cycles = {row.category: float(row.cycle_days) for row in catalog.itertuples()
              if row.replenishable and row.cycle_days == row.cycle_days and row.cycle_days}
    day = dt.timedelta(days=1)
    est = nextbuy.next_purchase(orders, lines, config.as_of + day, tz=config.time_zone, category_cycles=cycles)

    # Validation: estimates as of the calibration cut-off against the first purchase day after it.
    cal = config.calibration_as_of
    est_cal = nextbuy.next_purchase(orders, lines, cal + day, tz=config.time_zone, category_cycles=cycles)
    cal_ids = np.unique(est_cal["customer_id"].to_numpy(dtype=np.int64))
    first_after = _aligned(engine.arrow(features.activity_sql(cal, config.as_of)), cal_ids, {"first_day": np.nan})
    metrics = _next_purchase_validation(est_cal[est_cal["category"].isna()], cal_ids, first_after["first_day"],
                                        config)
    cat_first = engine.arrow(features.category_activity_sql(cal, config.as_of)).to_pandas()
    metrics["categories"] = _category_validation(est_cal[est_cal["category"].notna()], cat_first)
    out.metrics = metrics
    if guard_outcome(out).serving == rules.SERVE_BASELINE:
        est = own_gap_estimates(est)  # credibility did not beat each customer's own mean gap
    overall = est[est["category"].isna()]
    next_on = np.full(ids.size, None, dtype=object)
    due_days = np.full(ids.size, np.nan)
    pos, found = _align(ids, overall["customer_id"].to_numpy(dtype=np.int64))
    dates = pd.to_datetime(overall["expected_date"]).dt.date.to_numpy()
    next_on[pos[found]] = dates[found]
    due_days[pos[found]] = overall["days_until"].to_numpy(dtype=float)[found]
    per_cat = est[est["category"].notna()]
    categories: list = [[] for _ in range(ids.size)]
    if len(per_cat):
        cpos, cfound = _align(ids, per_cat["customer_id"].to_numpy(dtype=np.int64))
        cols = zip(cpos.tolist(), cfound.tolist(), per_cat["category"].tolist(),
                   pd.to_datetime(per_cat["expected_date"]).dt.date.tolist(),
                   pd.to_datetime(per_cat["window_start"]).dt.date.tolist(),
                   pd.to_datetime(per_cat["window_end"]).dt.date.tolist(),
                   per_cat["overdue"].astype(bool).tolist(), per_cat["interval_days"].tolist(), strict=True)
        for p, ok, cat, when, lo, hi, overdue, interval in cols:
            if ok:
                categories[p].append({"category": cat, "date": when.isoformat(), "window": [lo.isoformat(),
                                      hi.isoformat()], "overdue": overdue, "interval_days": round(interval, 1)})

    out.parameters = {"method": "Bühlmann–Straub credibility of each customer's mean gap towards the population's",
                      "category_cycles": cycles, "time_zone": config.time_zone}
    out.rows_in = int(len(orders))
    out.rows_out = int(found.sum())
    out.seconds = time.perf_counter() - started
    return next_on, due_days, categories, out


def _days(values) -> np.ndarray:
    return (pd.to_datetime(values).to_numpy(dtype="datetime64[D]").astype(np.int64)).astype(float)


def _next_purchase_validation(est: pd.DataFrame, cal_ids: np.ndarray, first_day: np.ndarray,
                              config: ScoringConfig) -> dict:
    pos, found = _align(cal_ids, est["customer_id"].to_numpy(dtype=np.int64))
    actual = np.full(len(est), np.nan)
    actual[found] = first_day[pos[found]]
    expected = _days(est["expected_date"])
    last = _days(est["last_purchase"])
    own = last + est["own_interval_days"].to_numpy(dtype=float)
    lo, hi = _days(est["window_start"]), _days(est["window_end"])
    came = ~np.isnan(actual)
    err = expected[came] - actual[came]
    base_err = own[came] - actual[came]
    purchases = est["purchases"].to_numpy(dtype=float)
    labels = np.where(purchases >= 10, "10+", np.where(purchases >= 5, "5-9", np.where(purchases >= 3, "3-4", "2")))
    bins = _binned(labels[came], ["2", "3-4", "5-9", "10+"], expected[came] - last[came], actual[came] - last[came],
                   "purchases")
    return {
        "calibration_as_of": config.calibration_as_of.isoformat(), "holdout_days": config.holdout_days,
        "customers": int(len(est)), "returned": int(came.sum()),
        "mae": float(np.mean(np.abs(err))) if came.any() else None,
        "median_abs_error": float(np.median(np.abs(err))) if came.any() else None,
        "bias": float(np.mean(err)) if came.any() else None,
        "baseline_mae": float(np.mean(np.abs(base_err))) if came.any() else None,
        "baseline": "last purchase + the customer's own mean gap (no credibility)",
        "within_window": float(np.mean((actual[came] >= lo[came]) & (actual[came] <= hi[came]))) if came.any()
        else None,
        "note": "gaps of customers who bought again within the holdout window (shorter gaps are over-represented)",
        "holdout": {"bins": bins},
    }


def _category_validation(est: pd.DataFrame, cat_first: pd.DataFrame) -> list[dict]:
    if est.empty:
        return []
    merged = est.merge(cat_first[["customer_id", "category", "first_day"]], on=["customer_id", "category"],
                       how="left")
    rows = []
    for category, part in merged.groupby("category", sort=True):
        came = part["first_day"].notna().to_numpy()
        if not came.any():
            continue
        actual = part["first_day"].to_numpy(dtype=float)[came]
        err = _days(part["expected_date"])[came] - actual
        own = (_days(part["last_purchase"]) + part["own_interval_days"].to_numpy(dtype=float))[came] - actual
        rows.append({"category": category, "customers": int(len(part)), "returned": int(came.sum()),
                     "mae": float(np.mean(np.abs(err))), "baseline_mae": float(np.mean(np.abs(own)))})
    return rows


def value_model(now: pd.DataFrame, cal: pd.DataFrame, scores: BTYDScores, cal_holdout_amount: np.ndarray,
                config: ScoringConfig):
    """Value tiers A-D from immediate value (margin over the last 12 months) and potential value (CLV over the
    horizon in margin terms: CLV × the customer's margin rate), and share of wallet where demand is recorded
    (value.py). Validation: tiers as of the calibration cut-off against the revenue each tier brought in the
    holdout window."""
    out = ModelOutcome("value")
    started = time.perf_counter()
    immediate = now["margin_365d"].to_numpy(dtype=float)
    potential = scores.clv * _margin_rate(now)
    tiers = value.value_tiers(immediate, potential)
    sow = value.share_of_wallet(now["revenue_365d"].to_numpy(dtype=float),
                                now["total_demand"].to_numpy(dtype=float, na_value=np.nan))
    cal_immediate = cal["margin_365d"].to_numpy(dtype=float)
    cal_potential = scores.calibration_value * _margin_rate(cal)
    cal_tiers = value.value_tiers(cal_immediate, cal_potential)
    combined = value.combined_value(cal_immediate, cal_potential)
    total = float(cal_holdout_amount.sum())
    bins = []
    for tier in value.TIERS:
        sel = cal_tiers == tier
        if sel.any():
            bins.append({"tier": tier, "customers": int(sel.sum()), "predicted": float(combined[sel].mean()),
                         "actual": float(cal_holdout_amount[sel].mean()),
                         "customer_share": float(sel.mean()),
                         "revenue_share": float(cal_holdout_amount[sel].sum() / total) if total else None})
    known = sow["share"].notna().to_numpy()
    out.parameters = {"immediate_value": "margin over the 365 days up to as_of, net of returns",
                      "potential_value": "CLV over the horizon × the customer's margin rate",
                      "tiers": "top 10% of customers by combined value A, next 20% B, next 30% C, rest D",
                      "cuts": list(value.CUSTOMER_CUTS), "share_of_wallet_low": value.LOW_SHARE}
    out.metrics = {
        "calibration_as_of": config.calibration_as_of.isoformat(), "holdout_days": config.holdout_days,
        "tiers": value.tier_summary(tiers, immediate, potential),
        "concentration": value.value_concentration(now["revenue_365d"].to_numpy(dtype=float)),
        "holdout": {"bins": bins},
        "share_of_wallet": {"known": int(known.sum()), "low": int(sow["low"].sum()),
                            "mean_share": float(sow["share"][known].mean()) if known.any() else None,
                            "headroom": float(sow["headroom"][known].sum()) if known.any() else 0.0},
    }
    out.rows_in = int(len(now))
    out.rows_out = int(len(now))
    out.seconds = time.perf_counter() - started
    return tiers, immediate, potential, sow["share"].to_numpy(dtype=float), out


def _margin_rate(frame: pd.DataFrame) -> np.ndarray:
    """Each customer's margin / revenue (0-1); the population's rate where the customer's own is unknown."""
    revenue = frame["revenue_total"].to_numpy(dtype=float)
    margin = frame["margin_total"].to_numpy(dtype=float)
    overall = float(margin.sum() / revenue.sum()) if revenue.sum() > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(revenue > 0, margin / np.where(revenue > 0, revenue, 1.0), overall)
    return np.clip(rate, 0.0, 1.0)


def recommend_model(config: ScoringConfig, ids: np.ndarray, lines: pd.DataFrame, catalog: pd.DataFrame, k: int):
    """Top-k next products per customer (recommend.py: repeat purchases, products bought together, popularity),
    validated as of the calibration cut-off: the share of customers who bought one of their recommended products
    in the holdout window, beside recommending everyone the k most popular products (recommend.holdout_metrics).
    When that check is not won (rules.baseline_verdict) every customer is served the popular products instead,
    less those they bought and do not buy again."""
    out = ModelOutcome("recommend")
    started = time.perf_counter()
    names = dict(zip(catalog["product_id"].tolist(), catalog["name"].tolist(), strict=True))
    cut_day = features.day_number(config.calibration_as_of)
    now_day = features.day_number(config.as_of)
    line_day = lines["day"].to_numpy()
    before = lines[line_day <= cut_day]
    fit_c = recommend.fit_recommender(before, as_of_day=cut_day, window_days=config.holdout_days)
    # Checked for a random sample of the customers who bought in the year before the cut-off (the hit rate of
    # VALIDATION_SAMPLE customers has a standard error below 0.002).
    recent = before["day"].to_numpy() > cut_day - fit_c.history_days
    sample = _sample_customers(before["customer_id"].to_numpy(dtype=np.int64)[recent], VALIDATION_SAMPLE,
                               config.seed)
    recs_c = recommend.recommend(fit_c, before, k=k, customers=sample)
    out.metrics = recommend.holdout_metrics(recs_c, lines, cut_day=cut_day, k=k, customers=sample)
    verdict = guard_outcome(out)
    fitted = recommend.fit_recommender(lines, as_of_day=now_day, window_days=config.holdout_days)
    if verdict.serving == rules.SERVE_BASELINE:
        recs = recommend.popular_lists(fitted, lines, k=k)
    else:
        recs = recommend.recommend(fitted, lines, k=k)
    lists: list = [[] for _ in range(ids.size)]
    pos, found = _align(ids, recs["customer_id"].to_numpy(dtype=np.int64))
    recs = recs[found]
    pos = pos[found]
    # The reason is stored as its parts (the UI words it in the user's language) plus a short English text; the
    # recommended product's own name is not repeated in it (it travels as product_id). One comprehension per
    # kind over whole columns (a million customers × 3 items), then the items go to their customers in order.
    category = pd.Series(catalog["category"].to_numpy(), index=catalog["product_id"].to_numpy())
    cats = category.reindex(recs["product_id"].to_numpy()).fillna("").to_numpy(dtype=object)
    kind = recs["kind"].to_numpy(dtype=object)
    items: list = [None] * len(recs)

    def column(name: str, sel: np.ndarray, digits: int | None = None) -> list:
        values = recs[name].to_numpy()[sel]
        return (np.round(values.astype(float), digits) if digits is not None else values).tolist()

    sel = np.flatnonzero(kind == "together")
    for i, item in zip(sel.tolist(), [
            {"product_id": pid, "category": cat, "score": score, "kind": "together", "because_product_id": because,
             "lift": lift, "confidence": conf,
             "reason": f"bought {names.get(because, because)}; lift {lift:.1f}, confidence {conf:.0%}"}
            for pid, cat, score, because, lift, conf in zip(
                column("product_id", sel), cats[sel].tolist(), column("score", sel, 4),
                column("because_product_id", sel), column("lift", sel, 2), column("confidence", sel, 3), strict=True)],
            strict=True):
        items[i] = item
    sel = np.flatnonzero(kind == "repeat")
    for i, item in zip(sel.tolist(), [
            {"product_id": pid, "category": cat, "score": score, "kind": "repeat", "times_bought": times,
             "repeat_rate": rate,
             "reason": f"bought on {times} orders in the last year; {rate:.0%} of buyers buy it again"}
            for pid, cat, score, times, rate in zip(
                column("product_id", sel), cats[sel].tolist(), column("score", sel, 4),
                column("times_bought", sel), column("repeat_rate", sel, 3), strict=True)],
            strict=True):
        items[i] = item
    popular_text = ("popular with customers like this one" if verdict.serving == rules.SERVE_MODEL
                    else "popular (the model did not beat it)")
    sel = np.flatnonzero(kind == "popular")
    for i, item in zip(sel.tolist(), [
            {"product_id": pid, "category": cat, "score": score, "kind": "popular", "new_rate": rate,
             "reason": popular_text}
            for pid, cat, score, rate in zip(column("product_id", sel), cats[sel].tolist(), column("score", sel, 4),
                                             column("new_rate", sel, 4), strict=True)], strict=True):
        items[i] = item
    # recs is sorted by customer and rank: each customer's items are one slice.
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]]) if pos.size else np.empty(0, dtype=np.int64)
    for p, a, b in zip(pos[starts].tolist(), starts.tolist(), [*starts[1:].tolist(), len(items)], strict=True):
        lists[p] = items[a:b]
    kinds = recs["kind"].value_counts().to_dict()
    out.parameters = {"k": k, **fitted.parameters, "served": {str(key): int(v) for key, v in kinds.items()},
                      "method": "own repeat purchases (repeat rate × odds ratio by times bought), products bought "
                                "together (new-buyer rate raised by the mean excess lift of the customer's "
                                "linked products) and popularity, as chances to buy in the next window",
                      "top_links": _json_links(fitted, names)}
    out.rows_in = int(len(lines))
    out.rows_out = int(starts.size)
    out.seconds = time.perf_counter() - started
    return lists, out


VALIDATION_SAMPLE = 100_000


def _sample_customers(customer_ids: np.ndarray, size: int, seed: int) -> np.ndarray:
    unique = np.unique(customer_ids)
    if unique.size <= size:
        return unique
    return np.sort(np.random.default_rng(seed).choice(unique, size=size, replace=False))


def _json_links(fitted, names: dict, limit: int = 20) -> list[dict]:
    """The strongest product-to-product links (by lift) for the model page."""
    coo = fitted.links.tocoo()
    if coo.nnz == 0:
        return []
    conf = np.asarray(fitted.confidence[coo.row, coo.col]).ravel()
    top = np.lexsort((coo.col, coo.row, -coo.data))[:limit]
    return [{"antecedent": names.get(int(fitted.items[i]), str(fitted.items[i])),
             "consequent": names.get(int(fitted.items[j]), str(fitted.items[j])), "lift": round(1.0 + float(e), 2),
             "confidence": round(float(c), 3)}
            for i, j, e, c in zip(coo.row[top], coo.col[top], coo.data[top], conf[top], strict=True)]


# ---------------------------------------------------------------------------------------------------------------
# The baseline guard (rules.baseline_verdict decides; these serve the baseline where the model lost)


def guard_outcome(outcome: ModelOutcome) -> rules.Verdict | None:
    """Decide from the outcome's stored metrics and store the decision in them (ModelRun.metrics["guard"])."""
    verdict = rules.baseline_verdict(outcome.model, outcome.metrics)
    if verdict is not None:
        outcome.metrics["guard"] = verdict.as_dict()
    return verdict


def recency_risk(valid_days: np.ndarray, valid_labels: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The baseline churn probability: the churn rate of customers with the same days since their last purchase
    on the validation window, as a non-decreasing step function of those days (isotonic regression), applied to
    `days` (NaN stays NaN)."""
    ok = ~np.isnan(valid_days)
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(valid_days[ok], valid_labels[ok].astype(float))
    out = np.full(days.shape, np.nan)
    known = ~np.isnan(days)
    out[known] = iso.predict(days[known])
    return out


def recency_reasons(days: np.ndarray) -> list:
    """The one reason of a recency-only risk, in CustomerScore.churn_reasons' shape."""
    return [[] if d != d else [{"feature": "days_since_last", "label": f"no purchase for {int(d)} days",
                                "value": float(d), "contribution": None}] for d in days.tolist()]


def own_gap_estimates(est: pd.DataFrame) -> pd.DataFrame:
    """Next-purchase estimates moved to the baseline: last purchase + the customer's own mean gap (no
    credibility), the window and overdue flag moved with it."""
    out = est.copy()
    last = _days(out["last_purchase"])
    shift = (last + np.rint(out["own_interval_days"].to_numpy(dtype=float)) - _days(out["expected_date"]))
    delta = pd.to_timedelta(shift, unit="D")
    for col in ("expected_date", "window_start", "window_end"):
        out[col] = pd.to_datetime(out[col]) + delta
    out["interval_days"] = out["own_interval_days"]
    out["days_until"] = out["days_until"].to_numpy(dtype=float) + shift
    out["overdue"] = -out["days_until"].to_numpy(dtype=float) > out["spread_days"].to_numpy(dtype=float)
    return out


def _buyers(frame: pd.DataFrame) -> np.ndarray:
    return frame["T_days"].notna().to_numpy()


def _churn_cutoffs(config: ScoringConfig) -> dict[str, dt.date]:
    h = dt.timedelta(days=config.churn_horizon_days)
    return {"train": config.as_of - 2 * h, "valid": config.as_of - h, "score": config.as_of}


# The next best action is a consistency rule: consistency.next_actions (one place for its thresholds).
next_actions = consistency.next_actions


# ---------------------------------------------------------------------------------------------------------------
# Orchestration


def _frame(table) -> pd.DataFrame:
    return table.to_pandas()


def _align(ids_from: np.ndarray, ids_to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ids_to inside the sorted ids_from, and whether each was found."""
    pos = np.searchsorted(ids_from, ids_to)
    found = pos < ids_from.size
    found[found] &= ids_from[pos[found]] == ids_to[found]
    return pos, found


def _guard(outcome_name: str, fn, *args, **kwargs):
    """Run a model that may fail without sinking the batch: a failure becomes a failed ModelOutcome."""
    started = time.perf_counter()
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # the ModelRun records the failure; the other models' scores are still good
        log.exception("model %s failed", outcome_name)
        failed = ModelOutcome(outcome_name, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}",
                              seconds=time.perf_counter() - started)
        return None, failed


def compute_scores(engine: Engine, config: ScoringConfig, *, progress: Progress | None = None) -> ScoringResult:
    """Features as of the needed cut-offs, every model, and the CustomerScore columns.

    RFM, BG/NBD, Gamma-Gamma and CLV are the core: if one of them fails, the exception propagates (the batch
    fails and the previous scores stay current). A failure of churn, next purchase, recommendations or value is
    recorded as a failed ModelRun with the error and leaves that model's columns empty.
    """
    stages = _Stages(progress)
    started = time.perf_counter()
    cutoffs = {"now": config.as_of, "calibration": config.calibration_as_of}
    churn_cut = _churn_cutoffs(config)
    cutoffs["churn_train"] = churn_cut["train"]
    cutoffs["churn_valid"] = churn_cut["valid"]
    frames: dict[str, pd.DataFrame] = {}
    by_date: dict[dt.date, pd.DataFrame] = {}
    for name, day in cutoffs.items():
        if day not in by_date:
            by_date[day] = _frame(features.customer_features(engine, day))
        frames[name] = by_date[day]
    now = frames["now"]
    ids = now["customer_id"].to_numpy(dtype=np.int64)
    cal = frames["calibration"]
    check_history(now, cal, config)
    cal_ids = cal["customer_id"].to_numpy(dtype=np.int64)
    hold_days, hold_amount = _activity_counts(
        features.activity(engine, config.calibration_as_of, config.as_of), cal_ids)
    labels = {}
    for name in ("churn_train", "churn_valid"):
        day = cutoffs[name]
        fr = frames[name]
        window_days, _ = _activity_counts(
            features.activity(engine, day, day + dt.timedelta(days=config.churn_horizon_days)),
            fr["customer_id"].to_numpy(dtype=np.int64))
        labels[name] = (window_days == 0).astype(np.int8)
    stages.done("features", time.perf_counter() - started,
                {"customers": len(now), "buyers": int(now["T_days"].notna().sum()),
                 "cutoffs": {k: v.isoformat() for k, v in cutoffs.items()}})

    outcomes: list[ModelOutcome] = []
    t0 = time.perf_counter()
    rfm_scores, rfm_out = rfm_model(now, cal, hold_days, config)
    outcomes.append(rfm_out)
    stages.done("rfm", time.perf_counter() - t0, {"scored": rfm_out.rows_out})

    t0 = time.perf_counter()
    scores, btyd_outcomes = btyd_models(now, cal, hold_days, hold_amount, config)
    outcomes += btyd_outcomes
    for outcome in btyd_outcomes:
        guard_outcome(outcome)
    stages.done("btyd", time.perf_counter() - t0, {o.model: o.rows_in for o in btyd_outcomes})

    t0 = time.perf_counter()
    churn_result, failed = _guard("churn", churn_model, frames, config, labels, scores.clv)
    if failed is None:
        churn_prob, churn_reasons, churn_out = churn_result
    else:
        churn_prob, churn_reasons, churn_out = np.full(len(now), np.nan), [[] for _ in range(len(now))], failed
    verdict = guard_outcome(churn_out) if failed is None else None
    if verdict is not None and verdict.serving == rules.SERVE_BASELINE:
        # The classifier did not rank the later window better than recency did: serve recency's churn rate.
        valid = frames["churn_valid"]
        vb = _buyers(valid)
        days_now = np.where(_buyers(now), now["days_since_last"].to_numpy(dtype=float, na_value=np.nan), np.nan)
        churn_prob = recency_risk(valid["days_since_last"].to_numpy(dtype=float, na_value=np.nan)[vb],
                                  labels["churn_valid"][vb], days_now)
        churn_reasons = recency_reasons(days_now)
    outcomes.append(churn_out)
    stages.done("churn", time.perf_counter() - t0, {"scored": churn_out.rows_out})

    t0 = time.perf_counter()
    lines = engine.arrow(features.lines_sql(config.as_of)).to_pandas()
    catalog = engine.arrow(features.catalog_sql()).to_pandas()
    stages.done("lines", time.perf_counter() - t0, {"lines": len(lines)})

    t0 = time.perf_counter()
    np_result, failed = _guard("next_purchase", next_purchase_model, engine, config, ids, lines, catalog)
    if failed is None:
        next_on, due_days, next_categories, np_out = np_result
    else:
        next_on, due_days, next_categories, np_out = (np.full(len(now), None, dtype=object), np.full(len(now), np.nan),
                                                       [[] for _ in range(len(now))], failed)
    outcomes.append(np_out)
    stages.done("next_purchase", time.perf_counter() - t0, {"scored": np_out.rows_out})

    t0 = time.perf_counter()
    rec_result, failed = _guard("recommend", recommend_model, config, ids, lines, catalog, config.recommendations)
    recs, rec_out = rec_result if failed is None else ([[] for _ in range(len(now))], failed)
    outcomes.append(rec_out)
    del lines
    stages.done("recommend", time.perf_counter() - t0, {"scored": rec_out.rows_out})

    t0 = time.perf_counter()
    value_result, failed = _guard("value", value_model, now, cal, scores, hold_amount, config)
    if failed is None:
        tier, immediate, potential, wallet, value_out = value_result
    else:
        nan = np.full(len(now), np.nan)
        tier, immediate, potential, wallet, value_out = np.full(len(now), "", dtype=object), nan, nan, nan, failed
    outcomes.append(value_out)
    stages.done("value", time.perf_counter() - t0, {"scored": value_out.rows_out})

    buyer = now["T_days"].notna().to_numpy()
    columns: dict[str, Any] = {
        "rfm_r": _nullable_int(rfm_scores.r), "rfm_f": _nullable_int(rfm_scores.f),
        "rfm_m": _nullable_int(rfm_scores.m), "rfm_segment": rfm_scores.segment,
        "frequency": np.where(buyer, now["frequency"].to_numpy(dtype=float), np.nan),
        "recency": np.where(buyer, now["recency_days"].to_numpy(dtype=float), np.nan),
        "age": now["T_days"].to_numpy(dtype=float, na_value=np.nan),
        "monetary": np.where(buyer & (now["frequency"].to_numpy() > 0), now["monetary"].to_numpy(dtype=float),
                             np.nan),
        "p_alive": scores.p_alive, "expected_purchases": scores.expected_purchases,
        "expected_spend": scores.expected_spend, "clv": scores.clv,
        "churn_probability": churn_prob, "churn_reasons": churn_reasons,
        "value_at_risk": churn_prob * scores.clv,
        "next_purchase_on": next_on, "next_purchase_categories": next_categories,
        "recommendations": recs, "value_tier": tier, "immediate_value": immediate, "potential_value": potential,
        "share_of_wallet": wallet,
        "acquisition_channel": now["acquisition_channel"].fillna("").to_numpy(dtype=object),
    }
    columns["next_action"] = next_actions(
        buyer=buyer, churn_probability=churn_prob, p_alive=scores.p_alive, tier=tier,
        next_due_days=due_days, has_recommendations=np.fromiter((bool(r) for r in recs), bool, len(now)))
    return ScoringResult(customer_ids=ids, columns=columns, models=outcomes, stages=stages.info)


def _nullable_int(scores: np.ndarray) -> np.ndarray:
    return np.where(scores > 0, scores.astype(float), np.nan)
