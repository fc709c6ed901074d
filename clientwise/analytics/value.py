"""Customer value: A/B/C/D tiers, share of wallet, and how concentrated revenue is.

Pure Python over NumPy/pandas (no Django), so it can be checked on outside data.

Inputs are per-customer arrays in the same order (or pandas Series, whose index is kept where a frame is
returned):

    immediate_value   margin over the last 12 months (the feature frame's margin_365d)
    potential_value   predicted value beyond that (e.g. CLV over the horizon minus what is already banked);
                      NaN (no prediction, e.g. a prospect) counts as 0
    our_revenue       what the customer bought from us over the period the demand refers to
    total_demand      the customer's total purchases of what we sell, where recorded (key accounts);
                      NaN unknown

The tier rule
-------------
combined = w_i · immediate + w_p · potential (weights (1, 1) by default; negative parts count as 0). With
by="customers" (the default) tiers follow the customer's rank: with cuts (0.10, 0.30, 0.60) the top 10% of
customers by combined value are A, the next 20% B, the next 30% C, the rest D. With by="value" they follow
cumulative value: with cuts (0.50, 0.80, 0.95) the customers who together bring the first 50% of the total
are A, up to 80% B, up to 95% C, the long tail D (classic ABC analysis). Customers with equal combined value
always get the same tier (the share of customers, or of value, *strictly above* them decides), and a
customer with no value (combined ≤ 0) is D.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

TIERS = ("A", "B", "C", "D")
CUSTOMER_CUTS = (0.10, 0.30, 0.60)
VALUE_CUTS = (0.50, 0.80, 0.95)
LOW_SHARE = 0.30


def _floats(values: Any) -> np.ndarray:
    """float64 array from numbers, Decimals (from the database) or None."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if arr.dtype.kind in "fiub":
        return arr.astype(float).ravel()
    return pd.to_numeric(pd.Series(np.asarray(values, dtype=object).ravel()), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)


def combined_value(immediate_value: Any, potential_value: Any, *,
                   weights: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """w_i · max(immediate, 0) + w_p · max(potential, 0), NaN counted as 0."""
    imm = np.clip(np.nan_to_num(_floats(immediate_value), nan=0.0), 0.0, None)
    pot = np.clip(np.nan_to_num(_floats(potential_value), nan=0.0), 0.0, None)
    if imm.shape != pot.shape:
        raise ValueError("immediate_value and potential_value must have the same length")
    return weights[0] * imm + weights[1] * pot


def value_tiers(immediate_value: Any, potential_value: Any, *, cuts: Sequence[float] | None = None,
                by: str = "customers", weights: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Tier 'A'…'D' per customer by combined value (see the module docstring for the rule).

    cuts: three increasing cumulative shares in (0, 1] — of customers (by="customers", default
    CUSTOMER_CUTS) or of total value (by="value", default VALUE_CUTS). Returns an array of one-letter strings.
    """
    if by not in ("customers", "value"):
        raise ValueError("by must be 'customers' or 'value'")
    c = np.asarray(cuts if cuts is not None else (CUSTOMER_CUTS if by == "customers" else VALUE_CUTS), float)
    if c.shape != (3,) or np.any(np.diff(c) <= 0) or c[0] <= 0 or c[-1] > 1:
        raise ValueError("cuts must be three increasing shares in (0, 1]")
    v = combined_value(immediate_value, potential_value, weights=weights)
    n = v.size
    tiers = np.full(n, "D", dtype="<U1")
    if n == 0:
        return tiers
    # For each customer, the amount strictly above them: customers (count) or value (sum).
    order = np.argsort(-v, kind="stable")
    sv = v[order]
    first_of_tie = np.searchsorted(-sv, -sv, side="left")  # position of the first equal value
    if by == "customers":
        above = first_of_tie / n
    else:
        total = sv.sum()
        cum_before = np.concatenate([[0.0], np.cumsum(sv)[:-1]])
        above = cum_before[first_of_tie] / total if total > 0 else np.ones(n)
    level = np.searchsorted(c, above, side="right")  # 0 → A (above < c0), 1 → B, 2 → C, 3 → D
    sorted_tiers = np.asarray(TIERS, dtype="<U1")[level]
    sorted_tiers[sv <= 0] = "D"
    tiers[order] = sorted_tiers
    return tiers


def tier_summary(tiers: Any, immediate_value: Any, potential_value: Any) -> list[dict[str, Any]]:
    """Per tier: customers, their share, summed immediate and potential value (for a ModelRun or a chart)."""
    t = np.asarray(tiers)
    imm = np.nan_to_num(_floats(immediate_value), nan=0.0)
    pot = np.nan_to_num(_floats(potential_value), nan=0.0)
    n = max(t.size, 1)
    return [{"tier": tier, "customers": int((t == tier).sum()), "share": float((t == tier).sum() / n),
             "immediate_value": float(imm[t == tier].sum()), "potential_value": float(pot[t == tier].sum())}
            for tier in TIERS]


def share_of_wallet(our_revenue: Any, total_demand: Any, *, low: float = LOW_SHARE) -> pd.DataFrame:
    """Our share of each customer's recorded demand, and where it is low.

    Returns a frame (index of our_revenue when it is a Series) with: share = our revenue / demand, capped at 1
    (NaN where the demand is unknown or not positive); headroom = demand − our revenue (≥ 0; what a key
    account still buys elsewhere); low = share < `low`; exceeds_demand = our revenue is above the recorded
    demand (the demand figure is stale or too small — the share is shown as 1).
    """
    ours = np.clip(np.nan_to_num(_floats(our_revenue), nan=0.0), 0.0, None)
    demand = _floats(total_demand)
    if ours.shape != demand.shape:
        raise ValueError("our_revenue and total_demand must have the same length")
    known = np.isfinite(demand) & (demand > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(known, ours / np.where(known, demand, 1.0), np.nan)
    share = np.minimum(raw, 1.0)
    index = our_revenue.index if isinstance(our_revenue, pd.Series) else None
    return pd.DataFrame({
        "share": share,
        "headroom": np.where(known, np.clip(demand - ours, 0.0, None), np.nan),
        "low": known & (raw < low),
        "exceeds_demand": known & (raw > 1.0),
    }, index=index)


def value_concentration(revenue: Any, *, top_share: float = 0.2, points: int = 21) -> dict[str, Any]:
    """How concentrated revenue is: the share from the top `top_share` of customers, Gini and a Lorenz curve.

    Negative revenue (net returns) counts as 0 and NaN is left out. The Lorenz curve is the share of revenue
    held by the poorest share p of customers, linear between customers (so a top 20% of 7 customers is 1.4
    customers); `lorenz` has `points` evenly spaced points from p = 0 to 1 for a chart.
    `customers_for_80_percent` is the smallest share of customers (the biggest first) bringing 80% of revenue.
    """
    r = _floats(revenue)
    r = np.clip(r[np.isfinite(r)], 0.0, None)
    n = r.size
    total = float(r.sum())
    grid = np.linspace(0.0, 1.0, points)
    if n == 0 or total <= 0:
        return {"n": int(n), "total": total, "top_share": top_share, "top_revenue_share": None, "gini": None,
                "customers_for_80_percent": None,
                "lorenz": [{"customers": float(p), "revenue": None} for p in grid]}
    x = np.sort(r)
    cum = np.concatenate([[0.0], np.cumsum(x)]) / total
    steps = np.arange(n + 1) / n
    lorenz = np.interp(grid, steps, cum)
    top = 1.0 - float(np.interp(1.0 - top_share, steps, cum))
    gini = float(2 * np.dot(np.arange(1, n + 1), x) / (n * x.sum()) - (n + 1) / n)
    # Biggest customers first: the share of customers needed to reach 80% of revenue (interpolated).
    desc = np.concatenate([[0.0], np.cumsum(x[::-1])]) / total
    for_80 = float(np.interp(0.8, desc, steps))
    return {"n": int(n), "total": total, "top_share": top_share, "top_revenue_share": top, "gini": gini,
            "customers_for_80_percent": for_80,
            "lorenz": [{"customers": float(p), "revenue": float(v)}
                       for p, v in zip(grid, lorenz, strict=True)]}
