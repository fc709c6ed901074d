"""Analytics: the scores computed about the person (RFM, churn risk, lifetime value, next purchase, value tier,
recommendations) in every scoring batch, and scores of models trained on own labels. Erasure deletes them: they
are a profile of the person. The Parquet snapshots they were computed from are handled after the commit
(privacy.files)."""

from __future__ import annotations

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from clientwise.analytics import dashboards
from clientwise.analytics.models import CustomerScore, LabelScore, ScoringBatch
from clientwise.core import labels
from clientwise.privacy.sections.base import Col, percent, table


def _cards(rows: list[CustomerScore]) -> dict[int, dashboards.ScoreCard]:
    """Each score row read as the customer page reads it (reasons in words, categories and products by name)."""
    batches = {b.pk: b for b in ScoringBatch.objects.filter(pk__in={r.batch_id for r in rows})}
    contexts = {pk: dashboards.churn_context(b) for pk, b in batches.items()}
    return {r.pk: dashboards.score_card(r, batches.get(r.batch_id), context=contexts.get(r.batch_id))
            for r in rows}


def export(subject) -> list[dict]:
    ids = subject.customer_ids
    rows = list(CustomerScore.objects.filter(customer_id__in=ids).order_by("as_of", "id"))
    cards = _cards(rows)

    def card(attr: str, fn):
        return lambda row: fn(getattr(cards[row.pk], attr))

    scores = table("scores", _("Scores"), rows, [
        "as_of", Col("rfm_r", _("RFM: recency score")), Col("rfm_f", _("RFM: frequency score")),
        Col("rfm_m", _("RFM: monetary score")),
        Col("rfm_segment", show=lambda row: labels.label("analytics.rfm_segment", row.rfm_segment)),
        Col("frequency", labels.label("analytics.feature", "frequency")),
        Col("recency", labels.label("analytics.feature", "recency_days")),
        Col("age", labels.label("analytics.feature", "T_days")), "monetary",
        Col("p_alive", show=lambda row: percent(row.p_alive)), "expected_purchases", "expected_spend", "clv",
        Col("churn_probability", show=lambda row: percent(row.churn_probability)),
        Col("churn_reasons", _("Why at risk"), show=card("reasons", lambda rs: [r.text for r in rs])),
        "value_at_risk", "next_purchase_on",
        Col("next_purchase_categories", _("Next purchase by category"), show=card(
            "next_purchase_categories", lambda cs: [f"{c.name} {c.date.isoformat() if c.date else ''}".strip()
                                                    for c in cs])),
        "value_tier", "immediate_value", "potential_value",
        Col("share_of_wallet", show=lambda row: percent(row.share_of_wallet)),
        Col("recommendations", _("Recommended products"), show=card(
            "recommendations", lambda rs: [gettext("%(product)s (%(why)s)") % {"product": r.name, "why": r.reason}
                                           if r.reason else r.name for r in rs])),
        "next_action",
    ], model=CustomerScore)
    label_scores = table("label_scores", _("Scores of own-label models"), LabelScore.objects.filter(
        customer_id__in=ids).select_related("label_model").order_by("scored_at", "id"), [
        ("model", pgettext_lazy("export column", "Model"), lambda s: s.label_model.name), Col("probability", show=lambda s: percent(s.probability)),
        Col("scored_at", pgettext_lazy("export column", "Scored")),
    ], model=LabelScore)
    return [scores, label_scores]


def erase(erasure) -> None:
    ids = list(erasure.subject.customer_ids)
    erasure.count("analytics.scores_deleted", CustomerScore.objects.filter(customer_id__in=ids).delete()[0])
    erasure.count("analytics.label_scores_deleted", LabelScore.objects.filter(customer_id__in=ids).delete()[0])
