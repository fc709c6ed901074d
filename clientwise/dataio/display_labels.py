"""Data import and export codes in words (core/labels.py): audit actions, import kinds."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register() -> None:
    from clientwise.core import labels

    labels.register("audit.action", {
        "import.": _("Imports: any"),
        "import.upload": _("Import file uploaded"), "import.queue": _("Import queued"),
        "import.batch": _("Import batch loaded"), "import.replay": _("Quarantined rows replayed"),
        "import.mapping": _("Column mapping saved"), "import.grid": _("Rows entered in a grid"),
    })
    labels.register("model", {
        "dataio.importjob": _("Import"),
        "dataio.quarantinedrow": _("Quarantined row"),
        "dataio.mappingtemplate": _("Column mapping"),
    })
