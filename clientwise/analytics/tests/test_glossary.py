"""Model pages in words (glossary.py) and churn reasons that read right (missing values, one or many)."""

from __future__ import annotations

from django.utils import translation

from clientwise.analytics import dashboards, glossary

FIT = {"rows": 384, "customers": 398.0, "log_likelihood": -16.72, "iterations": 16, "evaluations": 1,
       "seconds": 0.0359, "converged": True, "message": "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
       "extra": {"time_scale": 0.018, "model": "bgnbd"}}


def test_metrics_have_names_explanations_and_units_per_model():
    assert glossary.term("next_purchase", "mae").name == "Mean absolute error (days)"
    assert glossary.term("bgnbd", "mae").name == "Mean absolute error (purchases)"
    assert "0.5 is guessing" in str(glossary.term("churn", "auc").help)
    assert glossary.metric_name("recommend", "hit_rate") == "Hit rate"
    assert glossary.metric_name("recommend", "hit_rate", short=True) == "hit rate"
    with translation.override("zh-hans"):
        assert glossary.metric_name("next_purchase", "mae") == "平均绝对误差（天）"


def test_optimiser_report_is_a_sentence():
    text = glossary.optimiser_summary(FIT)
    assert text == ("converged; 16 iterations; 1 evaluation; 0.04 s; the fit stopped improving; fitted on 384 "
                    "distinct histories of 398 customers")
    odd = glossary.optimiser_summary({"converged": False, "message": "SOMETHING NEW"})
    assert odd == "did not converge; optimiser message: SOMETHING NEW"
    with translation.override("zh-hans"):
        assert "CONVERGENCE" not in glossary.optimiser_summary(FIT)


def test_present_turns_json_into_rows_tables_and_lists():
    rows = {r.key: r for r in glossary.present("bgnbd", {
        "r": 0.6, "alpha": 26.08, "fit": FIT, "model": "bgnbd", "time_unit": "day", "selection": {"x": 1}})}
    assert "selection" not in rows  # shown in its own table
    assert rows["alpha"].name == "α" and rows["alpha"].value == "26.0800" and rows["alpha"].help
    assert rows["fit"].value.startswith("converged")
    assert rows["model"].value == "BG/NBD" and rows["time_unit"].value == "day"
    churn = {r.key: r for r in glossary.present("churn", {
        "features": ["days_since_last", "age"], "importance": [{"feature": "gap_ratio", "gain_share": 0.5}],
        "lightgbm": {"learning_rate": 0.05}, "calibration": "platt"})}
    assert churn["features"].items == ["Days since the last purchase", "Age"]
    assert churn["importance"].columns == ["Input", "Share of gain"]
    assert churn["importance"].table == [["Time since the last purchase ÷ usual gap", "50.0%"]]
    assert [(r.name, r.value) for r in churn["lightgbm"].rows] == [("learning rate", "0.050")]
    assert churn["calibration"].value == "Platt scaling (logistic)"
    rfm = {r.key: r for r in glossary.present("rfm", {"rules": [{"code": "at_risk", "r": [1, 2], "fm": [3, 4]}],
                                                    "segments": {"cant_lose": 3}})}
    assert rfm["rules"].table == [["At risk", "1–2", "3–4"]]
    assert [(r.name, r.value) for r in rfm["segments"].rows] == [("Can't lose", "3")]
    assert glossary.present("clv", {"money": "revenue (order amounts)"})[0].value == "revenue (order amounts)"
    with translation.override("zh-hans"):
        assert glossary.present("clv", {"money": "revenue (order amounts)"})[0].value != "revenue (order amounts)"


def test_unknown_keys_are_listed():
    assert glossary.unknown_keys("churn", {"auc": 0.8, "guard": {}, "new_thing": 1}, {"lightgbm": {"odd": 1}}) == {
        "new_thing", "lightgbm.odd"}


def test_reasons_with_missing_values_and_counts_read_as_sentences():
    raw = [{"feature": "mean_gap_days", "label": "mean gap days unknown", "value": None, "contribution": 0.3},
           {"feature": "age", "label": "age unknown", "value": None, "contribution": 0.2},
           {"feature": "orders_90d", "label": "1 orders in the last 90 days", "value": 1.0, "contribution": 0.1},
           {"feature": "returns_365d", "label": "", "value": 2, "contribution": 0.05},
           {"feature": "T_days", "label": "", "value": None, "contribution": 0.01}]
    texts = [r.text for r in dashboards.plain_reasons(raw, limit=5)]
    assert texts == ["Only one purchase so far: no usual time between purchases yet", "Age not known",
                     "1 order in the last 90 days", "2 returns in the last 12 months",
                     "Days since the first purchase: not known"]
    with translation.override("zh-hans"):
        zh = [r.text for r in dashboards.plain_reasons(raw, limit=5)]
    assert all("unknown" not in t and "order" not in t for t in zh), zh
    rec = {"kind": "repeat", "times_bought": 1, "repeat_rate": 0.34}
    assert dashboards.recommendation_reason(rec, {}).startswith("Buys it again and again: on 1 order in")


def test_the_churn_reliability_table_has_named_columns():
    """The calibration rows' keys (lower, upper, n, mean predicted, observed) are terms, not raw codes on the page
    (the role × page smoke suite found "observed" as a column heading)."""
    import numpy as np

    from clientwise.analytics.churn import calibration_table

    rows = calibration_table(np.array([0.05, 0.15, 0.95]), np.array([0, 1, 1]), bins=10)
    for key in rows[0]:
        assert glossary.known("churn", key), key
