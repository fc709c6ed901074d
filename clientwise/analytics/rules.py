"""Rules of the analytics app that the pipeline, the pages and the API share (pure functions, no Django).

The baseline guard: every model run stores, beside its own holdout metric, the same metric of a naive baseline
(pipeline.py). `baseline_verdict` says from those stored metrics alone whether the model beat its baseline; when
it did not, the product serves the baseline instead (pipeline.py applies it, the pages say so).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

SERVE_MODEL = "model"
SERVE_BASELINE = "baseline"


@dataclass(frozen=True)
class BaselineRule:
    """Which stored metric decides for a model kind, the baseline's metric, and which direction is better."""

    metric: str
    baseline_metric: str
    higher_is_better: bool
    baseline: str  # what the model is compared with (the pages word it)
    serves_baseline: bool = True  # False: the verdict is shown, but the product has no baseline figure to serve


BASELINE_RULES: dict[str, BaselineRule] = {
    # ROC AUC on the later window against ranking by days since the last purchase.
    "churn": BaselineRule("auc", "baseline_auc", True, "recency"),
    # Mean absolute error (days) of the next purchase date against last purchase + the customer's own mean gap.
    "next_purchase": BaselineRule("mae", "baseline_mae", False, "own_gap"),
    # Share of the holdout revenue brought by the top 20 % by predicted value against the top 20 % by past revenue.
    # Past revenue ranks customers but is no lifetime value in money: a lost check is shown, CLV stays.
    "clv": BaselineRule("top20_capture", "baseline_top20_capture", True, "past_revenue", serves_baseline=False),
    # Share of customers who bought a recommended product in the holdout window against the k most popular.
    "recommend": BaselineRule("hit_rate", "baseline_hit_rate", True, "popular"),
}


@dataclass(frozen=True)
class Verdict:
    """The guard's decision for one run. `beats` is None when either figure is missing (nothing to compare):
    the model is then served, and the pages say it was not checked. `serving` is SERVE_BASELINE when the model
    lost and its kind has a baseline the product can serve."""

    model: str
    metric: str
    value: float | None
    baseline_value: float | None
    higher_is_better: bool
    beats: bool | None
    serving: str
    baseline: str

    def as_dict(self) -> dict:
        return asdict(self)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def baseline_verdict(model: str, metrics) -> Verdict | None:
    """Did the run beat its naive baseline on the holdout? None for a model kind without a baseline (RFM,
    BG/NBD, ...). Strictly better wins; a tie is "not better" (the baseline is simpler and just as good)."""
    rule = BASELINE_RULES.get(model)
    if rule is None:
        return None
    metrics = metrics if isinstance(metrics, dict) else {}
    value, base = _number(metrics.get(rule.metric)), _number(metrics.get(rule.baseline_metric))
    beats: bool | None = None
    if value is not None and base is not None:
        beats = value > base if rule.higher_is_better else value < base
    return Verdict(model=model, metric=rule.metric, value=value, baseline_value=base,
                   higher_is_better=rule.higher_is_better, beats=beats,
                   serving=SERVE_BASELINE if beats is False and rule.serves_baseline else SERVE_MODEL,
                   baseline=rule.baseline)
