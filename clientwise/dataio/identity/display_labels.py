"""Identity resolution's codes in words (core/labels.py): comparison levels and its audit actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import labels
from clientwise.dataio.identity.presentation import LEVEL_LABELS


def register() -> None:
    labels.register("identity.level", LEVEL_LABELS)
    labels.register("audit.action", {"duplicate.reject": _("Marked as not duplicates")})
    labels.register("model", {
        "identity.duplicatecandidate": _("Possible duplicate"),
        "identity.mergerecord": _("Merge"),
        "identity.deduprun": _("Duplicate search"),
    })
