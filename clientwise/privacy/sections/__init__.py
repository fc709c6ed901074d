"""The personal-data sections of the apps Clientwise ships, registered by the privacy app (apps.py) for each of
those apps that is installed. Each module holds one app's `export(subject)` and `erase(erasure)`; an app may
instead register its own section from its AppConfig.ready() (core.extensions.register_personal_data).
"""

from __future__ import annotations

import importlib

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


# What the counts an erasure records (Erasure.count) mean, for the request page. A key without a label (a section
# registered by another app) is shown as it is.
COUNT_LABELS = {
    "customers.customers": _("Customer records anonymised and archived"),
    "customers.contact_points_deleted": _("Contact points deleted"),
    "customers.tags_removed": _("Tags removed"),
    "customers.timeline_rows_blanked": _("Timeline entries blanked"),
    "customers.consents_withdrawn": _("Consent decisions recorded as withdrawn"),
    "commerce.return_reasons_blanked": _("Return reasons blanked"),
    "sales.leads": _("Leads anonymised"),
    "sales.duplicate_flags_removed": _("Other leads' duplicate flags removed"),
    "sales.opportunities": _("Opportunities anonymised"),
    "sales.activities": _("Calls, meetings and tasks blanked"),
    "sales.notes_deleted": _("Notes deleted"),
    "sales.account_goal_plans": _("Key-account plan notes blanked"),
    "sales.relationship_notes": _("Relationship notes blanked"),
    "sales.account_roles": _("Entries in key-account org charts anonymised"),
    "service.tickets": _("Tickets anonymised"),
    "service.ticket_messages": _("Ticket messages blanked"),
    "service.attachments_deleted": _("Ticket attachments deleted"),
    "service.work_orders": _("Work orders anonymised"),
    "service.survey_comments": _("Survey comments blanked"),
    "analytics.scores_deleted": _("Score rows deleted"),
    "analytics.label_scores_deleted": _("Own-label model scores deleted"),
    "dataio.quality_rows_deleted": _("Data-quality rows deleted"),
    "dataio.pending_pairs_deleted": _("Pending duplicate pairs deleted"),
    "dataio.merge_snapshots_scrubbed": _("Merge records scrubbed"),
    "dataio.quarantined_rows_blanked": _("Rejected import rows blanked"),
    "notifications.scrubbed": _("Staff notifications scrubbed"),
    "audit.rows_scrubbed": _("Audit rows scrubbed"),
}


def register_built_in() -> None:
    for name, label, order, app in BUILT_IN:
        if not apps.is_installed(app):
            continue
        module = importlib.import_module(f"clientwise.privacy.sections.{name}")
        extensions.register_personal_data(name, label, export=module.export, erase=module.erase, order=order)
