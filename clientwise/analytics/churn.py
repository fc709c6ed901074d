"""Churn risk: a calibrated LightGBM classifier on time-split labels, with the reasons behind each score.

Pure Python over pandas/NumPy (no Django), so it can be checked on outside data.

Input contract — the per-customer feature frame, one row per customer as of a cut-off date (the pipeline
builds it in SQL; extra columns are ignored and NaNs are allowed everywhere):

    customer_id     int64
    frequency       repeat purchase days (days with a purchase after the first one)
    recency_days    t_x: days from the first to the last purchase day
    T_days          days from the first purchase day to the cut-off
    monetary        mean order value
    orders_total, revenue_total, margin_total
    orders_90d, orders_365d, revenue_365d, margin_365d     (windows end at the cut-off)
    days_since_last, tenure_days
    mean_gap_days   mean days between purchase days (NaN with fewer than 2)
    n_categories, returns_365d
    web_share       share of orders through web/app channels (0-1)
    kind            'person' / 'organization'
    urban_rural     'urban' / 'rural' / ''
    age             years (NaN unknown)

`kind` and `urban_rural` become 0/1 columns `is_organization` and `is_urban`; `gap_ratio` (days since the last
purchase over the customer's own mean gap: 3 means "three usual gaps overdue") is derived as well.

Labels and the time split
-------------------------
An order at or after a cut-off is never a feature of that cut-off; label windows are half-open:
history = ordered_at < cutoff, label window = cutoff <= ordered_at < cutoff + horizon. A customer is in the
population of a cut-off when they bought at least once before it; label 1 ("churned") means no order in the
label window (`make_churn_labels`).

With today = the scoring date and H = the horizon, `churn_windows(today, H)` gives three cut-offs:

    train:  features as of today - 2H, labels from [today - 2H, today - H)
    valid:  features as of today - H,  labels from [today - H, today)
    score:  features as of today,      labels unknown (the future)

`fit_churn` fits on the train window only: a stratified part of it (default 25%) is held out for early
stopping and probability calibration, so nothing from the validation window reaches the model, its number of
trees or its calibration. `validate_churn` then scores the later window against a recency-only baseline
(days_since_last as the score). To score today, refit the same procedure on the valid window (its labels are
complete by today) and apply it to today's features; the validation metrics describe that procedure one
window earlier, which is the honest estimate of how it does on the unknown future.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

DEFAULT_FEATURES: tuple[str, ...] = (
    "frequency", "recency_days", "T_days", "monetary", "orders_total", "revenue_total", "margin_total",
    "orders_90d", "orders_365d", "revenue_365d", "margin_365d", "days_since_last", "tenure_days",
    "mean_gap_days", "gap_ratio", "n_categories", "returns_365d", "web_share", "is_organization", "is_urban",
    "age",
)
REASON_COUNT = 3
MAX_EXPLAINED = 50_000  # SHAP reasons for at most this many customers by default (the riskiest)

# English text for a feature's value, for reasons ("no purchase for 214 days"). `{v}` is the value as shown;
# the UI may translate these templates (they are plain format strings keyed by feature).
REASON_TEMPLATES: dict[str, str] = {
    "days_since_last": "no purchase for {v} days",
    "gap_ratio": "{v}× their usual gap since the last purchase",
    "mean_gap_days": "buys every {v} days on average",
    "frequency": "{v} repeat purchase days",
    "recency_days": "last purchase {v} days after the first",
    "T_days": "first purchase {v} days ago",
    "tenure_days": "customer for {v} days",
    "orders_total": "{v} orders in total",
    "orders_90d": "{v} orders in the last 90 days",
    "orders_365d": "{v} orders in the last 12 months",
    "monetary": "average order {v}",
    "revenue_total": "revenue {v} in total",
    "revenue_365d": "revenue {v} in the last 12 months",
    "margin_total": "margin {v} in total",
    "margin_365d": "margin {v} in the last 12 months",
    "n_categories": "buys from {v} categories",
    "returns_365d": "{v} returns in the last 12 months",
    "web_share": "{v} of orders online",
    "is_organization": "{v}",
    "is_urban": "{v}",
    "age": "age {v}",
}
_MONEY = {"monetary", "revenue_total", "revenue_365d", "margin_total", "margin_365d"}
_DAYS = {"days_since_last", "mean_gap_days", "recency_days", "T_days", "tenure_days"}


class ChurnWindows(NamedTuple):
    """Cut-offs of the time split (see the module docstring)."""

    train_cutoff: pd.Timestamp
    valid_cutoff: pd.Timestamp
    score_cutoff: pd.Timestamp
    horizon_days: int


def churn_windows(today: dt.datetime | dt.date | pd.Timestamp, horizon_days: int) -> ChurnWindows:
    """Train on features at today − 2H (labels up to today − H), validate at today − H, score at today."""
    t = pd.Timestamp(today)
    h = pd.Timedelta(days=horizon_days)
    return ChurnWindows(t - 2 * h, t - h, t, horizon_days)


def _cutoff_like(cutoff: Any, times: pd.Series) -> pd.Timestamp:
    """The cut-off as a Timestamp comparable with `times` (a naive cut-off is read in the column's zone)."""
    c = pd.Timestamp(cutoff)
    tz = getattr(times.dt, "tz", None)
    if tz is not None and c.tzinfo is None:
        c = c.tz_localize(tz)
    elif tz is None and c.tzinfo is not None:
        c = c.tz_convert(None)
    return c


def make_churn_labels(orders: pd.DataFrame, cutoff: Any, horizon_days: int, *,
                      active_within_days: int | None = None) -> pd.Series:
    """Churn labels for the customers who bought before `cutoff`.

    orders: customer_id, ordered_at (datetime64). Returns an int8 Series indexed by customer_id (sorted),
    named "churned": 1 when the customer has no order in [cutoff, cutoff + horizon_days), else 0. With
    `active_within_days`, only customers whose last order before the cut-off is at most that many days old
    are included (e.g. to leave out customers who have been gone for years, which every model gets right).
    """
    times = pd.to_datetime(orders["ordered_at"])
    c = _cutoff_like(cutoff, times)
    end = c + pd.Timedelta(days=horizon_days)
    cust = orders["customer_id"].to_numpy()
    before = (times < c).to_numpy()
    last_before = pd.Series(times[before].to_numpy(), index=cust[before]).groupby(level=0).max()
    if active_within_days is not None:
        last_before = last_before[last_before >= c - pd.Timedelta(days=active_within_days)]
    inside = ((times >= c) & (times < end)).to_numpy()
    bought = np.isin(last_before.index.to_numpy(), np.unique(cust[inside]))
    labels = pd.Series((~bought).astype(np.int8), index=last_before.index.rename("customer_id"),
                       name="churned")
    return labels.sort_index()


# ---------------------------------------------------------------------------------------------------------------
# Features


def feature_matrix(X: pd.DataFrame, feature_cols: Sequence[str]) -> np.ndarray:
    """The float64 matrix of `feature_cols` from a feature frame (derives gap_ratio, is_organization,
    is_urban)."""
    n = len(X)
    out = np.empty((n, len(feature_cols)), dtype=np.float64)
    for j, name in enumerate(feature_cols):
        if name == "gap_ratio" and name not in X:
            gap = pd.to_numeric(X["mean_gap_days"], errors="coerce").to_numpy(dtype=float)
            since = pd.to_numeric(X["days_since_last"], errors="coerce").to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                col = np.where(gap > 0, since / np.where(gap > 0, gap, 1.0), np.nan)
        elif name == "is_organization" and name not in X:
            kind = X["kind"]
            col = np.where(kind.isna(), np.nan, (kind == "organization").to_numpy(dtype=float))
        elif name == "is_urban" and name not in X:
            ur = X["urban_rural"].fillna("")
            col = np.where(ur == "urban", 1.0, np.where(ur == "rural", 0.0, np.nan))
        else:
            s = X[name]
            if s.dtype == object or isinstance(s.dtype, pd.StringDtype | pd.CategoricalDtype):
                # Decimal columns from a database arrive as object; text is a contract error.
                s = pd.to_numeric(s, errors="raise")
            col = s.to_numpy(dtype=float, na_value=np.nan)
        out[:, j] = col
    return out


def _available_features(X: pd.DataFrame) -> list[str]:
    derived_from = {"gap_ratio": ("mean_gap_days", "days_since_last"), "is_organization": ("kind",),
                    "is_urban": ("urban_rural",)}
    cols = []
    for name in DEFAULT_FEATURES:
        if name in X or (name in derived_from and all(c in X for c in derived_from[name])):
            cols.append(name)
    return cols


# ---------------------------------------------------------------------------------------------------------------
# Model


def default_params(n_rows: int, seed: int = 0) -> dict[str, Any]:
    """LightGBM parameters that work from a few thousand to millions of customers.

    Small data gets fewer leaves and a slower learning rate (early stopping picks the number of trees);
    large data gets larger minimum leaves (stable, fast) and a faster rate so a million rows fit in a minute.
    Small data runs on one thread.
    """
    large = n_rows >= 200_000
    return {
        # OpenMP threads cost more than they give on small data (and on a shared machine they spin).
        "num_threads": 1 if n_rows < 50_000 else 0,
        "objective": "binary",
        "learning_rate": 0.1 if large else 0.05,
        "num_leaves": 63 if large else (31 if n_rows >= 20_000 else 15),
        "min_data_in_leaf": max(20, n_rows // 5000),
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "max_bin": 255,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }


@dataclass
class ChurnModel:
    """A fitted churn classifier: booster + monotone calibration of its probabilities."""

    booster: lgb.Booster
    feature_cols: list[str]
    calibration: str  # "isotonic", "platt" or "none"
    calibrator: Any
    params: dict[str, Any]
    best_iteration: int
    n_train: int
    n_calibration: int
    train_base_rate: float
    holdout_auc: float
    validation: dict[str, Any] | None = field(default=None)

    def raw_probability(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        m = X if isinstance(X, np.ndarray) else feature_matrix(X, self.feature_cols)
        return self.booster.predict(m, num_iteration=self.best_iteration)

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated probability of churn per row."""
        return _calibrate(self.calibration, self.calibrator, self.raw_probability(X))

    def parameters(self) -> dict[str, Any]:
        """JSON-ready description for a ModelRun."""
        gain = self.booster.feature_importance("gain", iteration=self.best_iteration)
        total = float(gain.sum()) or 1.0
        return {
            "features": list(self.feature_cols), "trees": int(self.best_iteration),
            "calibration": self.calibration,
            "n_train": self.n_train, "n_calibration": self.n_calibration,
            "train_base_rate": self.train_base_rate, "holdout_auc": self.holdout_auc,
            "lightgbm": {k: v for k, v in self.params.items() if k not in ("verbose",)},
            "importance": sorted(({"feature": f, "gain_share": float(g) / total}
                                  for f, g in zip(self.feature_cols, gain, strict=True)),
                                 key=lambda r: -r["gain_share"]),
        }


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(q / (1 - q))


def _calibrate(method: str, calibrator: Any, raw: np.ndarray) -> np.ndarray:
    if method == "isotonic":
        p = calibrator.predict(raw)
        # Break the ties inside isotonic steps by the raw score (a shift below 1e-6), so the calibrated
        # probability ranks customers exactly as the booster does (AUC and top-decile lists unchanged).
        return np.clip(p * (1 - 1e-6) + raw * 1e-6, 0.0, 1.0)
    if method == "platt":
        return calibrator.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]
    return raw


def fit_churn(X_train: pd.DataFrame, y_train: Sequence[int] | np.ndarray, X_valid: pd.DataFrame | None = None,
              y_valid: Sequence[int] | np.ndarray | None = None, *, feature_cols: Sequence[str] | None = None,
              seed: int = 0, params: dict[str, Any] | None = None, calibration: str = "auto",
              holdout_share: float = 0.25, max_rounds: int = 2000, early_stopping: int = 50,
              max_train_rows: int | None = 250_000) -> ChurnModel:
    """Fit a churn classifier on the train window and, when given, validate it on a later window.

    y_train/y_valid are 0/1 arrays in the row order of X_train/X_valid (1 = churned). A stratified
    `holdout_share` of the train rows is kept out of the trees: it picks the number of trees (early stopping)
    and fits the calibration — isotonic when the holdout has at least 1000 customers of each class, else Platt
    (logistic on the log-odds), or as given. X_valid/y_valid are only scored (`validate_churn`, stored in
    `model.validation`); they influence nothing in the fit. A train window larger than `max_train_rows` is
    subsampled (stratified, seeded) first: beyond a few hundred thousand customers the trees barely change and
    the fit time would grow with the customer base.
    """
    y = np.asarray(y_train, dtype=np.int8)
    if len(y) != len(X_train):
        raise ValueError(f"y_train has {len(y)} labels for {len(X_train)} rows")
    if y.min(initial=1) == y.max(initial=0):
        raise ValueError("the train window needs both churned and retained customers")
    cols = list(feature_cols) if feature_cols is not None else _available_features(X_train)
    idx = np.arange(len(y))
    if max_train_rows is not None and len(y) > max_train_rows:
        idx, _ = train_test_split(idx, train_size=max_train_rows, random_state=seed, stratify=y)
        idx = np.sort(idx)
        X_train, y = X_train.iloc[idx], y[idx]
        idx = np.arange(len(y))
    m = feature_matrix(X_train, cols)
    fit_idx, hold_idx = train_test_split(idx, test_size=holdout_share, random_state=seed, stratify=y)
    p = default_params(len(fit_idx), seed)
    if params:
        p.update(params)
    dtrain = lgb.Dataset(m[fit_idx], label=y[fit_idx], feature_name=cols, free_raw_data=True)
    dhold = lgb.Dataset(m[hold_idx], label=y[hold_idx], reference=dtrain)
    booster = lgb.train(p, dtrain, num_boost_round=max_rounds, valid_sets=[dhold], valid_names=["holdout"],
                        callbacks=[lgb.early_stopping(early_stopping, verbose=False)])
    best = booster.best_iteration or booster.current_iteration()
    raw_hold = booster.predict(m[hold_idx], num_iteration=best)
    y_hold = y[hold_idx]
    if calibration == "auto":
        calibration = "isotonic" if min(int(y_hold.sum()), int((1 - y_hold).sum())) >= 1000 else "platt"
    if calibration == "isotonic":
        calibrator = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw_hold, y_hold)
    elif calibration == "platt":
        calibrator = LogisticRegression(C=1e6).fit(_logit(raw_hold).reshape(-1, 1), y_hold)
    elif calibration == "none":
        calibrator = None
    else:
        raise ValueError(f"unknown calibration {calibration!r}")
    model = ChurnModel(
        booster=booster, feature_cols=cols, calibration=calibration, calibrator=calibrator, params=p,
        best_iteration=int(best), n_train=len(fit_idx), n_calibration=len(hold_idx),
        train_base_rate=float(y.mean()), holdout_auc=float(roc_auc_score(y_hold, raw_hold)))
    if X_valid is not None and y_valid is not None:
        model.validation = validate_churn(model, X_valid, y_valid)
    return model


# ---------------------------------------------------------------------------------------------------------------
# Scoring and reasons


def format_reason(feature: str, value: float) -> str:
    """English text for one reason: format_reason("days_since_last", 214) == "no purchase for 214 days"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{feature.replace('_', ' ')} unknown"
    if feature == "is_organization":
        return "organization" if value >= 0.5 else "person"
    if feature == "is_urban":
        return "urban" if value >= 0.5 else "rural"
    if feature == "gap_ratio":
        shown = f"{value:.1f}"
    elif feature == "web_share":
        shown = f"{value:.0%}"
    elif feature in _MONEY:
        shown = f"{value:,.2f}"
    elif feature in _DAYS or float(value).is_integer():
        shown = f"{value:.0f}"
    else:
        shown = f"{value:.1f}"
    template = REASON_TEMPLATES.get(feature, feature.replace("_", " ") + " {v}")
    return template.format(v=shown)


@dataclass
class ChurnReasons:
    """The top features pushing each customer's risk up, as arrays (cheap for a million rows).

    index[i, j] is the position in `features` of customer i's j-th strongest reason (-1: fewer than
    REASON_COUNT features raise the risk); contribution is its SHAP value in log-odds; value the feature
    value.
    `to_lists()` renders JSON-ready lists of {"feature", "label", "value", "contribution"} dicts.
    """

    features: list[str]
    index: np.ndarray
    contribution: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return self.index.shape[0]

    def to_lists(self, rows: np.ndarray | Sequence[int] | None = None) -> list[list[dict[str, Any]]]:
        sel = np.arange(len(self)) if rows is None else np.asarray(rows)
        out: list[list[dict[str, Any]]] = [[] for _ in range(sel.size)]
        explained = np.flatnonzero(self.index[sel, 0] >= 0)  # rows without reasons stay empty lists
        rows_with = sel[explained]
        idx, con, val = self.index[rows_with], self.contribution[rows_with], self.value[rows_with]
        names = self.features
        labels: dict[tuple[int, float], str] = {}  # values repeat a lot (days, counts): format each once
        for pos, r_idx, r_con, r_val in zip(explained.tolist(), idx.tolist(), con.tolist(), val.tolist(),
                                            strict=True):
            row = out[pos]
            for j, c, v in zip(r_idx, r_con, r_val, strict=True):
                if j < 0:
                    break
                v_json = None if v != v else v  # NaN → null
                key = (j, v)
                label = labels.get(key)
                if label is None:
                    label = labels[key] = format_reason(names[j], v)
                row.append({"feature": names[j], "label": label, "value": v_json,
                            "contribution": round(c, 4)})
        return out


def churn_reasons(model: ChurnModel, m: np.ndarray, k: int = REASON_COUNT, *, rows: np.ndarray | None = None,
                  batch: int = 100_000) -> ChurnReasons:
    """SHAP values (LightGBM pred_contrib) → the k largest positive contributions per row, vectorised.

    rows: positions of the rows to explain (None: all); the others get no reasons (index -1). TreeSHAP costs
    about a hundred predictions per row, so for millions of customers explain the ones whose risk is shown.
    """
    n, p = m.shape
    k = min(k, p)
    index = np.full((n, k), -1, dtype=np.int16)
    contribution = np.zeros((n, k), dtype=np.float32)
    value = np.full((n, k), np.nan, dtype=np.float64)
    todo = np.arange(n) if rows is None else np.asarray(rows)
    for start in range(0, todo.size, batch):
        part = todo[start:start + batch]
        contrib = model.booster.predict(m[part], num_iteration=model.best_iteration, pred_contrib=True)[:, :p]
        if k < p:
            top = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
        else:
            top = np.tile(np.arange(p), (contrib.shape[0], 1))
        r = np.arange(contrib.shape[0])[:, None]
        order = np.argsort(-contrib[r, top], axis=1, kind="stable")
        top = top[r, order]
        c = contrib[r, top]
        keep = c > 0
        index[part] = np.where(keep, top, -1)
        contribution[part] = np.where(keep, c, 0.0)
        value[part] = np.where(keep, m[part][r, top], np.nan)
    return ChurnReasons(features=list(model.feature_cols), index=index, contribution=contribution,
                        value=value)


EXPLAINER_MODEL = "churn_model.txt"  # beside a scoring batch's snapshot (services.keep_explainer)
EXPLAINER_FEATURES = "churn_features.parquet"


@dataclass
class StoredExplainer:
    """What churn_reasons needs of a fitted model, reloaded from the file `save_explainer` wrote (the booster
    cut to its best iteration; calibration is not needed to explain)."""

    booster: lgb.Booster
    feature_cols: list[str]
    best_iteration: int = 0  # 0: every tree of the saved booster


def save_explainer(model: ChurnModel, path) -> None:
    """The booster up to its best iteration as LightGBM's text model (feature names included)."""
    model.booster.save_model(str(path), num_iteration=model.best_iteration)


def load_explainer(path) -> StoredExplainer:
    booster = lgb.Booster(model_file=str(path))
    return StoredExplainer(booster=booster, feature_cols=list(booster.feature_name()))


def score_churn(model: ChurnModel, X: pd.DataFrame, *, reasons: bool = True,
                reasons_for: np.ndarray | None = None,
                max_explained: int | None = MAX_EXPLAINED) -> tuple[np.ndarray, ChurnReasons | None]:
    """Calibrated churn probability per row of X, and the top 3 reasons pushing each risk up.

    Reasons come from LightGBM's SHAP values (`pred_contrib=True`) of the uncalibrated booster; calibration
    is monotone, so a feature that raises the log-odds raises the calibrated probability too. TreeSHAP costs
    about a millisecond per customer on one core, so not everybody is explained: `reasons_for` (a boolean mask
    over the rows) picks who is; without it, every row up to `max_explained` rows, and beyond that the
    `max_explained` riskiest (the customers whose risk lists and pages show reasons). Others get no reasons.
    """
    m = feature_matrix(X, model.feature_cols)
    prob = model.predict(m)
    if not reasons:
        return prob, None
    if reasons_for is not None:
        rows = np.flatnonzero(np.asarray(reasons_for, dtype=bool))
    elif max_explained is not None and len(prob) > max_explained:
        rows = np.sort(np.argsort(-prob, kind="stable")[:max_explained])
    else:
        rows = None
    return prob, churn_reasons(model, m, rows=rows)


# ---------------------------------------------------------------------------------------------------------------
# Validation


def _cum_positives_at(score: np.ndarray, y: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Expected positives among the ks highest-scored rows, ties split evenly (no order-dependent luck)."""
    order = np.argsort(-score, kind="stable")
    s, t = score[order], y[order]
    ends = np.append(np.flatnonzero(s[1:] != s[:-1]), len(s) - 1)  # last row of each tied group
    x = np.concatenate([[0], ends + 1])
    cum = np.concatenate([[0], np.cumsum(t)[ends]])
    return np.interp(ks, x, cum)


def gains_table(score: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Cumulative gains and lift per decile of the score (highest first)."""
    y = np.asarray(y, dtype=float)
    n, pos = len(y), float(y.sum())
    shares = np.arange(1, bins + 1) / bins
    cum = _cum_positives_at(np.asarray(score, dtype=float), y, shares * n)
    prev = np.concatenate([[0.0], cum[:-1]])
    base = pos / n
    rows = []
    for i, share in enumerate(shares):
        in_bin = n / bins
        rows.append({
            "decile": i + 1, "customers_share": float(share),
            "captured": float(cum[i] / pos) if pos else 0.0,
            "rate": float((cum[i] - prev[i]) / in_bin),
            "lift": float((cum[i] - prev[i]) / in_bin / base) if base else 0.0,
            "cumulative_lift": float(cum[i] / (share * n) / base) if base else 0.0,
        })
    return rows


def calibration_table(prob: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Reliability table: equal-width probability bins with mean predicted and observed churn rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    b = np.clip(np.digitize(prob, edges[1:-1], right=False), 0, bins - 1)
    count = np.bincount(b, minlength=bins)
    p_sum = np.bincount(b, weights=prob, minlength=bins)
    y_sum = np.bincount(b, weights=y, minlength=bins)
    rows = []
    for i in range(bins):
        if count[i] == 0:
            continue
        rows.append({"lower": float(edges[i]), "upper": float(edges[i + 1]), "n": int(count[i]),
                     "mean_predicted": float(p_sum[i] / count[i]), "observed": float(y_sum[i] / count[i])})
    return rows


def validate_churn(model: ChurnModel, X_valid: pd.DataFrame, y_valid: Sequence[int] | np.ndarray,
                   baseline_score: np.ndarray | pd.Series | None = None) -> dict[str, Any]:
    """Metrics of the model on a later window beside a recency-only baseline (JSON-ready).

    baseline_score: higher = more likely to churn; default X_valid.days_since_last. Returns n, positives,
    base_rate, auc, baseline_auc, lift_top_decile (churn rate in the top 10% / base rate) and its baseline,
    gains (per decile: captured share of churners, lift, cumulative lift — model and baseline), calibration
    (10 equal-width bins: mean predicted vs observed), brier, brier_reference (always predicting the base
    rate), brier_skill, log_loss, calibration_error (count-weighted mean |predicted − observed| over the
    bins).
    """
    y = np.asarray(y_valid, dtype=float)
    if len(y) != len(X_valid):
        raise ValueError(f"y_valid has {len(y)} labels for {len(X_valid)} rows")
    prob = model.predict(X_valid)
    if baseline_score is None:
        baseline_score = X_valid["days_since_last"]
    base = np.asarray(pd.to_numeric(pd.Series(np.asarray(baseline_score)), errors="coerce"), dtype=float)
    if np.isnan(base).any():  # unknown recency: treat as the riskiest
        base = np.where(np.isnan(base), np.nanmax(base, initial=0.0) + 1.0, base)
    n, pos = len(y), float(y.sum())
    rate = pos / n if n else float("nan")
    both = 0 < pos < n
    gains = gains_table(prob, y) if both else []
    bgains = gains_table(base, y) if both else []
    for row, brow in zip(gains, bgains, strict=True):
        row["baseline_captured"] = brow["captured"]
        row["baseline_lift"] = brow["lift"]
        row["baseline_cumulative_lift"] = brow["cumulative_lift"]
    calib = calibration_table(prob, y)
    brier = float(np.mean((prob - y) ** 2))
    reference = float(rate * (1 - rate))
    return {
        "n": int(n), "positives": int(pos), "base_rate": float(rate),
        "auc": float(roc_auc_score(y, prob)) if both else None,
        "baseline_auc": float(roc_auc_score(y, base)) if both else None,
        "lift_top_decile": gains[0]["lift"] if both else None,
        "baseline_lift_top_decile": bgains[0]["lift"] if both else None,
        "gains": gains,
        "calibration": calib,
        "calibration_error": float(sum(r["n"] * abs(r["mean_predicted"] - r["observed"]) for r in calib) / n),
        "brier": brier, "brier_reference": reference,
        "brier_skill": float(1 - brier / reference) if reference > 0 else None,
        "log_loss": float(log_loss(y, np.clip(prob, 1e-7, 1 - 1e-7), labels=[0, 1])),
    }
