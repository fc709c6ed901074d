"""Data quality's codes in words (core/labels.py): its audit action."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import labels


def register() -> None:
    labels.register("audit.action", {"quality.run": _("Data quality checked")})
    labels.register("model", {
        "quality.qualityrun": _("Data quality check"),
    })
