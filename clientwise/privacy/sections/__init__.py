"""The personal-data sections of the apps Clientwise ships, registered by the privacy app (apps.py) for each of
those apps that is installed. Each module holds one app's `export(subject)` and `erase(erasure)`; an app may
instead register its own section from its AppConfig.ready() (core.extensions.register_personal_data).
"""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions

# (module, label, order, the app that must be installed)
BUILT_IN = (
    ("customers", _("Profile, contacts, consent and timeline"), 10, "clientwise.customers"),
    ("commerce", _("Purchases"), 20, "clientwise.commerce"),
    ("sales", _("Sales"), 30, "clientwise.sales"),
    ("service", _("Service"), 40, "clientwise.service"),
    ("analytics", _("Scores and predictions"), 50, "clientwise.analytics"),
    ("dataio", _("Imports, duplicates and data quality"), 60, "clientwise.dataio"),
    ("notifications", _("Notifications to staff"), 70, "clientwise.notifications"),
    ("requests", _("Data-subject requests"), 80, "clientwise.privacy"),
    ("audit", _("Audit log"), 90, "clientwise.core"),
)


def register_built_in() -> None:
    import importlib

    for name, label, order, app in BUILT_IN:
        if not apps.is_installed(app):
            continue
        module = importlib.import_module(f"clientwise.privacy.sections.{name}")
        extensions.register_personal_data(name, label, export=module.export, erase=module.erase, order=order)
