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
        from clientwise.marketing import notices
        from clientwise.marketing.perms import VIEW_MARKETING

        notices.register()
        from clientwise.marketing import tasks

        extensions.register_periodic("campaign_sender", _("Campaign sending"), tasks.ensure_senders)
        from clientwise.marketing import personal_data

        extensions.register_personal_data("marketing", _("Campaign messages"), export=personal_data.export,
                                          erase=personal_data.erase, order=45)
        extensions.register_nav("marketing", _("Marketing"), "marketing:index", "megaphone", perm=VIEW_MARKETING,
                                order=35)
