"""Core's codes in words (core/labels.py): roles, the sources Clientwise writes, the audit trail's generic parts."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import audit_display, labels, permissions


def register() -> None:
    audit_display.register()
    labels.register("role", permissions.ROLE_LABELS)
    # Where a row came from (`source` on imported rows, consents): the systems Clientwise itself names. Sources an
    # installation names itself (pos-shanghai) are shown as typed.
    labels.register("source", {
        "demo": _("Demo data"), "grid": _("Entry grid"), "staff": _("Entered by staff"),
        "registration": _("Registration"), "import": _("Import"), "web": _("Website"), "pos": _("Point of sale"),
    })
    labels.register("audit.action", {"export.": _("Exports: any")})
    # Error codes (core.errors.ErrorCode) where a page lists them: the quarantine of an import, its error counts.
    labels.register("errors.code", {
        "invalid": _("Invalid value"), "required": _("Missing"), "not_found": _("Not found"),
        "permission_denied": _("Not allowed"), "not_authenticated": _("Not signed in"), "conflict": _("Conflict"),
        "duplicate": _("Duplicate"), "invalid_phone": _("Invalid phone number"),
        "invalid_email": _("Invalid e-mail address"), "invalid_date": _("Invalid date"),
        "invalid_amount": _("Invalid amount"), "unknown_reference": _("Unknown reference"),
        "idempotency_key_reused": _("Request key reused"), "throttled": _("Too many requests"),
        "invalid_cursor": _("Invalid page"),
    })
