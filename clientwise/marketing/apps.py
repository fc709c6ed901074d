from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    """Marketing: audiences over the pivot engine's customer dimensions, campaigns with A/B variants and a holdout
    control group, delivery through provider adapters that respects consent, caps and quiet hours, measured lift
    (docs/marketing.md)."""

    name = "clientwise.marketing"
    label = "marketing"
    verbose_name = "Marketing"

    def ready(self):
        from clientwise.core import extensions
        from clientwise.marketing.perms import VIEW_MARKETING

        extensions.register_nav("marketing", _("Marketing"), "marketing:index", "megaphone", perm=VIEW_MARKETING,
                                order=35)
