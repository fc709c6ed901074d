"""Analytics: the scores computed about the person (RFM, churn risk, lifetime value, next purchase, value tier,
recommendations) in every scoring batch, and scores of models trained on own labels. Erasure deletes them: they
are a profile of the person. The Parquet snapshots they were computed from are handled after the commit
(privacy.files)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.analytics.models import CustomerScore, LabelScore
from clientwise.privacy.sections.base import table


def export(subject) -> list[dict]:
    ids = subject.customer_ids
    scores = table("scores", _("Scores"), CustomerScore.objects.filter(customer_id__in=ids).order_by("as_of", "id"), [
        "as_of", "rfm_r", "rfm_f", "rfm_m", "rfm_segment", "frequency", "recency", "age", "monetary", "p_alive",
        "expected_purchases", "expected_spend", "clv", "churn_probability", "churn_reasons", "value_at_risk",
        "next_purchase_on", "next_purchase_categories", "value_tier", "immediate_value", "potential_value",
        "share_of_wallet", "recommendations", "next_action",
    ], model=CustomerScore)
    labels = table("label_scores", _("Scores of own-label models"), LabelScore.objects.filter(
        customer_id__in=ids).select_related("label_model").order_by("scored_at", "id"), [
        ("model", _("model"), lambda s: s.label_model.name), "probability", "scored_at",
    ], model=LabelScore)
    return [scores, labels]


def erase(erasure) -> None:
    ids = list(erasure.subject.customer_ids)
    erasure.count("analytics.scores_deleted", CustomerScore.objects.filter(customer_id__in=ids).delete()[0])
    erasure.count("analytics.label_scores_deleted", LabelScore.objects.filter(customer_id__in=ids).delete()[0])
