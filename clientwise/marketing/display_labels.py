"""Marketing codes in words (core/labels.py): channels, statuses, reasons a message was not sent, audit actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import labels
from clientwise.marketing.models import Audience, Campaign, Message, ProviderEvent


def register() -> None:
    labels.register("marketing.audience.kind", Audience.Kind)
    labels.register("marketing.audience.origin", Audience.Origin)
    labels.register("marketing.channel", Campaign.Channel)
    labels.register("marketing.campaign.status", Campaign.Status)
    labels.register("marketing.campaign.strata", Campaign.Strata)
    labels.register("marketing.message.state", Message.State)
    labels.register("marketing.message.reason", Message.Reason)
    labels.register("marketing.message.delivery", Message.Delivery)
    labels.register("marketing.event.kind", ProviderEvent.Kind)
    labels.register("audit.action", {
        "audience.create": _("Audience created"), "audience.update": _("Audience changed"),
        "audience.archive": _("Audience archived"), "export.audience": _("Audience exported"),
        "campaign.create": _("Campaign created"), "campaign.update": _("Campaign changed"),
        "campaign.submit": _("Campaign submitted for approval"), "campaign.approve": _("Campaign approved"),
        "campaign.reject": _("Campaign sent back"), "campaign.launch": _("Campaign launched"),
        "campaign.cancel": _("Campaign cancelled"), "campaign.sent": _("Campaign sent"),
        "marketing.webhook": _("Delivery report received"),
    })
    labels.register("model", {
        "marketing.audience": _("Audience"), "marketing.campaign": _("Campaign"),
        "marketing.variant": _("Campaign variant"), "marketing.message": _("Campaign message"),
    })
    labels.register("errors.code", {
        "invalid_audience_rule": _("Audience rule not valid"), "empty_audience": _("Nobody in the audience"),
        "campaign_not_editable": _("Campaign can no longer change"),
        "approval_required": _("Needs a manager's approval"), "campaign_state": _("Not possible in this status"),
        "invalid_template": _("Message text does not render"), "invalid_signature": _("Signature does not match"),
        "unknown_message": _("Unknown message"), "provider_not_configured": _("Delivery provider not set up"),
        "list_too_large": _("Customer list too large"),
    })
