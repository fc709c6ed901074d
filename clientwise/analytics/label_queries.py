"""Reads of models trained on own labels, shared by the page, the API and the CLI. Scores follow their customer's
visibility: every list or count of LabelScore rows goes through `customers.queries.visible_customers`."""

from __future__ import annotations

import numpy as np
from django.db.models import QuerySet

from clientwise.analytics.models import LabelModel, LabelScore
from clientwise.core.errors import NotFound
from clientwise.customers.queries import visible_customers


def label_models() -> QuerySet[LabelModel]:
    return LabelModel.objects.select_related("actor").order_by("-created_at", "-id")


def get_label_model(pk: int | str) -> LabelModel:
    try:
        return label_models().get(pk=int(pk))
    except (LabelModel.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such model.") from None


def get_label_model_by_name(name: str) -> LabelModel:
    try:
        return label_models().get(name=name)
    except LabelModel.DoesNotExist:
        raise NotFound(f"No model named {name!r}.") from None


def visible_label_scores(user, model: LabelModel) -> QuerySet[LabelScore]:
    """The model's scores of customers `user` may see (all of them for user None: the CLI), highest first."""
    qs = LabelScore.objects.filter(label_model=model)
    if user is not None:
        qs = qs.filter(customer__in=visible_customers(user))
    return qs.order_by("-probability", "-id")


def probability_bands(user, model: LabelModel) -> list[dict]:
    """Visible customers per tenth of probability (0-0.1, ..., 0.9-1.0)."""
    probs = np.fromiter(visible_label_scores(user, model).values_list("probability", flat=True), dtype=float)
    counts = np.bincount(np.clip((probs * 10).astype(int), 0, 9), minlength=10)
    return [{"lower": i / 10, "upper": (i + 1) / 10, "customers": int(c)} for i, c in enumerate(counts)]
