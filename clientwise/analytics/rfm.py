"""RFM: recency, frequency and monetary quintile scores (1-5, 5 best) and named segments from a rule table.

Scores are quintiles of the customers that have bought: score = 1 + floor(5 · w / n), where w is the number of
customers with a strictly *worse* value and n the number scored. Equal values therefore always get the same
score, whatever their order (deterministic ties); with many ties a score can be skipped (e.g. when half of the
customers bought once, they all get F = 1 and the next score is 3). Recency is better when smaller (days since
the last purchase), frequency and monetary when larger.

Segments: the first rule of the table that matches a customer's scores wins. A rule gives inclusive [low, high]
ranges for any of r, f, m and fm (the mean of F and M rounded half up); a missing key matches everything. The
table comes from settings.ANALYTICS_RFM_SEGMENTS or DEFAULT_SEGMENTS below, which covers all 25 (R, FM) cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils.translation import gettext_lazy as _

SEGMENT_LABELS = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "potential_loyalists": _("Potential loyalists"),
    "new": _("New"),
    "at_risk": _("At risk"),
    "cant_lose": _("Can't lose"),
    "hibernating": _("Hibernating"),
    "lost": _("Lost"),
    "other": _("Other"),
}

# Order matters: the first match wins.
DEFAULT_SEGMENTS: list[dict] = [
    {"code": "champions", "r": [4, 5], "fm": [4, 5]},
    {"code": "loyal", "r": [3, 5], "fm": [3, 5]},
    {"code": "new", "r": [5, 5], "fm": [1, 1]},
    {"code": "potential_loyalists", "r": [3, 5], "fm": [1, 2]},
    {"code": "cant_lose", "r": [1, 2], "fm": [5, 5]},
    {"code": "at_risk", "r": [1, 2], "fm": [3, 4]},
    {"code": "hibernating", "r": [2, 2], "fm": [1, 2]},
    {"code": "lost", "r": [1, 1], "fm": [1, 2]},
]
FALLBACK = "other"


@dataclass(frozen=True)
class RFMScores:
    r: np.ndarray  # int8, 0 where not scored
    f: np.ndarray
    m: np.ndarray
    segment: np.ndarray  # object array of segment codes, "" where not scored


def quintile_scores(values, *, higher_is_better: bool = True) -> np.ndarray:
    """1-5 per value: 1 + floor(5 · (number of strictly worse values) / n). NaN gets 0 (not scored)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(v.shape, dtype=np.int8)
    ok = ~np.isnan(v)
    n = int(ok.sum())
    if n == 0:
        return out
    x = v[ok] if higher_is_better else -v[ok]
    worse = np.searchsorted(np.sort(x), x, side="left")  # how many are strictly smaller (worse)
    out[ok] = 1 + (5 * worse) // n
    return out


def segment_rules(setting: Sequence[dict] | None = None) -> list[dict]:
    """The rule table: settings.ANALYTICS_RFM_SEGMENTS when set, else DEFAULT_SEGMENTS; validated."""
    if setting is None:
        setting = getattr(settings, "ANALYTICS_RFM_SEGMENTS", None) or DEFAULT_SEGMENTS
    rules = []
    for rule in setting:
        if "code" not in rule:
            raise ValueError(f"RFM segment rule without a code: {rule!r}")
        for key in ("r", "f", "m", "fm"):
            if key in rule:
                low, high = rule[key]
                if not 1 <= low <= high <= 5:
                    raise ValueError(f"RFM rule {rule['code']}: {key} must be [low, high] within 1-5")
        rules.append(dict(rule))
    return rules


def assign_segments(r, f, m, rules: Sequence[dict] | None = None) -> np.ndarray:
    """Segment code per customer from scores 1-5 (0 = not scored → "")."""
    r, f, m = (np.asarray(a, dtype=np.int64) for a in (r, f, m))
    fm = (f + m + 1) // 2
    scores = {"r": r, "f": f, "m": m, "fm": fm}
    out = np.full(r.shape, "", dtype=object)
    todo = (r > 0) & (f > 0) & (m > 0)
    for rule in segment_rules(rules):
        hit = todo.copy()
        for key, values in scores.items():
            if key in rule:
                low, high = rule[key]
                hit &= (values >= low) & (values <= high)
        out[hit] = rule["code"]
        todo &= ~hit
    out[todo] = FALLBACK
    return out


def rfm_scores(days_since_last, orders, revenue, *, rules: Sequence[dict] | None = None) -> RFMScores:
    """Scores and segments for customers; rows with no purchase (orders 0 or days_since_last NaN) get 0 / ""."""
    days = np.asarray(days_since_last, dtype=np.float64)
    orders = np.asarray(orders, dtype=np.float64)
    revenue = np.asarray(revenue, dtype=np.float64)
    buyer = (orders > 0) & ~np.isnan(days)
    masked = [np.where(buyer, a, np.nan) for a in (days, orders, revenue)]
    r = quintile_scores(masked[0], higher_is_better=False)
    f = quintile_scores(masked[1])
    m = quintile_scores(masked[2])
    return RFMScores(r=r, f=f, m=m, segment=assign_segments(r, f, m, rules))
