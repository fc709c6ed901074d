"""Read-side aggregates of customer analytics for the pages and the API.

Everything that lists or counts customers goes through `customers.queries.visible_customers(user)` (via
`scores(user)` or `_scope_customer_ids`), so a sales rep's lists and aggregates only hold the customers they
may see. Scores are read from the current scoring batch only (ScoringBatch.is_current): a batch that is still
being written or failed is never shown. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Avg, Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext, ngettext, ngettext_lazy, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from clientwise.accounts.services import team_subtree_ids
from clientwise.analytics import churn, consistency, glossary
from clientwise.analytics.consistency import HIGH_RISK, MEDIUM_RISK  # noqa: F401 - other apps read them here
from clientwise.analytics.models import CustomerScore, ModelRun, RunStatus, ScoringBatch
from clientwise.analytics.rfm import SEGMENT_LABELS  # the segment names live with the segment rules
from clientwise.commerce.models import Product, ProductCategory
from clientwise.commerce.queries import channels, visible_orders
from clientwise.core import labels
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, ErrorCode, NotFound
from clientwise.core.pagination import Page, keyset_page
from clientwise.core.templatetags.cw import money
from clientwise.customers.queries import visible_customers
from clientwise.customers.scope import restrict_by_customer

TOP_SHARE = 0.2  # value concentration: the share of revenue from the top 20 % of customers
TOP_REASONS = 3

# --- Labels ------------------------------------------------------------------------------------------------------

TIER_HINTS = {
    "A": _("Top value: protect and grow"),
    "B": _("High value"),
    "C": _("Medium value"),
    "D": _("Low value"),
}


@dataclass(frozen=True)
class Action:
    code: str
    label: str
    icon: str  # Bootstrap Icons name
    hint: str


ACTIONS = {
    "call": Action("call", pgettext_lazy("next best action", "Call"), "telephone-outbound",
                   _("A valuable customer is at risk: call them personally this week.")),
    "offer": Action("offer", _("Send an offer"), "gift",
                    _("A purchase is due: send an offer for what they are likely to buy next.")),
    "win_back": Action("win_back", _("Win back"), "arrow-counterclockwise",
                       _("This customer has probably lapsed: include them in a win-back campaign.")),
    "nurture": Action("nurture", _("Nurture"), "flower1",
                      _("Nothing urgent: keep in touch through the regular programme.")),
}

# Plain-language churn reasons per feature of the churn model (churn.DEFAULT_FEATURES). `{value}` is the
# customer's value of the feature, formatted by _fmt_value. A reason for a feature not listed here falls back to
# the (English) label the model stored, then to the feature name.
REASON_TEXTS = {
    "gap_ratio": _("Already {value}× their usual time between purchases"),
    "monetary": _("Average order {value}"),
    "revenue_total": _("Spent {value} in total"),
    "revenue_365d": _("Spent {value} in the last 12 months"),
    "margin_total": _("Margin {value} in total"),
    "margin_365d": _("Margin {value} in the last 12 months"),
    "web_share": _("{value} of orders placed online"),
    "age": _("Aged {value}"),
}
# Reasons that count something: "1 order", "2 orders" (`%(value)s` is the count as shown).
REASON_COUNTS = {
    "days_since_last": ngettext_lazy("No purchase for %(value)s day", "No purchase for %(value)s days", "n"),
    "mean_gap_days": ngettext_lazy("Usually buys every %(value)s day", "Usually buys every %(value)s days", "n"),
    "frequency": ngettext_lazy("%(value)s repeat purchase so far", "%(value)s repeat purchases so far", "n"),
    "recency_days": ngettext_lazy("Last purchase came %(value)s day after the first",
                                  "Last purchase came %(value)s days after the first", "n"),
    "T_days": ngettext_lazy("First purchase %(value)s day ago", "First purchase %(value)s days ago", "n"),
    "tenure_days": ngettext_lazy("Customer for %(value)s day", "Customer for %(value)s days", "n"),
    "orders_total": ngettext_lazy("%(value)s order in total", "%(value)s orders in total", "n"),
    "orders_90d": ngettext_lazy("%(value)s order in the last 90 days", "%(value)s orders in the last 90 days", "n"),
    "orders_365d": ngettext_lazy("%(value)s order in the last 12 months", "%(value)s orders in the last 12 months",
                                 "n"),
    "n_categories": ngettext_lazy("Buys from %(value)s category", "Buys from %(value)s categories", "n"),
    "returns_365d": ngettext_lazy("%(value)s return in the last 12 months", "%(value)s returns in the last 12 months",
                                  "n"),
}
# A reason whose value is not known (the model saw a gap there): what that means for the customer.
MISSING_TEXTS = {
    "mean_gap_days": _("Only one purchase so far: no usual time between purchases yet"),
    "gap_ratio": _("Only one purchase so far: no usual time between purchases yet"),
    "days_since_last": _("No purchase yet"),
    "age": _("Age not known"),
}
FLAG_TEXTS = {
    "is_organization": (_("A person, not an organization"), _("An organization")),
    "is_urban": (_("Lives in a rural area"), _("Lives in an urban area")),
}
MONEY_FEATURES = {"monetary", "revenue_total", "revenue_365d", "margin_total", "margin_365d"}
PERCENT_FEATURES = {"web_share"}
RATIO_FEATURES = {"gap_ratio"}


def segment_label(code: str) -> str:
    if not code:
        return ""
    return labels.label("analytics.rfm_segment", code, default=code.replace("_", " ").capitalize())


# The action's hint says why (consistency.read_scores' action_reason): "a purchase is due" only when one is.
ACTION_HINTS = {
    ("offer", "recommended"): _("Send an offer for the products they are likely to buy next."),
    ("offer", "at_risk"): _("At risk of not buying again soon: send an offer for what they are likely to buy next."),
    ("nurture", "at_risk"): _("At risk of not buying again soon, though of lower value: keep them in the regular "
                              "programme and watch for the next win-back campaign."),
}
# How P(alive) reads beside the churn risk (consistency.Reading.alive).
ALIVE_NOTES = {
    "unknown": _("Not estimated: with one purchase only, the purchase model chosen for this run (BG/NBD) cannot "
                 "tell."),
    "slow_buyer": _("Probably still a customer, but not expected to buy within the churn window: they buy "
                    "rarely."),
    "lapsed": _("Probably no longer a customer."),
}


def action_for(code: str, reason: str = "") -> Action:
    """The next best action; an empty code is "nurture" (nothing urgent). `reason` (consistency.Reading's
    action_reason) picks the hint that says why."""
    action = ACTIONS.get(code or "nurture", ACTIONS["nurture"])
    hint = ACTION_HINTS.get((action.code, reason))
    return Action(action.code, action.label, action.icon, hint) if hint is not None else action


risk_level = consistency.risk_level


def _fmt_value(feature: str, value) -> str:
    number = _num(value)
    if number is None:
        return "" if value is None or isinstance(value, bool | int | float) else str(value)
    if feature in MONEY_FEATURES:
        return money(Decimal(str(round(number, 2))))
    if feature in PERCENT_FEATURES:
        return f"{number * 100:.0f}%"
    if feature in RATIO_FEATURES:
        return f"{number:.1f}"
    if number.is_integer() or abs(number) >= 10:
        return f"{number:,.0f}"
    return f"{number:.1f}"


@dataclass(frozen=True)
class Reason:
    feature: str
    text: str
    contribution: float | None


def plain_reasons(raw, limit: int = TOP_REASONS, *, probability: float | None = None,
                  base_rate: float | None = None, horizon_days: int | None = None) -> list[Reason]:
    """The reasons that raise the churn risk most, as sentences. `raw` is CustomerScore.churn_reasons:
    [{"feature", "label", "value", "contribution"}, ...]; reasons that lower the risk are left out.

    A risk worth showing (`probability` at least MEDIUM_RISK) never goes without a reason: when no feature raises
    it above the average, the reason is the average itself (`base_rate`: the share of customers who bought
    nothing in a churn window of `horizon_days`, from the churn run)."""
    out = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        feature = str(item.get("feature") or "")
        contribution = _num(item.get("contribution"))
        if contribution is not None and contribution <= 0:
            continue
        template = REASON_TEXTS.get(feature)
        value = _fmt_value(feature, item.get("value"))
        flag = _num(item.get("value"))
        if feature in FLAG_TEXTS and flag is not None:
            text = str(FLAG_TEXTS[feature][flag >= 0.5])
        elif feature in REASON_COUNTS and flag is not None:
            text = REASON_COUNTS[feature] % {"n": round(flag), "value": value}
        elif template is not None and value != "":
            text = str(template).format(value=value)
        elif flag is None and value == "" and feature in MISSING_TEXTS:
            text = str(MISSING_TEXTS[feature])
        elif flag is None and value == "" and labels.has_label("analytics.feature", feature):
            text = gettext("%(input)s: not known") % {"input": labels.label("analytics.feature", feature)}
        else:
            label = str(item.get("label") or "")
            if label:
                text = label[:1].upper() + label[1:]
            else:
                name = feature.replace("_", " ") or gettext("Unknown factor")
                text = f"{name[:1].upper()}{name[1:]}: {value}" if value != "" else name
        out.append(Reason(feature=feature, text=text, contribution=contribution))
    out.sort(key=lambda r: -(r.contribution if r.contribution is not None else 0))
    if not out and probability is not None and probability >= MEDIUM_RISK:
        if base_rate is not None and horizon_days:
            text = gettext("No single factor stands out: %(share)s of customers bought nothing in a %(days)s-day "
                           "window, and this customer is like them") % {"share": f"{base_rate:.0%}",
                                                                        "days": horizon_days}
        else:
            text = gettext("No single factor stands out: the risk is close to that of customers overall")
        out.append(Reason(feature="base_rate", text=text, contribution=None))
    return out[:limit]


def _num(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- Access and the current batch ----------------------------------------------------------------------------------


def can_view(user) -> bool:
    return perms.has_perm(user, perms.VIEW_ANALYTICS)


def can_run(user) -> bool:
    return perms.has_perm(user, perms.RUN_ANALYTICS)


def current_batch() -> ScoringBatch | None:
    """The batch whose scores are shown (at most one, by the partial unique index)."""
    return ScoringBatch.objects.filter(is_current=True).first()


def latest_batch() -> ScoringBatch | None:
    """The most recently started batch, whatever its state (to say "a run is in progress" or "failed")."""
    return ScoringBatch.objects.order_by("-started_at", "-id").first()


def scores(user, batch: ScoringBatch | None = None) -> QuerySet[CustomerScore]:
    """The current batch's scores of the (non-archived) customers `user` may see; none without analytics.view."""
    batch = batch or current_batch()
    if batch is None or not can_view(user):
        return CustomerScore.objects.none()
    qs = CustomerScore.objects.filter(batch=batch, customer__archived_at__isnull=True)
    return restrict_by_customer(qs, user)


# --- Churn reasons of the customers shown --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChurnContext:
    """What reading a batch's churn scores needs besides the rows: the churn window and its base rate."""

    horizon_days: int | None = None
    base_rate: float | None = None


def churn_context(batch: ScoringBatch | None) -> ChurnContext:
    if batch is None:
        return ChurnContext()
    params = (ModelRun.objects.filter(batch=batch, model="churn", status=RunStatus.DONE)
              .values_list("parameters", flat=True).first()) or {}
    rate = _num(params.get("train_base_rate"))
    days = params.get("horizon_days")
    return ChurnContext(horizon_days=days if isinstance(days, int) else None, base_rate=rate)


@functools.lru_cache(maxsize=2)
def _explainer(path: str, mtime: float):
    return churn.load_explainer(path)


def explain_churn(batch: ScoringBatch | None, rows: Iterable[CustomerScore]) -> None:
    """Fill in the churn reasons of the given rows that scoring did not explain (it explains the customers with the
    most value at risk; the rest are explained when shown), from the churn model and feature rows kept beside
    the batch's snapshot. In memory only: the rows are not saved. Rows stay as they are when the files are gone
    (a pruned snapshot) or churn failed."""
    todo = {row.customer_id: row for row in rows
            if row.churn_probability is not None and not row.churn_reasons}
    if batch is None or not todo or not batch.snapshot:
        return
    model_path = Path(batch.snapshot) / churn.EXPLAINER_MODEL
    features_path = Path(batch.snapshot) / churn.EXPLAINER_FEATURES
    if not model_path.exists() or not features_path.exists():
        return

    explainer = _explainer(str(model_path), model_path.stat().st_mtime)
    table = pq.read_table(features_path, columns=["customer_id", *explainer.feature_cols],
                          filters=[("customer_id", "in", sorted(todo))])
    if table.num_rows == 0:
        return
    matrix = np.column_stack([table[c].to_numpy(zero_copy_only=False) for c in explainer.feature_cols])
    lists = churn.churn_reasons(explainer, matrix).to_lists()
    for customer_id, reasons in zip(table["customer_id"].to_pylist(), lists, strict=True):
        todo[customer_id].churn_reasons = reasons  # [] when no feature raises the risk (plain_reasons: base rate)
        todo[customer_id].reasons_explained = True


# --- The customer 360 card ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryDate:
    code: str
    name: str
    date: dt.date | None


@dataclass(frozen=True)
class Recommendation:
    product_id: int | None
    sku: str
    name: str
    category: str
    score: float | None
    reason: str


@dataclass(frozen=True)
class ScoreCard:
    """What the customer 360 shows: the customer's scores in the current batch, reasons in plain language."""

    customer_id: int
    as_of: dt.date
    batch_id: int
    value_tier: str
    tier_hint: str
    clv: Decimal | None
    immediate_value: Decimal | None
    potential_value: Decimal | None
    share_of_wallet: float | None
    p_alive: float | None
    expected_purchases: float | None
    horizon_days: int
    churn_probability: float | None
    value_at_risk: Decimal | None
    risk: str
    reasons: tuple[Reason, ...]
    rfm_r: int | None
    rfm_f: int | None
    rfm_m: int | None
    rfm_segment: str
    segment_label: str
    next_purchase_on: dt.date | None
    next_purchase_categories: tuple[CategoryDate, ...]
    recommendations: tuple[Recommendation, ...]
    action: Action
    reading: consistency.Reading
    p_alive_shown: float | None  # P(alive) as shown: never 100 % (consistency.shown_alive)
    alive_note: str  # how P(alive) reads beside the churn risk ("" when nothing needs saying)
    churn_horizon_days: int | None
    frequency: int | None

    @property
    def next_purchase_in_days(self) -> int | None:
        """Days from the scoring date to the expected next purchase (negative: overdue). The card describes the
        customer as of that date (its header says so), like the reading behind it (read_row): a history scored
        where it ends must not call a purchase "overdue by 798 days" counted from today."""
        if self.next_purchase_on is None:
            return None
        return (self.next_purchase_on - self.as_of).days

    @property
    def next_purchase_overdue_days(self) -> int:
        days = self.next_purchase_in_days
        return -days if days is not None and days < 0 else 0


def _category_names(codes: Iterable[str]) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}

    return dict(ProductCategory.objects.filter(code__in=codes).values_list("code", "name"))


def _products(ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return {}

    return {pk: (sku, name) for pk, sku, name in Product.objects.filter(pk__in=ids).values_list("pk", "sku", "name")}


def _parse_date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


def recommendation_reason(rec: dict, products: dict[int, tuple[str, str]]) -> str:
    """Why a product is recommended, in the user's language, from the parts the scoring stored (the product
    bought that led to it, and the rule's lift and confidence or the items' similarity); the stored text when
    the parts are missing (older batches). Repeat purchases and popular products (recommend.KINDS) say so."""
    times, rate = rec.get("times_bought"), rec.get("repeat_rate")
    if rec.get("kind") == "repeat" and isinstance(times, int) and isinstance(rate, int | float):
        return ngettext("Buys it again and again: on %(times)s order in the last year (%(rate)s of its buyers "
                        "buy it again)",
                        "Buys it again and again: on %(times)s orders in the last year (%(rate)s of its buyers "
                        "buy it again)", times) % {"times": times, "rate": f"{rate:.0%}"}
    if rec.get("kind") == "popular":
        return gettext("Popular with customers who have not bought it yet")
    because = rec.get("because_product_id")
    if not isinstance(because, int):
        return str(rec.get("reason") or "")
    sku, name = products.get(because, ("", ""))
    product = name or sku or str(because)
    lift, confidence, similarity = rec.get("lift"), rec.get("confidence"), rec.get("similarity")
    if isinstance(lift, int | float) and isinstance(confidence, int | float):
        return gettext("Bought %(product)s: customers who buy it also buy this (lift %(lift)s, confidence %(confidence)s)") % {
            "product": product, "lift": f"{lift:.1f}", "confidence": f"{confidence:.0%}"}
    if isinstance(similarity, int | float):
        return gettext("Bought %(product)s: often bought by the same customers (similarity %(similarity)s)") % {
            "product": product, "similarity": f"{similarity:.2f}"}
    return gettext("Bought %(product)s") % {"product": product}


def read_row(row: CustomerScore) -> consistency.Reading:
    """consistency.read_scores for a stored score row (the next purchase counted from the scoring date)."""
    due = (row.next_purchase_on - row.as_of).days if row.next_purchase_on and row.as_of else None
    return consistency.read_scores(action=row.next_action, churn=row.churn_probability, p_alive=row.p_alive,
                                   bought=row.frequency is not None, next_due_days=due,
                                   has_recommendations=bool(row.recommendations))


def score_card(row: CustomerScore, batch: ScoringBatch | None = None, *, recommendations: int = 5,
               context: ChurnContext | None = None) -> ScoreCard:
    context = context or ChurnContext()
    reading = read_row(row)
    cats = [c for c in (row.next_purchase_categories or []) if isinstance(c, dict)]
    recs = [r for r in (row.recommendations or []) if isinstance(r, dict)][:recommendations]
    names = _category_names([str(c.get("category") or "") for c in cats] + [str(r.get("category") or "") for r in recs])
    products = _products([r.get("product_id") for r in recs] + [r.get("because_product_id") for r in recs])
    category_dates = tuple(sorted(
        (CategoryDate(code=str(c.get("category") or ""), name=names.get(str(c.get("category") or ""),
                                                                         str(c.get("category") or "")),
                      date=_parse_date(c.get("date"))) for c in cats),
        key=lambda c: (c.date is None, c.date or dt.date.max, c.name)))
    rec_out = []
    for r in recs:
        pid = r.get("product_id") if isinstance(r.get("product_id"), int) else None
        sku, name = products.get(pid, (str(r.get("sku") or ""), str(r.get("name") or r.get("sku") or "")))
        cat = str(r.get("category") or "")
        rec_out.append(Recommendation(product_id=pid, sku=sku, name=name or sku, category=names.get(cat, cat),
                                      score=_num(r.get("score")), reason=recommendation_reason(r, products)))
    horizon = batch.horizon_days if batch is not None else 365
    return ScoreCard(
        customer_id=row.customer_id, as_of=row.as_of, batch_id=row.batch_id, value_tier=row.value_tier,
        tier_hint=str(TIER_HINTS.get(row.value_tier, "")), clv=row.clv, immediate_value=row.immediate_value,
        potential_value=row.potential_value, share_of_wallet=row.share_of_wallet, p_alive=row.p_alive,
        expected_purchases=row.expected_purchases, horizon_days=horizon,
        churn_probability=row.churn_probability, value_at_risk=row.value_at_risk, risk=reading.risk,
        reasons=tuple(plain_reasons(row.churn_reasons, probability=row.churn_probability,
                                    base_rate=context.base_rate, horizon_days=context.horizon_days)),
        rfm_r=row.rfm_r, rfm_f=row.rfm_f, rfm_m=row.rfm_m,
        rfm_segment=row.rfm_segment, segment_label=segment_label(row.rfm_segment),
        next_purchase_on=row.next_purchase_on, next_purchase_categories=category_dates,
        recommendations=tuple(rec_out), action=action_for(row.next_action, reading.action_reason),
        reading=reading, p_alive_shown=consistency.shown_alive(row.p_alive),
        alive_note=str(ALIVE_NOTES.get(reading.alive, "")), churn_horizon_days=context.horizon_days,
        frequency=row.frequency,
    )


def customer_score(customer_id: int) -> ScoreCard | None:
    """The current scores of one customer, or None before the first scoring (or when the customer was not
    scored). The caller has checked that the user may see the customer (customers.queries.get_customer_for)."""
    batch = current_batch()
    if batch is None:
        return None
    row = CustomerScore.objects.filter(batch=batch, customer_id=customer_id).first()
    if row is None:
        return None
    explain_churn(batch, [row])
    return score_card(row, batch, context=churn_context(batch))


# --- Overview aggregates -----------------------------------------------------------------------------------------


def summary(user, batch: ScoringBatch | None = None) -> dict:
    """Headline figures over the visible scored customers (one aggregate query)."""
    qs = scores(user, batch)
    agg = qs.aggregate(
        customers=Count("id"), total_clv=Sum("clv"), mean_clv=Avg("clv"), mean_p_alive=Avg("p_alive"),
        high_risk=Count("id", filter=Q(churn_probability__gte=HIGH_RISK)),
        high_risk_clv=Sum("clv", filter=Q(churn_probability__gte=HIGH_RISK)),
        **{f"tier_{t}": Count("id", filter=Q(value_tier=t)) for t in CustomerScore.Tier.values},
    )
    return {
        "customers": agg["customers"],
        "clv": agg["total_clv"],
        "avg_clv": Decimal(agg["mean_clv"]).quantize(Decimal("0.01")) if agg["mean_clv"] is not None else None,
        "avg_p_alive": agg["mean_p_alive"],
        "high_risk": agg["high_risk"],
        "high_risk_clv": agg["high_risk_clv"],
        "tiers": {t: agg[f"tier_{t}"] for t in CustomerScore.Tier.values},
        "tiered": sum(agg[f"tier_{t}"] for t in CustomerScore.Tier.values),
    }


def value_concentration(user, *, points: int = 20) -> dict:
    """Share of revenue from the top 20 % of the visible customers with purchases (all-time revenue), and a
    concentration curve: cumulative share of revenue against cumulative share of customers, best customers
    first, in `points` NTILE groups computed in SQL (the exact share uses the exact top ceil(20 % · n))."""
    base = visible_customers(user).filter(archived_at__isnull=True, stats__revenue__gt=0) if can_view(user) else None
    empty = {"customers": 0, "revenue": Decimal("0"), "top_customers": 0, "top_revenue": Decimal("0"),
             "top_share": None, "curve": [[0.0, 0.0]]}
    if base is None:
        return empty
    agg = base.aggregate(n=Count("id"), revenue=Sum("stats__revenue"))
    n, total = agg["n"], agg["revenue"] or Decimal("0")
    if not n or not total:
        return empty
    top_n = math.ceil(TOP_SHARE * n)
    top = base.order_by("-stats__revenue", "-id")[:top_n]
    top_revenue = top.aggregate(s=Sum("stats__revenue"))["s"] or Decimal("0")
    sql, params = base.values(spent=F("stats__revenue")).query.sql_with_params()
    groups = min(points, n)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bucket, COUNT(*), SUM(spent) FROM (SELECT spent, NTILE(%s) OVER (ORDER BY spent DESC) "
            f"AS bucket FROM ({sql}) base) ranked GROUP BY bucket ORDER BY bucket", [groups, *params])
        rows = cursor.fetchall()
    curve, seen, cum = [[0.0, 0.0]], 0, Decimal("0")
    for _bucket, count, revenue in rows:
        seen += count
        cum += Decimal(str(revenue))
        curve.append([round(seen / n, 4), round(float(cum / total), 4)])
    return {"customers": n, "revenue": total, "top_customers": top_n, "top_revenue": top_revenue,
            "top_share": float(top_revenue / total), "curve": curve}


def rfm_grid(user, batch: ScoringBatch | None = None) -> dict:
    """Customers and their all-time revenue per (R, F) cell, R and F from 1 to 5 (5 best)."""
    rows = (scores(user, batch).filter(rfm_r__isnull=False, rfm_f__isnull=False)
            .values("rfm_r", "rfm_f").annotate(n=Count("id"), revenue=Sum("customer__stats__revenue")).order_by())
    cells = []
    total = 0
    for row in rows:
        r, f = row["rfm_r"], row["rfm_f"]
        if not (1 <= r <= 5 and 1 <= f <= 5):
            continue
        total += row["n"]
        cells.append({"r": r, "f": f, "customers": row["n"], "revenue": row["revenue"] or Decimal("0")})
    cells.sort(key=lambda c: (c["r"], c["f"]))
    return {"cells": cells, "customers": total, "max": max((c["customers"] for c in cells), default=0)}


def segments(user, batch: ScoringBatch | None = None) -> list[dict]:
    rows = (scores(user, batch).exclude(rfm_segment="").values("rfm_segment")
            .annotate(n=Count("id"), total=Sum("clv"), revenue=Sum("customer__stats__revenue")).order_by("-n", "rfm_segment"))
    return [{"code": r["rfm_segment"], "label": segment_label(r["rfm_segment"]), "customers": r["n"],
             "clv": r["total"], "revenue": r["revenue"] or Decimal("0")} for r in rows]


def _add_months(day: dt.date, months: int) -> dt.date:
    years, month0 = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + years, month0 + 1, 1)


def _month_index(field: str, bounds: list[dt.datetime]) -> Case:
    """Which month [bounds[i], bounds[i+1]) a datetime falls in, as a CASE the database evaluates (no
    per-row time-zone function, so SQLite stays fast); rows are pre-filtered to [bounds[0], bounds[-1])."""
    return Case(*[When(**{f"{field}__lt": bounds[i + 1]}, then=Value(i)) for i in range(len(bounds) - 1)],
                default=Value(None), output_field=IntegerField())


def cohort_retention(user, *, months: int = 12, today: dt.date | None = None) -> dict:
    """Acquisition month × months since: the share of each month's new customers (first purchase that month)
    who bought in each later month. Completed orders of the visible customers, grouped in SQL by
    (first-purchase month, order month) with a distinct customer count; the last `months` cohorts, months in
    the local time zone."""
    today = today or timezone.localdate()
    last = today.replace(day=1)
    firsts = [_add_months(last, k - (months - 1)) for k in range(months + 1)]
    bounds = [timezone.make_aware(dt.datetime.combine(d, dt.time.min)) for d in firsts]
    start, end = bounds[0], bounds[-1]
    empty = {"cohorts": [], "offsets": list(range(months)), "cells": []}
    if not can_view(user):
        return empty
    sizes = {row["cohort"]: row["n"] for row in (
        visible_customers(user).filter(stats__first_order_at__gte=start, stats__first_order_at__lt=end)
        .annotate(cohort=_month_index("stats__first_order_at", bounds)).values("cohort").annotate(n=Count("id"))
        .order_by())}
    if not sizes:
        return empty
    active = {(row["cohort"], row["month"]): row["n"] for row in (
        visible_orders(user).filter(status="completed", ordered_at__gte=start, ordered_at__lt=end,
                                    customer__stats__first_order_at__gte=start,
                                    customer__stats__first_order_at__lt=end)
        .annotate(cohort=_month_index("customer__stats__first_order_at", bounds), month=_month_index("ordered_at", bounds))
        .values("cohort", "month").annotate(n=Count("customer_id", distinct=True)).order_by())}
    cohorts = sorted(sizes)
    cells = []
    for i, cohort in enumerate(cohorts):
        for offset in range(months - cohort):
            n = active.get((cohort, cohort + offset), 0)
            cells.append({"cohort": i, "offset": offset, "customers": n, "rate": n / sizes[cohort]})
    return {"cohorts": [{"month": firsts[c].strftime("%Y-%m"), "customers": sizes[c]} for c in cohorts],
            "offsets": list(range(months)), "cells": cells}


def _channel_names() -> dict[str, str]:
    return {c.code: c.name for c in channels()}


def clv_by_channel(user, batch: ScoringBatch | None = None) -> list[dict]:
    """CLV by the channel of the customer's first purchase (CustomerScore.acquisition_channel)."""
    rows = (scores(user, batch).filter(clv__isnull=False).values("acquisition_channel")
            .annotate(n=Count("id"), total=Sum("clv"), avg=Avg("clv")).order_by("-total", "acquisition_channel"))
    names = _channel_names()
    return [{"code": r["acquisition_channel"],
             "label": names.get(r["acquisition_channel"], r["acquisition_channel"]) or gettext("Unknown"),
             "customers": r["n"], "clv": r["total"], "avg_clv": Decimal(r["avg"]).quantize(Decimal("0.01"))}
            for r in rows]


def clv_by_region(user, batch: ScoringBatch | None = None, *, limit: int = 12) -> list[dict]:
    """CLV by the customer's province, largest total first; provinces past `limit` are summed as "Other"."""
    rows = list(scores(user, batch).filter(clv__isnull=False).values("customer__province")
                .annotate(n=Count("id"), total=Sum("clv")).order_by("-total", "customer__province"))
    out = [{"label": r["customer__province"] or gettext("Unknown"), "customers": r["n"], "clv": r["total"]}
           for r in rows[:limit]]
    rest = rows[limit:]
    if rest:
        out.append({"label": gettext("Other"), "customers": sum(r["n"] for r in rest),
                    "clv": sum((r["total"] for r in rest), Decimal("0"))})
    for r in out:
        r["avg_clv"] = (r["clv"] / r["customers"]).quantize(Decimal("0.01")) if r["customers"] else None
    return out


# --- Ranked lists ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreFilters:
    """Filters of the ranked lists, parsed once (schemas.ScoreListParams) for pages and the API."""

    tier: str = ""
    segment: str = ""
    owner: int | None = None
    team: int | None = None
    min_probability: float | None = None
    r: int | None = None
    f: int | None = None

    def is_set(self) -> bool:
        return any(v not in (None, "") for v in (self.tier, self.segment, self.owner, self.team,
                                                  self.min_probability, self.r, self.f))


# "churn" (the churn lists' default) ranks by value at risk: probability × CLV, so the customers worth saving come
# first, not low-value ones who were never going to buy much; "probability" ranks by the probability alone.
RANKINGS = {"churn": "-value_at_risk", "probability": "-churn_probability", "clv": "-clv"}


def filter_scores(qs: QuerySet[CustomerScore], f: ScoreFilters) -> QuerySet[CustomerScore]:
    if f.tier:
        qs = qs.filter(value_tier=f.tier)
    if f.segment:
        qs = qs.filter(rfm_segment=f.segment)
    if f.owner:
        qs = qs.filter(customer__owner_id=f.owner)
    if f.team:
        qs = qs.filter(customer__team_id__in=team_subtree_ids(f.team))
    if f.min_probability is not None:
        qs = qs.filter(churn_probability__gte=f.min_probability)
    if f.r:
        qs = qs.filter(rfm_r=f.r)
    if f.f:
        qs = qs.filter(rfm_f=f.f)
    return qs


def ranked_page(user, f: ScoreFilters, *, ranking: str = "churn", cursor: str | None = None,
                size: int = 25) -> Page:
    """Visible scored customers, highest value at risk (or churn probability, or CLV) first; keyset pages over
    the batch's ranked-list index (customers without that score are left out). Every row shown has its churn
    reasons (explain_churn) and a reading that keeps its scores from contradicting each other."""
    batch = current_batch()
    sort = RANKINGS[ranking]
    name = sort.lstrip("-")
    base = filter_scores(scores(user, batch), f)
    if name == "value_at_risk" and not base.filter(value_at_risk__isnull=False).exists():
        sort, name = RANKINGS["probability"], "churn_probability"  # a batch scored before value at risk was kept
    qs = base.filter(**{f"{name}__isnull": False}).select_related(
        "customer", "customer__owner", "customer__team")
    try:
        page = keyset_page(qs, sort=sort, cursor=cursor or None, size=size)
    except (ValidationError, ValueError, TypeError, OverflowError, ArithmeticError):
        raise DomainError(ErrorCode.INVALID_CURSOR, "The page cursor is not valid.", "cursor") from None
    explain_churn(batch, page.items)
    context = churn_context(batch)
    for row in page.items:
        row.reading = read_row(row)
        row.reasons = plain_reasons(row.churn_reasons, probability=row.churn_probability,
                                    base_rate=context.base_rate, horizon_days=context.horizon_days)
        row.segment_label = segment_label(row.rfm_segment)
        row.risk = row.reading.risk
        row.action = action_for(row.next_action, row.reading.action_reason)
        row.p_alive_shown = consistency.shown_alive(row.p_alive)
    return page


def owner_choices(user) -> list[tuple[int, str]]:
    """Owners of the visible scored customers, for the list filter."""
    ids = scores(user).exclude(customer__owner_id=None).values("customer__owner_id").distinct()
    return [(u.pk, str(u)) for u in get_user_model().objects.filter(pk__in=ids).order_by("username")]


def segment_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in SEGMENT_LABELS.items()]


# --- Model runs and their validation -------------------------------------------------------------------------------


MODEL_LABELS = dict(ModelRun.Model.choices)
MODEL_HELP = {
    "rfm": _("Recency, frequency and monetary quintiles (5 best) and named segments."),
    "bgnbd": _("BG/NBD: how many purchases each customer will make, and the probability they are still "
               "active. Checked by fitting on the calibration period and comparing predicted with actual "
               "purchases in the holdout period."),
    "gamma_gamma": _("Gamma-Gamma: each customer's expected average order value."),
    "clv": _("Lifetime value over the horizon: expected purchases × expected order value, discounted."),
    "churn": _("Gradient-boosted churn classifier on time-split labels, calibrated, checked on a later window "
               "beside a recency-only baseline: if the model does not beat the baseline, trust recency."),
    "next_purchase": _("Expected date of each customer's next purchase, overall and per replenishable "
                       "category."),
    "recommend": _("Next products from co-purchase associations and item similarity."),
    "value": _("Value tiers A–D from immediate value (margin, last 12 months) and potential value."),
}


def model_runs(*, model: str | None = None) -> QuerySet[ModelRun]:
    qs = ModelRun.objects.select_related("batch")
    return qs.filter(model=model) if model else qs


def get_model_run(pk) -> ModelRun:
    try:
        return ModelRun.objects.select_related("batch").get(pk=int(pk))
    except (TypeError, ValueError, ModelRun.DoesNotExist):
        raise NotFound() from None


def run_page(*, model: str | None = None, cursor: str | None = None, size: int = 25) -> Page:
    try:
        return keyset_page(model_runs(model=model), sort="-id", cursor=cursor or None, size=size)
    except (ValidationError, ValueError, TypeError, OverflowError):
        raise DomainError(ErrorCode.INVALID_CURSOR, "The page cursor is not valid.", "cursor") from None


def shown_run(model: str, run_id=None) -> ModelRun | None:
    """The run a model page shows: the one asked for, else the current batch's, else the latest finished."""
    if run_id not in (None, ""):
        run = get_model_run(run_id)
        if run.model != model:
            raise NotFound()
        return run
    batch = current_batch()
    if batch is not None:
        run = model_runs(model=model).filter(batch=batch).order_by("-started_at", "-id").first()
        if run is not None:
            return run
    return model_runs(model=model).filter(status=RunStatus.DONE).order_by("-started_at", "-id").first()


def models_overview() -> list[dict]:
    """Each model with its latest run (for the model index and the overview's links)."""
    latest = {}
    for run in ModelRun.objects.order_by("model", "-started_at", "-id"):
        latest.setdefault(run.model, run)
    return [{"code": code, "label": label, "run": latest.get(code),
             "headline": headline(latest[code].metrics) if code in latest else None}
            for code, label in ModelRun.Model.choices]


def _first(mapping: dict, *keys):
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def headline(metrics) -> tuple[str, float] | None:
    """The one figure that tells most about a run's quality: AUC, then MAE, then anything numeric."""
    if not isinstance(metrics, dict):
        return None
    for key in ("auc", "holdout_auc", "mae", "holdout_mae", "rmse", "lift_top_decile", "precision_at_10",
                "hit_rate"):
        value = _num(metrics.get(key))
        if value is not None:
            return key, value
    return None


@dataclass
class Validation:
    """A run's metrics reshaped for charts; whatever else the metrics hold is listed as-is."""

    auc: float | None = None
    baseline_auc: float | None = None
    lift_top_decile: float | None = None
    baseline_lift_top_decile: float | None = None
    holdout: list[dict] = field(default_factory=list)  # [{label, predicted, actual, customers}]
    holdout_key: str = ""  # what the holdout bins are: frequency, segment, bin, ...
    gains: list[dict] = field(default_factory=list)  # [{decile, lift, gain, baseline_gain, baseline_lift}]
    calibration: list[dict] = field(default_factory=list)  # [{predicted, observed, count}]
    scalars: list[tuple[str, object]] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)  # key, pretty JSON
    # The purchase model's choice between BG/NBD and MBG/NBD (metrics.selection): [{code, name, chosen, ratio,
    # mae, rmse, correlation, log_likelihood}], the chosen one first, and the criterion.
    candidates: list[dict] = field(default_factory=list)
    criterion: str = ""

    def charts(self) -> dict:
        return {"holdout": self.holdout, "holdout_key": self.holdout_key, "gains": self.gains,
                "calibration": self.calibration, "auc": self.auc, "baseline_auc": self.baseline_auc}

    @property
    def has_charts(self) -> bool:
        return bool(self.holdout or self.gains or self.calibration)


HOLDOUT_LABEL = ("frequency", "segment", "bin", "decile", "quintile", "label", "bucket", "x", "purchases")
HOLDOUT_PREDICTED = ("predicted", "expected", "pred", "predicted_mean", "predicted_purchases")
HOLDOUT_ACTUAL = ("actual", "observed", "actual_mean", "actual_purchases")
COUNT_KEYS = ("customers", "count", "n", "size")
GAIN_KEYS = ("captured", "cumulative_gain", "gain", "cum_gain", "cumulative")
BASELINE_GAIN_KEYS = ("baseline_captured", "baseline_cumulative_gain", "baseline_gain", "baseline")
CAL_PREDICTED = ("predicted", "mean_predicted", "pred", "p", "predicted_mean")
CAL_OBSERVED = ("observed", "actual", "observed_rate", "rate", "fraction_positive", "actual_rate")


def _rows(value) -> list:
    """A list of dicts from a list, a {"bins": [...]} dict, or a dict of parallel lists."""
    if isinstance(value, dict):
        for key in ("bins", "rows", "deciles", "points", "data"):
            if isinstance(value.get(key), list):
                return _rows(value[key])
        lists = {k: v for k, v in value.items() if isinstance(v, list)}
        if lists and len({len(v) for v in lists.values()}) == 1:
            n = len(next(iter(lists.values())))
            return [{k: v[i] for k, v in lists.items()} for i in range(n)]
        return []
    return list(value) if isinstance(value, list) else []


def _holdout(value) -> tuple[list[dict], str]:
    """Rows {label, predicted, actual, customers} and the key the bins were labelled by (frequency, segment…)."""
    out, key_used = [], ""
    for i, row in enumerate(_rows(value)):
        if not isinstance(row, dict):
            continue
        predicted, actual = _num(_first(row, *HOLDOUT_PREDICTED)), _num(_first(row, *HOLDOUT_ACTUAL))
        if predicted is None and actual is None:
            continue
        key = next((k for k in HOLDOUT_LABEL if row.get(k) is not None), "")
        key_used = key_used or key
        label = str(row[key]) if key else str(i)
        if key == "segment":
            label = segment_label(label)
        out.append({"label": label, "predicted": predicted, "actual": actual,
                    "customers": _num(_first(row, *COUNT_KEYS))})
    return out, key_used


def _gains(value, baseline=None) -> list[dict]:
    rows = _rows(value)
    base_rows = _rows(baseline) if baseline is not None else []
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, dict):
            gain, lift = _num(_first(row, *GAIN_KEYS)), _num(row.get("lift"))
            decile = _num(row.get("decile"))
            base = _num(_first(row, *BASELINE_GAIN_KEYS))
            base_lift = _num(row.get("baseline_lift"))
        else:
            gain, lift, decile, base, base_lift = _num(row), None, None, None, None
        if base is None and i < len(base_rows):
            b = base_rows[i]
            base = _num(_first(b, *GAIN_KEYS)) if isinstance(b, dict) else _num(b)
        if gain is None and lift is None:
            continue
        out.append({"decile": int(decile) if decile is not None else i + 1, "gain": gain, "lift": lift,
                    "baseline_gain": base, "baseline_lift": base_lift})
    return out


def _calibration(value) -> list[dict]:
    out = []
    for row in _rows(value):
        if not isinstance(row, dict):
            continue
        predicted, observed = _num(_first(row, *CAL_PREDICTED)), _num(_first(row, *CAL_OBSERVED))
        if predicted is None or observed is None:
            continue
        out.append({"predicted": predicted, "observed": observed, "count": _num(_first(row, *COUNT_KEYS))})
    return out


CHART_KEYS = {"holdout", "gains", "baseline_gains", "lift", "calibration"}


def _candidates(selection) -> tuple[list[dict], str]:
    """The purchase models compared on the holdout (pipeline.btyd_models' metrics.selection), chosen first."""
    if not isinstance(selection, dict) or not isinstance(selection.get("candidates"), dict):
        return [], ""
    chosen = selection.get("chosen")
    rows = []
    for code, figures in selection["candidates"].items():
        if not isinstance(figures, dict):
            continue
        rows.append({"code": code, "name": labels.label("analytics.purchase_model", code), "chosen": code == chosen,
                     **{k: _num(figures.get(k)) for k in ("ratio", "mae", "rmse", "correlation", "log_likelihood")}})
    rows.sort(key=lambda r: (not r["chosen"], r["code"]))
    return rows, glossary.text("bgnbd", "criterion", selection.get("criterion"))


def validation(metrics) -> Validation:
    """Reshape a ModelRun's metrics for the model page (docs/analytics-ui.md lists the shapes it reads). Keys it
    does not know are still shown: numbers in the figures table, anything else as JSON."""
    v = Validation()
    if not isinstance(metrics, dict):
        return v
    v.auc = _num(_first(metrics, "auc", "holdout_auc"))
    v.baseline_auc = _num(_first(metrics, "baseline_auc", "recency_auc", "baseline_holdout_auc"))
    v.lift_top_decile = _num(metrics.get("lift_top_decile"))
    v.baseline_lift_top_decile = _num(metrics.get("baseline_lift_top_decile"))
    v.holdout, v.holdout_key = _holdout(metrics.get("holdout"))
    gains_source = metrics.get("gains") if metrics.get("gains") is not None else metrics.get("lift")
    if not isinstance(gains_source, list | dict):
        gains_source = None
    v.gains = _gains(gains_source, metrics.get("baseline_gains")) if gains_source is not None else []
    v.calibration = _calibration(metrics.get("calibration"))
    v.candidates, v.criterion = _candidates(metrics.get("selection"))
    known = {"auc", "holdout_auc", "baseline_auc", "recency_auc", "baseline_holdout_auc", "lift_top_decile",
             "baseline_lift_top_decile", "selection"}
    if isinstance(metrics.get("holdout"), dict):
        for key, value in metrics["holdout"].items():
            if _num(value) is not None:
                v.scalars.append((f"holdout.{key}", value))
    for key, value in metrics.items():
        if key in known:
            continue
        if key in CHART_KEYS and (key != "lift" or gains_source is value):
            continue
        if isinstance(value, bool | int | float | str) or value is None:
            v.scalars.append((key, value))
        else:
            v.other.append((key, json.dumps(value, ensure_ascii=False, indent=1, default=str)[:4000]))
    return v
