"""The baseline guard: one rule per model kind, decided from stored metrics, both ways."""

from __future__ import annotations

import pytest

from clientwise.analytics.rules import BASELINE_RULES, SERVE_BASELINE, SERVE_MODEL, baseline_verdict

CASES = [
    # kind, metrics where the model wins, metrics where it loses
    ("churn", {"auc": 0.886, "baseline_auc": 0.863}, {"auc": 0.85, "baseline_auc": 0.863}),
    ("next_purchase", {"mae": 20.1, "baseline_mae": 24.0}, {"mae": 25.0, "baseline_mae": 24.0}),
    ("clv", {"top20_capture": 0.61, "baseline_top20_capture": 0.55},
     {"top20_capture": 0.50, "baseline_top20_capture": 0.55}),
    ("recommend", {"hit_rate": 0.80, "baseline_hit_rate": 0.733}, {"hit_rate": 0.648, "baseline_hit_rate": 0.733}),
]


@pytest.mark.parametrize(("kind", "wins", "loses"), CASES)
def test_each_kind_is_judged_by_its_metric_and_direction(kind, wins, loses):
    won = baseline_verdict(kind, wins)
    assert (won.beats, won.serving) == (True, SERVE_MODEL)
    assert won.metric == BASELINE_RULES[kind].metric
    assert (won.value, won.baseline_value) == (wins[won.metric], wins[BASELINE_RULES[kind].baseline_metric])
    lost = baseline_verdict(kind, loses)
    assert lost.beats is False
    # CLV has no baseline figure in money to serve: the lost check is shown, the model's values stay.
    assert lost.serving == (SERVE_MODEL if kind == "clv" else SERVE_BASELINE)
    assert lost.as_dict()["beats"] is False


def test_ties_missing_figures_and_kinds_without_a_baseline():
    assert baseline_verdict("recommend", {"hit_rate": 0.7, "baseline_hit_rate": 0.7}).beats is False
    unchecked = baseline_verdict("churn", {"auc": 0.9, "baseline_auc": None})
    assert (unchecked.beats, unchecked.serving) == (None, SERVE_MODEL)
    assert baseline_verdict("churn", {"auc": float("nan"), "baseline_auc": 0.8}).beats is None
    assert baseline_verdict("churn", None).beats is None
    assert baseline_verdict("next_purchase", {"mae": True, "baseline_mae": 3}).beats is None  # not a number
    assert baseline_verdict("rfm", {"auc": 1.0}) is None
