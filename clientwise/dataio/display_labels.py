"""Data import and export codes in words (core/labels.py): audit actions, import kinds."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import labels
from clientwise.dataio.mapping import TARGETS


def register() -> None:
    labels.register("audit.action", {
        "import.": _("Imports: any"),
        "import.upload": _("Import file uploaded"), "import.queue": _("Import queued"),
        "import.batch": _("Import batch loaded"), "import.replay": _("Quarantined rows replayed"),
        "import.mapping": _("Column mapping saved"), "import.grid": _("Rows entered in a grid"),
    })
    labels.register("errors.code", {
        "job_busy": _("Import already running"), "not_an_error_file": _("Not this import's error file"),
        "bad_mapping": _("Column mapping incomplete"), "undecodable": _("Unreadable text encoding"),
        "unsupported_format": _("Unsupported file format"), "empty_file": _("Empty file"),
        "bad_file": _("Damaged file"), "unreadable_row": _("Unreadable row"),
        "order_incomplete": _("Another line of the order failed"), "ambiguous_reference": _("Ambiguous reference"),
        "order_conflict": _("Order already imported differently"),
    })

    # An import field by its name (customer_mobile → 客户手机), as the mapping step names it.
    fields = {}
    for targets in TARGETS.values():
        for t in targets:
            fields.setdefault(t.name, t.label)
    labels.register("dataio.field", fields)
    labels.register("model", {
        "dataio.importjob": _("Import"),
        "dataio.quarantinedrow": _("Quarantined row"),
        "dataio.mappingtemplate": _("Column mapping"),
    })
