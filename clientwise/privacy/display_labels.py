"""Data-subject requests' codes in words (core/labels.py): the audit actions, the record type, the personal-data
sections an export counts rows of and the counts an erasure records."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions, labels
from clientwise.privacy.models import SubjectRequest
from clientwise.privacy.sections import COUNT_LABELS


def register() -> None:
    labels.register("audit.action", {
        "privacy.": _("Data-subject requests: any"),
        "privacy.request": _("Data-subject request logged"),
        "privacy.start": _("Data-subject request taken on"),
        "privacy.reject": _("Data-subject request rejected"),
        "privacy.complete": _("Data-subject request done"),
        "privacy.export": _("Personal data exported for a request"),
        "privacy.withdraw_consent": _("All consent withdrawn for a request"),
        "privacy.erase": _("Personal data erased"),
        "privacy.erase_files": _("Files of an erasure cleaned up"),
        "privacy.retry_files": _("File clean-up started again"),
    })
    labels.register("model", {"privacy.subjectrequest": _("Data-subject request")})
    labels.register("privacy.request.kind", SubjectRequest.Kind)
    labels.register("privacy.request.status", SubjectRequest.Status)
    # privacy.export's detail "rows": rows exported per section; privacy.erase's "counts": what the erasure did.
    labels.register("audit.detail.rows", {s.key: s.label for s in extensions.PERSONAL_DATA})
    labels.register("audit.detail.counts", COUNT_LABELS)
