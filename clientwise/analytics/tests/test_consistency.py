"""The consistency rules (consistency.py, docs/score-consistency.md) on hand-made rows: each rule flags the
contradiction it is there for, and the readings the card and lists word never make one."""

from __future__ import annotations

import numpy as np
import pytest

from clientwise.analytics import consistency as c


def broken(*, action="nurture", churn=0.1, p_alive=0.9, tier="C", frequency=2, due=None, recs=True, reasons=1):
    reading = c.read_scores(action=action, churn=churn, p_alive=p_alive, bought=frequency is not None,
                            next_due_days=due, has_recommendations=recs)
    return c.contradictions(action=action, reading=reading, churn=churn, p_alive=p_alive, tier=tier,
                            frequency=frequency, next_due_days=due, has_recommendations=recs, reasons=reasons)


def test_a_consistent_customer_breaks_nothing():
    assert broken() == []
    assert broken(action="offer", churn=0.2, due=10) == []
    assert broken(action="call", churn=0.6, tier="A", reasons=2) == []
    assert broken(action="win_back", churn=0.93, p_alive=0.4, reasons=1) == []


@pytest.mark.parametrize(("case", "kwargs", "rule"), [
    ("call_low_risk", {"action": "call", "churn": 0.2, "tier": "A"}, "call without a valuable customer at high risk"),
    ("call_low_value", {"action": "call", "churn": 0.7, "tier": "D"}, "call without a valuable customer"),
    ("win_back_active", {"action": "win_back", "churn": 0.3, "p_alive": 0.9}, "win back for a customer who"),
    ("offer_lapsed", {"action": "offer", "churn": 0.9, "due": 5}, "offer for a customer who has probably lapsed"),
    ("nurture_dead", {"action": "nurture", "churn": 0.1, "p_alive": 0.1}, "nurture for a customer who has"),
    ("alive_certain", {"p_alive": 1.0, "frequency": 0}, "P(alive) = 1 for a one-time buyer"),
    ("no_reasons", {"churn": 0.93, "action": "win_back", "reasons": 0}, "churn risk without reasons"),
])
def test_each_rule_flags_its_contradiction(case, kwargs, rule):
    assert any(b.startswith(rule) for b in broken(**kwargs)), (case, broken(**kwargs))


def test_due_is_only_said_with_a_date_in_the_window_and_a_low_risk():
    # "A purchase is due" needs a next purchase within DUE_DAYS: a reading without one says "recommended".
    assert c.read_scores(action="offer", churn=0.1, p_alive=0.9, bought=True, next_due_days=None,
                         has_recommendations=True).action_reason == "recommended"
    assert c.read_scores(action="offer", churn=0.1, p_alive=0.9, bought=True, next_due_days=c.DUE_DAYS,
                         has_recommendations=False).action_reason == "due"
    # Beside a high risk the offer is worded as a save, not as "due".
    assert c.read_scores(action="offer", churn=0.6, p_alive=0.9, bought=True, next_due_days=3,
                         has_recommendations=False).action_reason == "at_risk"
    # A forged "due" reading is caught.
    forged = c.Reading(action_reason="due", alive="", next_purchase="", risk="low")
    assert "purchase due without a next purchase date within the due window" in c.contradictions(
        action="offer", reading=forged, churn=0.1, p_alive=0.9, tier="C", frequency=2, next_due_days=None,
        has_recommendations=True, reasons=0)


def test_high_risk_beside_a_high_p_alive_is_explained_never_shown_as_certain():
    reading = c.read_scores(action="nurture", churn=0.93, p_alive=1.0, bought=True, next_due_days=None,
                            has_recommendations=False)
    assert reading.alive == "slow_buyer" and reading.action_reason == "at_risk"
    assert c.shown_alive(1.0) == c.MAX_SHOWN_ALIVE < 1.0
    silent = c.Reading(action_reason="at_risk", alive="", next_purchase="", risk="high")
    assert "high churn risk beside a high P(alive) without the explanation" in c.contradictions(
        action="nurture", reading=silent, churn=0.93, p_alive=0.95, tier="D", frequency=3, next_due_days=None,
        has_recommendations=False, reasons=1)
    # Without a P(alive) (one purchase under BG/NBD) the card says it was not estimated.
    assert c.read_scores(action="nurture", churn=0.4, p_alive=None, bought=True, next_due_days=None,
                         has_recommendations=False).alive == "unknown"


def test_next_purchase_from_the_rhythm_is_not_called_due_for_a_lapsed_customer():
    reading = c.read_scores(action="win_back", churn=0.85, p_alive=0.5, bought=True, next_due_days=4,
                            has_recommendations=True)
    assert reading.next_purchase == "unlikely_soon"


def test_next_actions_follow_the_rules_in_order():
    buyer = np.array([True, True, True, True, True, False])
    actions = c.next_actions(
        buyer=buyer, churn_probability=np.array([0.6, 0.85, 0.1, 0.1, 0.6, np.nan]),
        p_alive=np.array([0.9, 0.9, 0.9, 0.2, 0.9, np.nan]), tier=np.array(["A", "A", "C", "C", "D", ""]),
        next_due_days=np.array([np.nan, np.nan, 5.0, np.nan, np.nan, np.nan]),
        has_recommendations=np.array([False, False, False, False, False, False]))
    assert actions.tolist() == ["call", "call", "offer", "win_back", "nurture", ""]
