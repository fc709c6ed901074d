"""Recommendations: rules and similarity against hand-computed and brute-force counts; what is recommended."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from clientwise.analytics.recommend import (
    RECOMMENDATION_COLUMNS,
    RULE_COLUMNS,
    build_rules,
    item_similarity,
    recommend,
)

AS_OF = pd.Timestamp("2026-07-01", tz="UTC")
A, B, C, D = 1, 2, 3, 4  # C is replenishable
NAMES = {A: "Alpha", B: "Beta", C: "Gamma", D: "Delta"}
CATEGORY = {A: "PHONE", B: "CASE", C: "INK", D: "TOYS"}


def lines_of(baskets: list[tuple[int, int, list[int]]], days_ago: list[float] | None = None) -> pd.DataFrame:
    """Order lines from (order, customer, products) baskets, each `days_ago` before AS_OF (default 30)."""
    rows = []
    for k, (order, customer, products) in enumerate(baskets):
        when = AS_OF - pd.Timedelta(days=(days_ago[k] if days_ago else 30))
        for p in products:
            rows.append({"order_id": order, "customer_id": customer, "ordered_at": when, "product_id": p,
                         "category": CATEGORY.get(p, f"CAT{p % 7}"), "replenishable": p == C, "quantity": 1,
                         "amount": 10.0, "margin": 2.0})
    return pd.DataFrame(rows)


# Five orders by four customers: {A,B}, {A,B,C} (B twice on the order), {A,C}, {B}, {D}.
TINY = lines_of([(1, 100, [A, B]), (2, 100, [A, B, B, C]), (3, 101, [A, C]), (4, 102, [B]), (5, 103, [D])])


def rule(rules: pd.DataFrame, a, b) -> pd.Series:
    sel = rules[(rules["antecedent"] == a) & (rules["consequent"] == b)]
    assert len(sel) == 1, (a, b)
    return sel.iloc[0]


def test_rules_on_a_tiny_basket_set_by_hand():
    rules = build_rules(TINY, min_support=0, min_confidence=0, min_count=1)
    assert list(rules.columns) == RULE_COLUMNS
    # N = 5 orders; n(A) = 3, n(B) = 3 (a product twice on an order counts once), n(C) = 2, n(D) = 1.
    ab = rule(rules, A, B)
    assert (ab["count"], ab["antecedent_count"], ab["consequent_count"], ab["baskets"]) == (2, 3, 3, 5)
    assert ab["support"] == pytest.approx(2 / 5)
    assert ab["confidence"] == pytest.approx(2 / 3)
    assert ab["lift"] == pytest.approx((2 / 3) / (3 / 5))
    ca = rule(rules, C, A)
    assert (ca["support"], ca["confidence"], ca["lift"]) == pytest.approx((2 / 5, 1.0, 1 / (3 / 5)))
    ac = rule(rules, A, C)
    assert (ac["confidence"], ac["lift"]) == pytest.approx((2 / 3, (2 / 3) / (2 / 5)))
    bc = rule(rules, B, C)
    assert (bc["count"], bc["confidence"], bc["lift"]) == pytest.approx((1, 1 / 3, (1 / 3) / (2 / 5)))
    # D is never bought with anything: no rule mentions it.
    assert D not in set(rules["antecedent"]) | set(rules["consequent"])
    assert len(rules) == 6  # A↔B, A↔C, B↔C
    # Sorted by antecedent, then lift.
    assert rules[rules["antecedent"] == A]["consequent"].tolist() == [C, B]


def test_thresholds_filter_rules():
    rules = build_rules(TINY, min_support=0, min_confidence=0.6, min_count=1)
    assert {(a, b) for a, b in rules[["antecedent", "consequent"]].itertuples(index=False)} == {
        (A, B), (A, C), (B, A), (C, A)}
    assert build_rules(TINY, min_support=0.3, min_confidence=0).shape[0] == 4  # B↔C has support 0.2
    assert build_rules(TINY, min_support=0, min_confidence=0, min_count=2).shape[0] == 4


def test_rules_at_category_level_and_over_customers():
    by_category = build_rules(TINY, min_support=0, min_confidence=0, min_count=1, level="category")
    assert rule(by_category, "PHONE", "CASE")["confidence"] == pytest.approx(2 / 3)
    # Customer baskets: 100 {A,B,C}, 101 {A,C}, 102 {B}, 103 {D}.
    by_customer = build_rules(TINY, min_support=0, min_confidence=0, min_count=1, basket="customer")
    bc = rule(by_customer, B, C)
    assert (bc["baskets"], bc["count"], bc["confidence"], bc["lift"]) == pytest.approx(
        (4, 1, 1 / 2, (1 / 2) / (2 / 4)))


def test_planted_associations_match_a_brute_force_count():
    rng = np.random.default_rng(0)
    baskets = []
    for order in range(1, 2001):
        items = set(rng.choice(np.arange(10, 40), size=rng.integers(1, 4), replace=False).tolist())
        if rng.random() < 0.1:
            items.add(100)
            if rng.random() < 0.8:
                items.add(200)  # planted: 80% of the orders with 100 also hold 200
        baskets.append((order, order % 700, sorted(items)))
    lines = lines_of(baskets)
    rules = build_rules(lines, min_support=0.001, min_confidence=0.05)
    # Brute force over the baskets in Python, only in the test.
    item_n = Counter(i for _o, _c, items in baskets for i in set(items))
    pair_n = Counter((a, b) for _o, _c, items in baskets for a, b in itertools.permutations(set(items), 2))
    n = len(baskets)
    expected = {(a, b): c for (a, b), c in pair_n.items()
                if c >= 2 and c / n >= 0.001 and c / item_n[a] >= 0.05}
    got = {(r.antecedent, r.consequent): r for r in rules.itertuples()}
    assert set(got) == set(expected)
    for (a, b), c in expected.items():
        r = got[(a, b)]
        assert r.count == c
        assert r.lift == pytest.approx((c / item_n[a]) / (item_n[b] / n))
    planted = got[(100, 200)]
    assert planted.confidence == pytest.approx(0.8, abs=0.06)
    assert planted.lift > 5
    assert rules[rules["antecedent"] == 100].iloc[0]["consequent"] == 200  # the strongest rule of 100


def test_cosine_similarity_over_customers():
    # Customers: 100 {A,B,C}, 101 {A,C}, 102 {B}, 103 {D}.
    sim = item_similarity(TINY, min_common=1)
    pairs = {(r.item, r.other): (r.similarity, r.common) for r in sim.itertuples()}
    assert pairs[(A, C)] == (pytest.approx(2 / math.sqrt(2 * 2)), 2)
    assert pairs[(A, B)] == (pytest.approx(1 / math.sqrt(2 * 2)), 1)
    assert pairs[(B, C)] == pairs[(C, B)]
    assert (A, D) not in pairs
    assert set(item_similarity(TINY).itertuples(index=False, name=None)) == {(A, C, 1.0, 2), (C, A, 1.0, 2)}
    top1 = item_similarity(TINY, min_common=1, top_n=1)
    assert top1.groupby("item").size().max() == 1
    assert top1[top1["item"] == A]["other"].tolist() == [C]


RULES = build_rules(TINY, min_support=0, min_confidence=0, min_count=1)


def recs_of(result: pd.DataFrame, customer: int) -> list[tuple[int, float, int]]:
    r = result[result["customer_id"] == customer]
    assert r["rank"].tolist() == list(range(1, len(r) + 1))
    return [(p, round(s, 6), b) for p, s, b in r[["product_id", "score", "because_product_id"]].itertuples(
        index=False)]


def test_recommendations_follow_the_rules_and_skip_recent_purchases_unless_replenishable():
    history = lines_of([
        (10, 10, [A]),  # bought A: recommend what goes with A
        (11, 11, [A, B]),  # bought A and B: B is not recommended again
        (12, 12, [C]), (13, 12, [A]),  # C (replenishable) lately; A long ago (outside both windows)
        (14, 13, [B, C]),  # B and replenishable C lately: C may come back
        (15, 14, [A]),  # only after as_of
    ], days_ago=[10, 10, 5, 400, 10, -3])
    result = recommend(history, RULES, None, as_of=AS_OF, k=5, rule_weight=1.0, names=NAMES)
    assert list(result.columns) == RECOMMENDATION_COLUMNS
    assert recs_of(result, 10) == [(B, round(2 / 3, 6), A), (C, round(2 / 3, 6), A)]
    assert recs_of(result, 11) == [(C, round(2 / 3, 6), A)]
    assert recs_of(result, 12) == [(A, 1.0, C), (B, 0.5, C)]
    assert recs_of(result, 13) == [(A, 1.0, C), (C, round(1 / 3, 6), B)]
    assert 14 not in set(result["customer_id"])
    reason = result[(result["customer_id"] == 12) & (result["product_id"] == A)]["reason"].item()
    assert reason == "bought Gamma; customers who buy Gamma also buy Alpha, lift 1.7 (confidence 100%)"
    lift = result[(result["customer_id"] == 10) & (result["product_id"] == B)]["lift"].item()
    assert lift == pytest.approx((2 / 3) / (3 / 5))


def test_k_windows_and_the_replenishable_override():
    history = lines_of([(20, 20, [A]), (21, 20, [B])], days_ago=[10, 100])
    top1 = recommend(history, RULES, None, as_of=AS_OF, k=1, rule_weight=1.0)
    assert recs_of(top1, 20) == [(C, round(2 / 3, 6), A)]
    # With a 30-day "recent" window, B (bought 100 days ago) may be recommended again; with 365 it is skipped.
    short = recommend(history, RULES, None, as_of=AS_OF, rule_weight=1.0, recent_days=30)
    assert (B, round(2 / 3, 6), A) in recs_of(short, 20)
    # A 5-day history window leaves no antecedent at all.
    assert recommend(history, RULES, None, as_of=AS_OF, history_days=5).empty
    # Declaring C not replenishable makes it skippable for a customer who just bought it.
    just_c = lines_of([(30, 30, [A, C])], days_ago=[3])
    assert C in set(recommend(lines_of([(31, 30, [A])], [3]), RULES, None, as_of=AS_OF)["product_id"])
    assert C not in set(recommend(just_c, RULES, None, as_of=AS_OF, replenishable={C: False})["product_id"])
    # By the lines' own flag C is replenishable: it comes back although it was bought three days ago.
    assert recs_of(recommend(just_c, RULES, None, as_of=AS_OF, rule_weight=1.0), 30) == [
        (B, round(2 / 3, 6), A), (C, round(2 / 3, 6), A)]


def test_similarity_and_blended_scores():
    sim = item_similarity(TINY, min_common=1)
    history = lines_of([(40, 40, [B])], days_ago=[10])
    only_sim = recommend(history, None, sim, as_of=AS_OF, rule_weight=0.0, names=NAMES)
    assert recs_of(only_sim, 40) == [(A, 0.5, B), (C, 0.5, B)]
    assert only_sim["reason"].iloc[0] == (
        "bought Beta; customers who bought Beta also bought Alpha (similarity 0.50)")
    blended = recommend(history, RULES, sim, as_of=AS_OF, rule_weight=0.5)
    # B → A: confidence 2/3, similarity 1/2; B → C: confidence 1/3, similarity 1/2.
    assert recs_of(blended, 40) == [(A, round(0.5 * 2 / 3 + 0.25, 6), B), (C, round(0.5 / 3 + 0.25, 6), B)]
    assert recommend(history, None, None, as_of=AS_OF).empty
    no_reason = recommend(history, RULES, sim, as_of=AS_OF, with_reasons=False)
    assert "reason" not in no_reason.columns and len(no_reason) == 2


def test_ties_are_broken_the_same_way_every_time():
    # Two antecedents give C the same score: the smaller product id is named as the reason.
    rules = pd.DataFrame({"antecedent": [A, B], "consequent": [C, C], "confidence": [0.5, 0.5],
                          "lift": [2.0, 3.0]})
    history = lines_of([(50, 50, [B, A])], days_ago=[10])
    for _ in range(3):
        result = recommend(history, rules, None, as_of=AS_OF, rule_weight=1.0)
        assert recs_of(result, 50) == [(C, 0.5, A)]
        assert result["lift"].item() == 2.0
