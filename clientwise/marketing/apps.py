from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions
from clientwise.marketing.perms import VIEW_MARKETING


class MarketingConfig(AppConfig):
    """Marketing: audiences over the pivot engine's customer dimensions, campaigns with A/B variants and a holdout
    control group, delivery through provider adapters that respects consent, caps and quiet hours, measured lift
    (docs/marketing.md)."""

    name = "clientwise.marketing"
    label = "marketing"
    verbose_name = "Marketing"

    def ready(self):
        # These modules import models, which load once the app registry is ready.
        from clientwise.marketing import notices, personal_data, tasks

        notices.register()
        extensions.register_periodic("campaign_sender", _("Campaign sending"), tasks.ensure_senders)
        extensions.register_personal_data("marketing", _("Campaign messages"), export=personal_data.export,
                                          erase=personal_data.erase, order=45)
        extensions.register_nav("marketing", _("Marketing"), "marketing:index", "megaphone", perm=VIEW_MARKETING,
                                order=35)
