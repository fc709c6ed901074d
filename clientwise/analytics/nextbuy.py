"""Next purchase: when each customer is expected to buy again, overall and per replenishable category.

Pure Python over pandas/NumPy (no Django), so it can be checked on outside data.

Input contract (the pipeline produces exactly these; extra columns are ignored):

    orders: customer_id, order_id, ordered_at (datetime64), amount
    lines:  order_id, customer_id, ordered_at, product_id, category (code), replenishable (bool), quantity,
            amount, margin

Only rows with ordered_at < as_of are used. Purchases are counted in days: several orders on one calendar day
(in `tz`, or in the column's own time zone) are one purchase, and a gap is the number of days between two
consecutive purchase days.

The estimate
------------
A customer's interval is the mean of their own gaps, shrunk towards the mean of everybody's gaps by
Bühlmann–Straub credibility (an empirical Bayes estimate):

    interval_i = Z_i · mean_gap_i + (1 − Z_i) · population_mean,   Z_i = n_i / (n_i + k)

where n_i is the customer's number of gaps and k = E[within-customer gap variance] / Var(customer means), both
estimated from the data (`prior_strength` overrides k). A customer with one gap of 100 days among customers
who mostly come back monthly is pulled towards the month (the more, the more customers' gaps vary); one with
twenty regular gaps keeps their own rhythm. expected_date = last purchase day + interval. spread_days is the
expected standard deviation of the next gap (the customer's coefficient of variation, shrunk the same way
towards the population's). A customer whose
expected date lies more than one spread in the past is `overdue`; the expected date is not moved — "overdue
by 40 days" is the signal (a win-back, or a lost customer the churn model will also see).

Per replenishable category the same is done on the customer's purchase days in that category, with each
category's own population mean and k (falling back to the category's configured cycle, `category_cycles`,
or to a fixed k when too few customers repeat in it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_PRIOR_STRENGTH = 3.0  # k when it cannot be estimated (pseudo-gaps at the population mean)
MIN_CUSTOMERS_FOR_K = 20  # customers with >= 2 gaps needed to estimate k and the population spread
RESULT_COLUMNS = [
    "customer_id", "category", "purchases", "last_purchase", "own_interval_days", "interval_days",
    "credibility", "spread_days", "expected_date", "window_start", "window_end", "days_until", "overdue",
]


def _day_numbers(times: pd.Series, tz: str | None) -> np.ndarray:
    """Calendar day of each timestamp as an int64 day number (days since 1970-01-01)."""
    t = pd.to_datetime(times)
    if t.dt.tz is not None:
        t = (t.dt.tz_convert(tz) if tz else t).dt.tz_localize(None)
    elif tz:
        raise ValueError("tz given for naive timestamps")
    return t.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _as_of_day(as_of: Any, times: pd.Series, tz: str | None) -> tuple[pd.Timestamp, int]:
    t = pd.Timestamp(as_of)
    col_tz = getattr(pd.to_datetime(times).dt, "tz", None)
    if col_tz is not None and t.tzinfo is None:
        t = t.tz_localize(tz or col_tz)
    elif col_tz is None and t.tzinfo is not None:
        t = t.tz_convert(None)
    local = t.tz_convert(tz or col_tz).tz_localize(None) if t.tzinfo is not None else t
    return t, int(np.datetime64(local.floor("D").to_datetime64(), "D").astype(np.int64))


def _gap_stats(keys: pd.DataFrame, day: np.ndarray, key_cols: list[str]) -> pd.DataFrame:
    """Per key: purchases (distinct days), last day, number of gaps, mean gap and within variance of gaps."""
    frame = keys[key_cols].copy()
    frame["day"] = day
    frame = frame.drop_duplicates().sort_values([*key_cols, "day"], kind="stable")
    same = np.zeros(len(frame), dtype=bool)
    same[1:] = True
    for col in key_cols:
        v = frame[col].to_numpy()
        same[1:] &= v[1:] == v[:-1]
    d = frame["day"].to_numpy()
    gap = np.where(same, np.diff(d, prepend=d[:1]), np.nan).astype(float)
    frame["gap"] = gap
    frame["gap2"] = gap * gap
    g = frame.groupby(key_cols, sort=True, dropna=False)
    out = g.agg(purchases=("day", "size"), last_day=("day", "max"), gaps=("gap", "count"),
                gap_sum=("gap", "sum"), gap2_sum=("gap2", "sum")).reset_index()
    n = out["gaps"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = out["gap_sum"].to_numpy() / n
        var = (out["gap2_sum"].to_numpy() - n * mean * mean) / (n - 1)
    out["mean_gap"] = mean
    out["var_gap"] = np.where(n >= 2, np.maximum(var, 0.0), np.nan)
    return out.drop(columns=["gap_sum", "gap2_sum"])


def credibility_k(n: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[float, float, float]:
    """Bühlmann–Straub estimates from per-customer gap counts, means and within variances.

    Returns (population mean, k = EPV / VHM, population median CV² of gaps). k is NaN when it cannot be
    estimated (fewer than MIN_CUSTOMERS_FOR_K customers with two gaps, or no spread between customers
    beyond the noise).
    """
    ok = n >= 1
    n, mean, var = n[ok], mean[ok], var[ok]
    total = n.sum()
    if total == 0:
        return float("nan"), float("nan"), float("nan")
    pop_mean = float((n * mean).sum() / total)
    rep = n >= 2
    if rep.sum() < MIN_CUSTOMERS_FOR_K:
        return pop_mean, float("nan"), float("nan")
    epv = float(((n[rep] - 1) * var[rep]).sum() / (n[rep] - 1).sum())
    c = n.size
    denom = total - (n * n).sum() / total
    vhm = float(((n * (mean - pop_mean) ** 2).sum() - (c - 1) * epv) / denom) if denom > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        cv2 = var[rep] / (mean[rep] * mean[rep])
    pop_cv2 = float(np.nanmedian(cv2)) if np.isfinite(cv2).any() else float("nan")
    k = epv / vhm if vhm > 0 else float("nan")
    if not np.isnan(k):
        # The collective mean weighted by credibility, not by gap count: frequent buyers have many short gaps
        # and would otherwise pull the prior of everyone else towards their rhythm.
        z = n / (n + k)
        pop_mean = float((z * mean).sum() / z.sum())
    return pop_mean, k, pop_cv2


def _estimate(stats: pd.DataFrame, *, prior_mean: float, k: float, pop_cv2: float, as_of_day: int,
              min_orders: int) -> pd.DataFrame:
    s = stats[stats["purchases"] >= min_orders].copy()
    n = s["gaps"].to_numpy(dtype=float)
    own = s["mean_gap"].to_numpy(dtype=float)
    z = n / (n + k)
    interval = z * own + (1 - z) * prior_mean
    # Spread: the customer's own CV² shrunk towards the population's with (n - 1) degrees of freedom vs 2.
    with np.errstate(divide="ignore", invalid="ignore"):
        own_cv2 = s["var_gap"].to_numpy(dtype=float) / (own * own)
    dof = np.maximum(n - 1, 0)
    own_cv2 = np.where(np.isfinite(own_cv2), own_cv2, 0.0)
    cv2 = (dof * own_cv2 + 2.0 * pop_cv2) / (dof + 2.0)
    spread = interval * np.sqrt(cv2)
    last = s["last_day"].to_numpy(dtype=np.int64)
    expected = last + np.rint(interval).astype(np.int64)
    half = np.rint(spread).astype(np.int64)

    def dates(days: np.ndarray) -> np.ndarray:
        return days.astype("datetime64[D]").astype("datetime64[ns]")

    s["last_purchase"] = dates(last)
    s["own_interval_days"] = own
    s["interval_days"] = interval
    s["credibility"] = z
    s["spread_days"] = spread
    s["expected_date"] = dates(expected)
    s["window_start"] = dates(expected - half)
    s["window_end"] = dates(expected + half)
    s["days_until"] = expected - as_of_day
    s["overdue"] = (as_of_day - expected) > spread
    return s


def next_purchase(orders: pd.DataFrame, lines: pd.DataFrame | None, as_of: Any, *, min_orders: int = 2,
                  prior_strength: float | None = None, tz: str | None = None,
                  category_cycles: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Expected next purchase per customer (category None) and per customer × replenishable category.

    Returns one row per estimate with the columns RESULT_COLUMNS: purchases (distinct purchase days, at least
    `min_orders`), last_purchase, own_interval_days (the customer's plain mean gap), interval_days (shrunk),
    credibility (Z, the weight of the customer's own history, 0-1), spread_days, expected_date with a
    window of ± one spread, days_until (negative: the date has passed) and overdue. Dates are calendar days
    (datetime64, midnight, no time zone). `prior_strength` fixes k instead of estimating it.
    """
    if min_orders < 2:
        raise ValueError("min_orders must be at least 2 (an interval needs two purchases)")
    as_of_ts, as_of_day = _as_of_day(as_of, orders["ordered_at"], tz)
    past = orders[pd.to_datetime(orders["ordered_at"]) < as_of_ts]
    parts = []
    overall = _gap_stats(past, _day_numbers(past["ordered_at"], tz), ["customer_id"])
    pop_mean, k, cv2 = credibility_k(overall["gaps"].to_numpy(float), overall["mean_gap"].to_numpy(float),
                                     overall["var_gap"].to_numpy(float))
    k = _choose_k(k, prior_strength)
    cv2 = 1.0 if np.isnan(cv2) else cv2  # a Poisson buyer's gaps have CV 1
    if not np.isnan(pop_mean):
        est = _estimate(overall, prior_mean=pop_mean, k=k, pop_cv2=cv2, as_of_day=as_of_day,
                        min_orders=min_orders)
        est["category"] = None
        parts.append(est)
    if lines is not None and len(lines):
        rl = lines[lines["replenishable"].astype(bool) & (pd.to_datetime(lines["ordered_at"]) < as_of_ts)]
        if len(rl):
            stats = _gap_stats(rl, _day_numbers(rl["ordered_at"], tz), ["customer_id", "category"])
            for category, cs in stats.groupby("category", sort=True):
                c_mean, c_k, c_cv2 = credibility_k(cs["gaps"].to_numpy(float), cs["mean_gap"].to_numpy(float),
                                                   cs["var_gap"].to_numpy(float))
                configured = (category_cycles or {}).get(category)
                repeaters = int((cs["gaps"] >= 2).sum())
                if configured and repeaters < MIN_CUSTOMERS_FOR_K:
                    c_mean = float(configured)
                if np.isnan(c_mean):
                    continue
                c_k = _choose_k(c_k, prior_strength)
                c_cv2 = cv2 if np.isnan(c_cv2) else c_cv2
                est = _estimate(cs, prior_mean=c_mean, k=c_k, pop_cv2=c_cv2, as_of_day=as_of_day,
                                min_orders=min_orders)
                parts.append(est)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["category"] = out["category"].astype(object).where(out["category"].notna(), None)
    return out[RESULT_COLUMNS].sort_values(["customer_id", "category"], na_position="first",
                                           kind="stable").reset_index(drop=True)


def _choose_k(k: float, prior_strength: float | None) -> float:
    if prior_strength is not None:
        return float(prior_strength)
    return DEFAULT_PRIOR_STRENGTH if np.isnan(k) else float(np.clip(k, 0.25, 50.0))
