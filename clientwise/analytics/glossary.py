"""What a model run's metrics and parameters mean, in words, for the model pages.

A ModelRun stores its validation figures (`metrics`) and its fitted parameters (`parameters`) as JSON with the keys
the models write (`mae`, `hit_rate`, `calibration_fit`, `lightgbm`, ...). People read them here: each key has a
`Term` (a name, a one-line explanation and how to format the value), per model where the meaning differs (MAE is
in days for the next purchase, in purchases for BG/NBD, in money for Gamma-Gamma), and `present()` turns a run's
JSON into rows, small tables and sentences — an optimiser's report reads "converged after 16 iterations", a
feature list reads as feature names, English prose the pipeline stored is replaced by its translation.

A key this module does not know is still shown (its name as stored) so nothing is hidden; `unknown_keys()` lists
them, and a test fails while a model of the product writes one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from clientwise.analytics.models import ModelRun
from clientwise.analytics.pipeline import PURCHASE_MODEL_NAMES
from clientwise.analytics.rfm import SEGMENT_LABELS
from clientwise.commerce.models import ProductCategory
from clientwise.core import labels
from clientwise.core.templatetags.cw import money


@dataclass(frozen=True)
class Term:
    name: Any  # lazy text
    help: Any = ""
    fmt: str = "num"  # int | num | num4 | pct | pct_points | money | days | times | date | bool | text | code
    short: Any = ""  # the name inside a sentence ("hit rate 0.80 against 0.73"), when it differs


# --- Terms ----------------------------------------------------------------------------------------------------------

T = Term
# Keys that mean the same in every model.
TERMS: dict[str, Term] = {
    "calibration_as_of": T(_("Calibration cut-off"), _("The model was fitted on data up to this day and checked on "
                                                       "what happened after it."), "date"),
    "holdout_days": T(_("Holdout window"), _("Days after the cut-off in which predictions were compared with what "
                                             "customers really did."), "days"),
    "customers": T(_("Customers checked"), _("Customers in the holdout comparison."), "int"),
    "n": T(_("Customers checked"), _("Customers with a known outcome in the check."), "int"),
    "positives": T(_("Customers who churned"), _("Of those, customers who bought nothing in the churn window."),
                   "int"),
    "base_rate": T(_("Churn rate"), _("Share of the checked customers who bought nothing in the window."), "pct"),
    "auc": T(_("AUC (area under the ROC curve)"), _("Chance that a customer who churned is ranked riskier than one "
                                                   "who did not: 0.5 is guessing, 1 is perfect."), "num", _("AUC")),
    "baseline_auc": T(_("Baseline AUC"), _("The same figure for the simple baseline the model must beat."), "num"),
    "holdout_auc": T(_("AUC on the holdout"), _("AUC of the model fitted for the check, on customers it did not "
                                                "see."), "num"),
    "lift_top_decile": T(_("Lift in the riskiest 10%"), _("Churn rate among the riskiest tenth, divided by the "
                                                           "overall rate: 2 means twice as likely."), "times"),
    "baseline_lift_top_decile": T(_("Baseline lift in the riskiest 10%"), _("The same for the baseline."), "times"),
    "calibration_error": T(_("Calibration error"), _("Mean gap between predicted and observed churn rates over the "
                                                     "risk bands: 0.05 means predictions are off by 5 points."),
                           "pct_points"),
    "brier": T(_("Brier score"), _("Mean squared error of the predicted probabilities: lower is better, 0 is "
                                   "perfect."), "num4"),
    "brier_reference": T(_("Brier score of the average"), _("The Brier score of predicting the overall churn rate "
                                                            "for everyone."), "num4"),
    "brier_skill": T(_("Brier skill"), _("How much better than predicting the average: 0 no better, 1 perfect."),
                     "pct"),
    "log_loss": T(_("Log loss"), _("Penalty for confident wrong predictions: lower is better."), "num4"),
    "predicted_total": T(_("Predicted in total"), _("Sum of the predictions for the holdout window."), "num"),
    "actual_total": T(_("Actual in total"), _("What really happened in the holdout window."), "num"),
    "ratio": T(_("Predicted / actual"), _("1 means the total was predicted exactly; below 1 the model "
                                          "under-predicts."), "num"),
    "rmse": T(_("Root mean squared error"), _("Typical size of a per-customer error, large errors weighing "
                                              "more."), "num"),
    "correlation": T(_("Correlation"), _("How well predictions rank customers like the outcome does: 1 perfect, "
                                         "0 none."), "num"),
    "log_likelihood": T(_("Log-likelihood per customer"), _("How probable the observed purchases are under the "
                                                            "fitted model: higher is better."), "num4"),
    "converged": T(_("Fit converged"), _("Whether the optimiser found a stable best fit."), "bool"),
    "predicted_mean": T(_("Predicted average order value"), _("Mean prediction over the checked customers."),
                        "money"),
    "actual_mean": T(_("Actual average order value"), _("What those customers really spent per order."), "money"),
    "top20_capture": T(_("Revenue share of the top 20%"), _("Share of the holdout revenue that came from the fifth "
                                                            "of customers the model valued most."), "pct",
                       _("share of revenue from the top 20%")),
    "baseline_top20_capture": T(_("Baseline: revenue share of the top 20%"), _("The same when customers are "
                                                                               "ranked by past revenue."), "pct"),
    "k": T(_("Recommendations per customer"), _("How many products each customer is recommended."), "int"),
    "hit_rate": T(_("Hit rate"), _("Share of customers who bought at least one of their recommended products in "
                                   "the holdout window."), "pct", _("hit rate")),
    "precision_at_k": T(_("Precision"), _("Share of recommended products that were bought."), "pct"),
    "baseline_hit_rate": T(_("Baseline hit rate"), _("The same when everyone is recommended the most popular "
                                                     "products."), "pct"),
    "baseline_precision_at_k": T(_("Baseline precision"), _("The same for the most popular products."), "pct"),
    "baseline": T(_("Baseline"), _("The simple rule the model must beat."), "text"),
    "returned": T(_("Customers who came back"), _("Checked customers who bought again within the holdout "
                                                  "window."), "int"),
    "median_abs_error": T(_("Median error (days)"), _("Half of the predicted dates were closer than this."),
                          "days"),
    "bias": T(_("Bias (days)"), _("Mean of predicted minus actual: negative means purchases came later than "
                                  "predicted."), "days"),
    "baseline_mae": T(_("Baseline mean absolute error (days)"), _("The same for the baseline."), "days"),
    "within_window": T(_("Within the window"), _("Share of predicted dates that fell inside the holdout window."),
                       "pct"),
    "note": T(_("Note"), "", "text"),
    "segments": T(_("Customers per segment"), "", "int"),
    "concentration": T(_("Revenue concentration"), _("How revenue is spread over customers."), "num"),
    "top_share": T(_("Top group"), _("The share of customers counted as the top."), "pct"),
    "top_revenue_share": T(_("Revenue from the top group"), _("Share of revenue those customers bring."), "pct"),
    "gini": T(_("Gini coefficient"), _("0 when every customer spends the same, 1 when one customer brings all "
                                       "revenue."), "num"),
    "customers_for_80_percent": T(_("Customers who bring four fifths of revenue"), _("How few customers bring four fifths of "
                                                                       "revenue."), "pct"),
    "total": T(_("Revenue in total"), "", "money"),
    "share_of_wallet": T(_("Share of wallet"), _("Where customers' own recorded demand is known: how much of it "
                                                 "they spend with us."), "num"),
    "known": T(_("Customers with a known demand"), "", "int"),
    "low": T(_("Customers with a low share"), _("Below the threshold set in the parameters."), "int"),
    "mean_share": T(_("Average share"), "", "pct"),
    "headroom": T(_("Headroom"), _("Demand these customers spend elsewhere."), "money"),
    "tiers": T(_("Value tiers"), "", "text"),
    "categories": T(_("Per category"), _("The same check for each replenishable category."), "text"),
    # parameters
    "r": T("r", _("Shape of how purchase rates differ between customers."), "num4"),
    "alpha": T("α", _("Scale of the purchase rates (in the model's time unit)."), "num4"),
    "a": T("a", _("With b: how likely customers are to drop out after a purchase."), "num4"),
    "b": T("b", _("With a: how likely customers are to drop out after a purchase."), "num4"),
    "p": T("p", _("Shape of how much a single order varies around a customer's own average."), "num4"),
    "q": T("q", _("Shape of how customers' average order values differ."), "num4"),
    "gamma": T("γ", _("Scale of customers' average order values."), "num4"),
    "fit": T(_("Optimiser"), _("How the fit went."), "text"),
    "calibration_fit": T(_("Optimiser (calibration fit)"), _("How the fit on the calibration period went."),
                         "text"),
    "calibration_params": T(_("Parameters fitted on the calibration period"), "", "num4"),
    "model": T(_("Purchase model"), "", "code"),
    "model_name": T(_("Purchase model"), "", "text"),
    "time_unit": T(_("Time unit"), "", "code"),
    "population_mean_spend": T(_("Average order value overall"), _("What the model expects from a customer with "
                                                                   "no repeat purchase yet."), "money"),
    "horizon_days": T(_("Horizon"), _("Days ahead the value is counted over."), "days"),
    "horizon_months": T(_("Horizon in months"), "", "int"),
    "annual_discount_rate": T(_("Yearly discount rate"), _("Money later is worth this much less per year."), "pct"),
    "monthly_discount_rate": T(_("Monthly discount rate"), "", "pct"),
    "days_per_month": T(_("Days per month"), "", "num"),
    "money": T(_("Money counted"), "", "text"),
    "features": T(_("Inputs"), _("What the classifier looks at for each customer."), "text"),
    "trees": T(_("Trees"), _("Boosting rounds chosen on the validation window."), "int"),
    "calibration": T(_("Probability calibration"), _("How raw scores were turned into probabilities."), "code"),
    "n_train": T(_("Customers trained on"), "", "int"),
    "n_calibration": T(_("Customers used for calibration"), "", "int"),
    "train_base_rate": T(_("Churn rate in training"), "", "pct"),
    "lightgbm": T(_("LightGBM settings"), _("The gradient-boosting library's settings."), "text"),
    "importance": T(_("What the model relies on"), _("Share of the model's gain from each input."), "pct"),
    "windows": T(_("Time split"), _("Cut-offs of the training, validation and scoring windows."), "date"),
    "train": T(_("Training cut-off"), "", "date"),
    "valid": T(_("Validation cut-off"), "", "date"),
    "score": T(_("Scoring cut-off"), "", "date"),
    "validated_model": T(_("Model checked on the later window"), "", "num"),
    "reasons": T(_("Churn reasons"), _("For whom reasons were worked out in the run."), "int"),
    "explained": T(_("Customers explained"), "", "int"),
    "limit": T(_("At most"), "", "int"),
    "order": T(_("In this order"), "", "text"),
    "others": T(_("The others"), "", "text"),
    "rules": T(_("Segment rules"), _("Recency and frequency-monetary scores (1–5) of each segment; the first "
                                     "rule that matches wins."), "text"),
    "recency_days_max_by_score": T(_("Recency score: days since the last purchase at most"), "", "days"),
    "orders_min_by_score": T(_("Frequency score: orders at least"), "", "int"),
    "revenue_min_by_score": T(_("Monetary score: revenue at least"), "", "money"),
    "method": T(_("Method"), "", "text"),
    "category_cycles": T(_("Typical cycle per category"), _("Days between purchases the catalog gives each "
                                                            "replenishable category."), "days"),
    "time_zone": T(_("Time zone"), "", "code"),
    "window_days": T(_("Prediction window"), _("Days ahead a recommendation is meant for."), "days"),
    "split_window_days": T(_("Check window"), _("Days after the cut-off used for the hit rate."), "days"),
    "history_days": T(_("History used"), _("Days of purchases the associations are learnt from."), "days"),
    "neighbours": T(_("Similar products considered"), "", "int"),
    "min_common": T(_("Buyers in common at least"), _("Two products are linked only when this many customers "
                                                      "bought both."), "int"),
    "shrink": T(_("Shrinkage"), _("Pulls links with few common buyers towards zero."), "num"),
    "smoothing": T(_("Smoothing"), _("Prior count added to rates with few purchases."), "num"),
    "profile_cap": T(_("Products per customer profile at most"), "", "int"),
    "active_customers": T(_("Active customers"), _("Customers with a purchase in the history used."), "int"),
    "overall_repeat_rate": T(_("Repeat rate"), _("Share of product purchases that are bought again."), "pct"),
    "repeat_boost": T(_("Repeat purchase odds by times bought"), _("How much likelier a product is bought again, "
                                                                   "by how often the customer bought it."),
                      "times"),
    "products": T(_("Products"), "", "int"),
    "links": T(_("Product links"), _("Pairs of products bought together more than by chance."), "int"),
    "served": T(_("Recommendations served by kind"), "", "int"),
    "top_links": T(_("Strongest product links"), "", "num"),
    "cuts": T(_("Tier cut-offs"), _("Share of customers (by combined value) above each cut."), "pct"),
    "share_of_wallet_low": T(_("Low share of wallet below"), "", "pct"),
    "immediate_value": T(_("Immediate value"), "", "money"),
    "potential_value": T(_("Potential value"), "", "money"),
    # columns of tables inside the figures
    "tier": T(_("Tier"), "", "code"),
    "share": T(_("Share of customers"), "", "pct"),
    "category": T(_("Category"), "", "text"),
    "feature": T(_("Input"), "", "text"),
    "gain_share": T(_("Share of gain"), "", "pct"),
    "antecedent": T(_("Bought"), "", "text"),
    "consequent": T(_("Also bought"), "", "text"),
    "lift": T(_("Lift"), _("How many times likelier together than by chance."), "times"),
    "confidence": T(_("Confidence"), _("Share of the first product's buyers who also bought the second."), "pct"),
    "code": T(_("Segment"), "", "text"),
    "fm": T(_("Frequency-monetary score"), "", "text"),
    "holdout": T(_("Holdout"), "", "text"),
    # the churn reliability table (calibration): one row per probability bin
    "lower": T(_("From"), "", "pct"),
    "upper": T(_("To"), "", "pct"),
    "mean_predicted": T(_("Mean predicted probability"), "", "pct"),
    "observed": T(_("Observed rate"), "", "pct"),
}
_MAE_HELP = _("Average size of the error per customer, whichever direction.")
# Keys whose meaning or unit depends on the model.
MODEL_TERMS: dict[tuple[str, str], Term] = {
    ("bgnbd", "mae"): T(_("Mean absolute error (purchases)"), _MAE_HELP, "num"),
    ("bgnbd", "rmse"): T(_("Root mean squared error (purchases)"), TERMS["rmse"].help, "num"),
    ("bgnbd", "predicted_total"): T(_("Purchases predicted"), TERMS["predicted_total"].help, "num"),
    ("bgnbd", "actual_total"): T(_("Purchases made"), TERMS["actual_total"].help, "num"),
    ("gamma_gamma", "mae"): T(_("Mean absolute error (order value)"), _MAE_HELP, "money"),
    ("clv", "mae"): T(_("Mean absolute error (revenue per customer)"), _MAE_HELP, "money"),
    ("clv", "predicted_total"): T(_("Revenue predicted"), TERMS["predicted_total"].help, "money"),
    ("clv", "actual_total"): T(_("Revenue made"), TERMS["actual_total"].help, "money"),
    ("next_purchase", "mae"): T(_("Mean absolute error (days)"), _("Average number of days between the predicted "
                                                                   "and the actual next purchase."), "days",
                                _("mean error in days")),
    ("next_purchase", "customers"): T(_("Customers checked"), _("Customers with a predicted next purchase."),
                                      "int"),
    ("rfm", "customers"): T(_("Customers segmented"), "", "int"),
    ("value", "tiers"): T(_("Value tiers"), _("Customers and value per tier."), "text"),
    ("churn", "horizon_days"): T(_("Churn window"), _("A customer who buys nothing for this many days counts as "
                                                      "churned."), "days"),
    ("clv", "horizon_days"): T(_("Horizon"), _("Days ahead the value is counted over."), "days"),
}
# English prose the pipeline stores next to the figures, in words of the reader's language.
TEXTS: dict[tuple[str, str], Any] = {
    ("bgnbd", "criterion"): _("the lower holdout RMSE of purchases per customer"),
    ("clv", "money"): _("revenue (order amounts)"),
    ("churn", "order"): _("churn probability × lifetime value, highest first"),
    ("churn", "others"): _("explained when shown"),
    ("next_purchase", "method"): _("Bühlmann–Straub credibility: each customer's own average gap, pulled towards "
                                   "the population's the fewer purchases they have"),
    ("next_purchase", "baseline"): _("last purchase plus the customer's own average gap"),
    ("next_purchase", "note"): _("Only customers who bought again within the holdout window can be checked, so "
                                 "short gaps are over-represented."),
    ("value", "immediate_value"): _("margin over the 365 days up to the cut-off, net of returns"),
    ("value", "potential_value"): _("lifetime value over the horizon × the customer's margin rate"),
    ("value", "tiers"): _("top 10% of customers by combined value A, next 20% B, next 30% C, the rest D"),
    ("recommend", "method"): _("the customer's own repeat purchases (repeat rate × odds by times bought), products "
                               "bought together with theirs, and popularity, as chances to buy in the next window"),
    ("recommend", "baseline"): _("the products most customers bought in the year before the cut-off"),
}
CODES: dict[str, dict[str, Any]] = {
    "time_unit": {"day": _("day"), "week": _("week")},
    "calibration": {"platt": _("Platt scaling (logistic)"), "isotonic": _("isotonic regression"),
                    "none": _("none")},
    "objective": {"binary": _("binary classification")},
    "served": {"repeat": _("bought again"), "together": _("bought together"), "popular": _("popular"),
               "similar": _("similar products")},
    "label": {"recommended": _("recommended products"), "popular": _("most popular products")},
}
LIGHTGBM: dict[str, Any] = {
    "num_threads": _("threads"), "objective": _("objective"), "learning_rate": _("learning rate"),
    "num_leaves": _("leaves per tree"), "min_data_in_leaf": _("customers per leaf at least"),
    "feature_fraction": _("share of inputs per tree"), "bagging_fraction": _("share of customers per tree"),
    "bagging_freq": _("resample every n trees"), "lambda_l2": _("L2 regularisation"),
    "max_bin": _("value bins per input"), "seed": _("random seed"), "deterministic": _("deterministic"),
    "force_row_wise": _("row-wise histograms"),
}
# Known optimiser messages (SciPy L-BFGS-B and friends), summarised.
OPTIMISER_MESSAGES = {
    "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH": _("the fit stopped improving"),
    "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH": _("the fit stopped improving"),
    "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL": _("the slope reached zero"),
    "CONVERGENCE: NORM_OF_PROJECTED_GRADIENT_<=_PGTOL": _("the slope reached zero"),
    "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT": _("the iteration limit was reached"),
    "STOP: TOTAL NO. of ITERATIONS REACHED LIMIT": _("the iteration limit was reached"),
    "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT": _("the evaluation limit was reached"),
    "ABNORMAL_TERMINATION_IN_LNSRCH": _("the line search failed"),
    "ABNORMAL: ": _("the optimiser stopped abnormally"),
    "Optimization terminated successfully.": _("the fit converged"),
    "Desired error not necessarily achieved due to precision loss.": _("precision ran out before the target"),
    "Maximum number of iterations has been exceeded.": _("the iteration limit was reached"),
}
# Keys handled elsewhere on the page (charts, the baseline note, the purchase-model table) or internal.
SHOWN_ELSEWHERE = {"holdout", "gains", "baseline_gains", "lift", "calibration_bins", "guard", "selection", "extra",
                   "lorenz", "params"}


def term(model: str, key: str) -> Term:
    """The term for a key of a model's run; an unknown key is its own name."""
    return MODEL_TERMS.get((model, key)) or TERMS.get(key) or Term(key, "", "num")


def known(model: str, key: str) -> bool:
    return (model, key) in MODEL_TERMS or key in TERMS or key in SHOWN_ELSEWHERE


def text(model: str, key: str, stored) -> str:
    """Stored prose in the reader's language (the stored text when this module has no translation of it)."""
    found = TEXTS.get((model, key))
    return str(found) if found is not None else ("" if stored is None else str(stored))


def metric_name(model: str, key: str, *, short: bool = False) -> str:
    """The name of a headline figure ("auc" → "AUC (area under the ROC curve)"; short: "AUC")."""
    t = term(model, key)
    return str(t.short or t.name) if short else str(t.name)


def optimiser_summary(fit: dict) -> str:
    """A fit report ({"converged", "iterations", "evaluations", "seconds", "message", ...}) as one sentence."""
    if not isinstance(fit, dict):
        return ""
    parts = []
    iterations, evaluations, seconds = fit.get("iterations"), fit.get("evaluations"), fit.get("seconds")
    converged = fit.get("converged")
    if converged is True:
        parts.append(gettext("converged"))
    elif converged is False:
        parts.append(gettext("did not converge"))
    if isinstance(iterations, int):
        parts.append(ngettext("%(n)s iteration", "%(n)s iterations", iterations) % {"n": iterations})
    if isinstance(evaluations, int):
        parts.append(ngettext("%(n)s evaluation", "%(n)s evaluations", evaluations) % {"n": evaluations})
    if isinstance(seconds, int | float):
        parts.append(gettext("%(s)s s") % {"s": _dec(seconds, 2)})
    message = str(fit.get("message") or "").strip()
    if message:
        summary = next((v for k, v in OPTIMISER_MESSAGES.items() if message.upper().startswith(k.upper())), None)
        parts.append(str(summary) if summary is not None else gettext("optimiser message: %(m)s") % {"m": message})
    rows, customers = fit.get("rows"), fit.get("customers")
    if isinstance(rows, int) and isinstance(customers, int | float):
        parts.append(gettext("fitted on %(rows)s distinct histories of %(customers)s customers")
                     % {"rows": rows, "customers": int(customers)})
    return gettext("; ").join(parts)


# --- Presentation ----------------------------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    name: str
    help: str = ""
    value: str = ""  # a formatted scalar or a sentence
    rows: list[Row] = field(default_factory=list)  # a nested dict as rows
    columns: list[str] = field(default_factory=list)  # a list of dicts as a table
    table: list[list[str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # a list of scalars


def _num(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _dec(number: float, places: int, grouping: bool = False) -> str:
    """number_format rounds half up here (Django's cuts the digits off: 0.0359 → 0.03)."""
    return number_format(round(float(number), places), places, force_grouping=grouping)


def fmt(value, kind: str) -> str:
    """One value as people read it."""
    if value is None or value == "":
        return "—"
    if kind == "bool" or isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    number = _num(value)
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            return str(value)
    if number is None:
        return str(value)
    if kind == "int":
        return _dec(number, 0, True)
    if kind == "pct":
        return f"{number * 100:.1f}%"
    if kind == "pct_points":
        return gettext("%(n)s points") % {"n": f"{number * 100:.1f}"}
    if kind == "money":
        return money(f"{number:.2f}")
    if kind == "days":
        shown = _dec(number, 0 if number.is_integer() or abs(number) >= 10 else 1, True)
        return ngettext("%(n)s day", "%(n)s days", 1 if number == 1 else 2) % {"n": shown}
    if kind == "times":
        return f"{number:.2f}×"
    if kind == "num4":
        return _dec(number, 4)
    if number.is_integer() and abs(number) >= 1:
        return _dec(number, 0, True)
    return _dec(number, 3)


def _value(model: str, key: str, value, kind: str) -> str:
    if isinstance(value, str):
        if (model, key) in TEXTS:
            return text(model, key, value)
        if key in CODES:
            return str(CODES[key].get(value, value))
        if key == "model":
            return labels.label("analytics.purchase_model", value)
        if key in ("feature", "antecedent", "consequent", "category") and kind != "date":
            return labels.label("analytics.feature", value) if key == "feature" else value
        if key == "code":
            return labels.label("analytics.rfm_segment", value)
        if key == "tier":
            return value
    return fmt(value, kind)


def _category_names(codes: Iterable[str]) -> dict[str, str]:
    """Category codes (DIAPER) as the catalog names them (纸尿裤)."""
    return dict(ProductCategory.objects.filter(code__in=list(codes)).values_list("code", "name"))


def present(model: str, data: dict | None, *, skip: Iterable[str] = ()) -> list[Row]:
    """A run's metrics or parameters as rows, in the order stored, the keys shown elsewhere left out."""
    out: list[Row] = []
    if not isinstance(data, dict):
        return out
    skipped = set(skip) | SHOWN_ELSEWHERE
    for key, value in data.items():
        if key in skipped:
            continue
        out.append(_row(model, key, value))
    return out


def figures(model: str, metrics: dict | None) -> list[Row]:
    """A run's validation figures: its metrics, plus the single figures of a holdout summary (the holdout's bins
    are drawn as a chart)."""
    rows = present(model, metrics)
    holdout = metrics.get("holdout") if isinstance(metrics, dict) else None
    if isinstance(holdout, dict):
        rows += present(model, {k: v for k, v in holdout.items() if not isinstance(v, dict | list)})
    return rows


def _row(model: str, key: str, value) -> Row:
    t = term(model, key)
    row = Row(key=key, name=str(t.name), help=str(t.help))
    if key in ("fit", "calibration_fit"):
        row.value = optimiser_summary(value)
    elif key == "calibration_params" and isinstance(value, dict):
        row.rows = [_row(model, k, v) for k, v in value.items()]
    elif key == "features" and isinstance(value, list):
        row.items = [labels.label("analytics.feature", v) for v in value]
    elif key == "segments" and isinstance(value, dict):
        row.rows = [Row(key=k, name=labels.label("analytics.rfm_segment", k), value=fmt(v, "int"))
                    for k, v in value.items()]
    elif key == "lightgbm" and isinstance(value, dict):
        row.rows = [Row(key=k, name=str(LIGHTGBM.get(k, k)), value=_value(model, k, v, "num"))
                    for k, v in value.items()]
    elif key == "category_cycles" and isinstance(value, dict):
        names = _category_names(value)
        row.rows = [Row(key=k, name=names.get(k, k), value=fmt(v, "days")) for k, v in value.items()]
    elif key.endswith("_by_score") and isinstance(value, dict):
        row.rows = [Row(key=k, name=gettext("score %(n)s") % {"n": k}, value=fmt(v, t.fmt))
                    for k, v in sorted(value.items())]
    elif key == "repeat_boost" and isinstance(value, dict):
        row.rows = [Row(key=k, name=ngettext("bought %(n)s time", "bought %(n)s times", _int(k)) % {"n": k},
                        value=fmt(v, "times")) for k, v in value.items()]
    elif key == "served" and isinstance(value, dict):
        row.rows = [Row(key=k, name=str(CODES["served"].get(k, k)), value=fmt(v, "int")) for k, v in value.items()]
    elif key == "rules" and isinstance(value, list):
        row.columns = [gettext("Segment"), gettext("Recency score"), gettext("Frequency-monetary score")]
        for rule in value:
            if isinstance(rule, dict):
                row.table.append([labels.label("analytics.rfm_segment", rule.get("code", "")),
                                  _range(rule.get("r")), _range(rule.get("fm"))])
    elif key == "cuts" and isinstance(value, list):
        row.value = ", ".join(fmt(v, "pct") for v in value)
    elif isinstance(value, dict):
        row.rows = [_row(model, k, v) for k, v in value.items() if k not in SHOWN_ELSEWHERE]
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = [k for k in value[0] if not isinstance(value[0][k], dict | list)]
        row.columns = [str(term(model, c).name) for c in columns]
        names = _category_names({str(v.get("category")) for v in value}) if "category" in columns else {}
        for item in value[:50]:
            cells = []
            for c in columns:
                v = item.get(c)
                cells.append(names.get(v, v) if c == "category" else _value(model, c, v, term(model, c).fmt))
            row.table.append(cells)
    elif isinstance(value, list):
        row.items = [_value(model, key, v, t.fmt) for v in value]
    else:
        row.value = _value(model, key, value, t.fmt)
    return row


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 2


def _range(value) -> str:
    if isinstance(value, list) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] else f"{value[0]}–{value[1]}"
    return "" if value is None else str(value)


# Dicts shown by their own rule (a sentence, or rows named by their keys' values), not key by key.
SUMMARISED = {"fit", "calibration_fit", "segments", "category_cycles", "repeat_boost", "served", "lightgbm"}


def unknown_keys(model: str, *datas: dict | None) -> set[str]:
    """Keys of a run's JSON (top level and one level down) this module has no words for."""
    missing = set()
    for data in datas:
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            if key in SHOWN_ELSEWHERE:
                continue
            if not known(model, key):
                missing.add(key)
            if isinstance(value, dict) and key not in SUMMARISED and not key.endswith("_by_score"):
                missing |= {f"{key}.{k}" for k in value if not known(model, k) and k not in SHOWN_ELSEWHERE}
            if key == "lightgbm" and isinstance(value, dict):
                missing |= {f"lightgbm.{k}" for k in value if k not in LIGHTGBM}
            if isinstance(value, list) and value and isinstance(value[0], dict):
                missing |= {f"{key}[].{k}" for k in value[0] if not known(model, k)}
    return missing


def register() -> None:
    labels.register("analytics.model", ModelRun.Model)
    labels.register("analytics.rfm_segment", SEGMENT_LABELS)
    # A genuine cycle: analytics_guard imports analytics.glossary at load time.
    from clientwise.analytics.templatetags.analytics_guard import BASELINE

    labels.register("analytics.purchase_model", PURCHASE_MODEL_NAMES, codes_visible_ok=True)
    labels.register("analytics.baseline", BASELINE)
    labels.register("analytics.metric", {k: t.name for k, t in TERMS.items()})
    labels.register("analytics.feature", FEATURES)


# The churn model's inputs (churn.DEFAULT_FEATURES) in words.
FEATURES = {
    "frequency": _("Repeat purchases"), "recency_days": _("Days from first to last purchase"),
    "T_days": _("Days since the first purchase"), "monetary": _("Average repeat order value"),
    "orders_total": _("Orders in total"), "revenue_total": _("Revenue in total"),
    "margin_total": _("Margin in total"), "orders_90d": _("Orders in the last 90 days"),
    "orders_365d": _("Orders in the last 12 months"), "revenue_365d": _("Revenue in the last 12 months"),
    "margin_365d": _("Margin in the last 12 months"), "days_since_last": _("Days since the last purchase"),
    "tenure_days": _("Days as a customer"), "mean_gap_days": _("Usual days between purchases"),
    "gap_ratio": _("Time since the last purchase ÷ usual gap"), "n_categories": _("Categories bought from"),
    "returns_365d": _("Returns in the last 12 months"), "web_share": _("Share of orders online"),
    "is_organization": pgettext_lazy("churn input", "Organization"), "is_urban": _("Lives in a city"),
    "age": _("Age"),
}
