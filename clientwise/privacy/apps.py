from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions
from clientwise.privacy import rules
from clientwise.privacy.perms import MANAGE_PRIVACY


class PrivacyConfig(AppConfig):
    """Data-subject rights (PIPL / GDPR): the request log with deadlines, access export, consent withdrawal and
    erasure across every app (docs/privacy.md)."""

    name = "clientwise.privacy"
    label = "privacy"
    verbose_name = "Privacy"

    def ready(self):
        # These modules import models, which load once the app registry is ready.
        from clientwise.privacy import queries
        from clientwise.privacy.sections import register_built_in

        extensions.register_nav("privacy", _("Data-subject requests"), "privacy:list", "shield-lock",
                                perm=MANAGE_PRIVACY, order=80)
        extensions.register_customer_panel("privacy/_customer_panel.html", queries.customer_panel, order=5)
        register_built_in()
        checks.register(check_settings, checks.Tags.compatibility)


def check_settings(app_configs=None, **kwargs):
    """PRIVACY_RESPONSE_DEADLINE must parse (privacy.rules.parse_deadline)."""
    try:
        rules.parse_deadline(getattr(settings, "PRIVACY_RESPONSE_DEADLINE", rules.DEFAULT_DEADLINE))
    except ValueError as exc:
        return [checks.Error(str(exc), id="privacy.E001")]
    return []
