"""Analytics codes in words (core/labels.py): models, RFM segments, metrics, churn inputs, audit actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.analytics import glossary
from clientwise.core import labels


def register() -> None:
    glossary.register()
    labels.register("audit.action", {
        "analytics.score": _("Customers scored"),
        "analytics.label_model.train": _("Model trained on own labels"),
        "analytics.label_model.apply": _("Own-label model applied"),
        "analytics.label_model.delete": _("Own-label model deleted"),
    })
    labels.register("model", {
        "analytics.scoringbatch": _("Scoring run"),
        "analytics.modelrun": _("Model run"),
        "analytics.labelmodel": _("Own-label model"),
    })
