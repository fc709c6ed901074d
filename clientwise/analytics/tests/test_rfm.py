"""RFM quintile scores (deterministic ties) and segments from the rule table."""

from __future__ import annotations

import numpy as np
import pytest

from clientwise.analytics import rfm


def test_quintiles_of_distinct_values():
    scores = rfm.quintile_scores(np.arange(10, 0, -1))  # 10, 9, ..., 1
    assert scores.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert rfm.quintile_scores(np.arange(1, 11), higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_ties_get_one_score_whatever_the_order():
    values = np.array([1, 1, 1, 1, 1, 2, 3, 4, 5, 6])
    scores = rfm.quintile_scores(values)
    assert scores.tolist() == [1, 1, 1, 1, 1, 3, 4, 4, 5, 5]
    perm = np.random.default_rng(0).permutation(values.size)
    assert rfm.quintile_scores(values[perm]).tolist() == scores[perm].tolist()
    assert rfm.quintile_scores([7.0, 7.0, 7.0]).tolist() == [1, 1, 1]
    assert rfm.quintile_scores([np.nan, 3.0]).tolist() == [0, 1]


def test_default_rules_cover_every_cell():
    r, fm = np.meshgrid(np.arange(1, 6), np.arange(1, 6), indexing="ij")
    r, fm = r.ravel(), fm.ravel()
    seg = rfm.assign_segments(r, fm, fm, rfm.DEFAULT_SEGMENTS)
    assert "other" not in set(seg)
    grid = dict(zip(zip(r.tolist(), fm.tolist(), strict=True), seg.tolist(), strict=True))
    assert grid[(5, 5)] == grid[(4, 4)] == "champions"
    assert grid[(5, 1)] == "new"
    assert grid[(4, 2)] == grid[(3, 1)] == "potential_loyalists"
    assert grid[(3, 3)] == grid[(5, 3)] == "loyal"
    assert grid[(1, 5)] == grid[(2, 5)] == "cant_lose"
    assert grid[(2, 3)] == grid[(1, 4)] == "at_risk"
    assert grid[(2, 1)] == "hibernating"
    assert grid[(1, 1)] == grid[(1, 2)] == "lost"
    assert set(seg) == set(rfm.SEGMENT_LABELS) - {"other"}


def test_custom_rules_from_settings_and_fallback(settings):
    settings.ANALYTICS_RFM_SEGMENTS = [{"code": "best", "r": [5, 5], "f": [5, 5], "m": [5, 5]},
                                       {"code": "recent", "r": [4, 5]}]
    seg = rfm.assign_segments([5, 5, 4, 1, 0], [5, 1, 1, 5, 3], [5, 1, 1, 5, 3])
    assert seg.tolist() == ["best", "recent", "recent", "other", ""]
    with pytest.raises(ValueError):
        rfm.segment_rules([{"code": "x", "r": [0, 6]}])
    with pytest.raises(ValueError):
        rfm.segment_rules([{"r": [1, 2]}])


def test_rfm_scores_skip_customers_without_purchases():
    days = np.array([1, 10, 100, 400, np.nan, 5])
    orders = np.array([9, 5, 2, 1, 0, 3])
    revenue = np.array([900.0, 400.0, 150.0, 20.0, 0.0, 300.0])
    out = rfm.rfm_scores(days, orders, revenue, rules=rfm.DEFAULT_SEGMENTS)
    assert out.r.tolist() == [5, 3, 2, 1, 0, 4]
    assert out.f.tolist() == [5, 4, 2, 1, 0, 3]
    assert out.m.tolist() == [5, 4, 2, 1, 0, 3]
    assert out.segment.tolist() == ["champions", "loyal", "hibernating", "lost", "", "loyal"]
