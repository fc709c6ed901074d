"""What marketing holds about a person, for data-subject requests (core.extensions.register_personal_data; the
privacy app runs it): the campaign messages sent to them (address, text, outcome) and the delivery reports about
those messages. Erasure blanks the address, subject, text and error of each message and the reports' payloads,
and keeps the facts the measurement needs (that a message of a campaign and variant was sent, when, its outcome)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.marketing.models import Message, ProviderEvent
from clientwise.privacy.sections.base import table


def export(subject) -> list[dict]:
    ids = subject.customer_ids
    messages = Message.objects.filter(customer_id__in=ids).select_related("campaign").order_by("created_at", "id")
    return [table("campaign_messages", _("Campaign messages"), messages, [
        ("campaign", _("Campaign"), lambda m: m.campaign.name), "channel", "state", "reason", "address",
        "subject", "body", "sent_at", "delivery"], model=Message)]


def erase(erasure) -> None:
    ids = list(erasure.subject.customer_ids)
    messages = Message.objects.filter(customer_id__in=ids)
    erasure.touch("marketing.message", messages.values_list("pk", flat=True))
    erasure.count("marketing.messages_blanked", messages.update(address="", subject="", body="", error=""))
    erasure.count("marketing.reports_blanked", ProviderEvent.objects.filter(customer_id__in=ids).update(payload={}))
