"""Marketing: audiences (dynamic rules or static lists), campaigns with A/B variants and a holdout control group,
the frozen members of each send, one message row per (campaign, customer, variant), delivery receipts.

ARCHITECTURE §8: audiences are rules over the pivot engine's customer dimensions, evaluated set-wise and frozen per
send; holdouts by a salted hash of the customer id; every message has an idempotency key and an outcome (sent, or
not sent with its reason); consent is checked when the message goes out.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.core.models import TimeStampedModel


def new_salt() -> str:
    return secrets.token_hex(16)


class Audience(TimeStampedModel):
    """A set of customers to act on: a dynamic rule (evaluated whenever it is counted or frozen, so it follows the
    data) or a static list of customers (uploaded, or saved from the customer list or a score list).

    `rule` is the audience rule (marketing/rules.py: the pivot engine's filters on the customers fact, plus score
    ranges, tags, consent and purchases within N days). A static audience keeps in `rule` what it was saved from,
    for the record; its members are AudienceMember rows."""

    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", _("Rule")
        STATIC = "static", _("Fixed list")

    class Origin(models.TextChoices):
        RULE = "rule", _("Rule")
        UPLOAD = "upload", _("Uploaded list")
        CUSTOMER_LIST = "customer_list", _("Customer list filter")
        SCORES = "scores", _("Score list (RFM cell, churn list)")

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True, default="")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.DYNAMIC)
    origin = models.CharField(_("made from"), max_length=14, choices=Origin.choices, default=Origin.RULE)
    rule = models.JSONField(_("rule"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    member_count = models.IntegerField(_("customers in the list"), default=0)  # static lists
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    """A customer on a static audience list."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="members", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["audience", "customer"], name="audience_member_unique")]

    def __str__(self) -> str:
        return f"{self.audience_id}: {self.customer_id}"


class Campaign(TimeStampedModel):
    """One send to an audience on one channel, with A/B variants and a holdout control group.

    Life: draft → (pending approval → approved, when larger than MARKETING_APPROVAL_SIZE) → launched (members
    frozen, control group drawn; waits for `scheduled_at`) → sending → sent; cancelled from any state before sent.
    The control group is drawn by stats.assign_holdout with the salt `"<id>:<salt>"`, so it is reproducible and
    never changes once drawn."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")
        WECHAT = "wechat", _("WeChat template message")
        CALL_LIST = "call_list", _("Call list (tasks for the owners)")
        DIRECT_MAIL = "direct_mail", _("Direct mail (print file)")

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("campaign status", "Draft")
        PENDING_APPROVAL = "pending", _("Waiting for approval")
        APPROVED = "approved", pgettext_lazy("campaign status", "Approved")
        LAUNCHED = "launched", pgettext_lazy("campaign status", "Launched")
        SENDING = "sending", pgettext_lazy("campaign status", "Sending")
        SENT = "sent", pgettext_lazy("campaign status", "Sent")
        CANCELLED = "cancelled", pgettext_lazy("campaign status", "Cancelled")

    class Strata(models.TextChoices):
        NONE = "", _("No stratification")
        VALUE_TIER = "value_tier", _("Value tier")
        RFM_SEGMENT = "rfm_segment", _("RFM segment")

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True, default="")
    audience = models.ForeignKey(Audience, on_delete=models.PROTECT, related_name="campaigns",
                                 verbose_name=_("audience"))
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    # The consent purpose checked at send time (customers.Consent.Purpose).
    purpose = models.CharField(_("consent purpose"), max_length=12, default="marketing")
    language = models.CharField(_("default language"), max_length=10, default="zh-hans")
    control_share = models.FloatField(_("control group share"), default=0.10)
    stratify_by = models.CharField(_("stratify the control group by"), max_length=12, choices=Strata.choices,
                                   blank=True, default="")
    salt = models.CharField(max_length=32, default=new_salt, editable=False)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    estimated_size = models.IntegerField(_("audience size when submitted"), null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.CharField(max_length=300, blank=True, default="")
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    member_count = models.IntegerField(default=0)
    control_count = models.IntegerField(default=0)
    srm_p_value = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(control_share__gte=0) & Q(control_share__lt=1),
                                   name="campaign_control_share_range"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def holdout_salt(self) -> str:
        return f"{self.pk}:{self.salt}"

    @property
    def editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.PENDING_APPROVAL, self.Status.APPROVED)


class Variant(models.Model):
    """One version of a campaign's content (A/B): the share of the treated customers it goes to and its text in
    Chinese and English. Text may use personal fields ({{ name }}, {{ tier }}, {{ product }}, …: rules.FIELDS)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    key = models.CharField(_("variant"), max_length=8)
    weight = models.PositiveSmallIntegerField(_("share of the treated customers (%)"), default=100)
    subject_zh = models.CharField(_("subject (Chinese)"), max_length=200, blank=True, default="")
    subject_en = models.CharField(_("subject (English)"), max_length=200, blank=True, default="")
    body_zh = models.TextField(_("text (Chinese)"), blank=True, default="")
    body_en = models.TextField(_("text (English)"), blank=True, default="")

    class Meta:
        ordering = ["campaign", "key"]
        constraints = [models.UniqueConstraint(fields=["campaign", "key"], name="variant_unique_key")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.key}"


class CampaignMember(models.Model):
    """The frozen audience of one campaign: who was in it at launch, treated (with their variant) or held out.
    Written once, set-wise, by the launch; never changed afterwards (measurement compares these two groups)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_control = models.BooleanField(default=False)
    stratum = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_member_unique")]
        indexes = [models.Index(fields=["customer"], name="campaign_member_customer")]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.customer_id}{' (control)' if self.is_control else ''}"


class Message(models.Model):
    """One message of a campaign to one customer: its idempotency key (campaign, customer, variant), its outcome
    (sent, or not sent with the reason) and what the provider said afterwards (delivered, bounced).

    The sender claims pending rows by state (pending → sending, with a claim token) in batches; the provider call is
    keyed by `idempotency_key`, so a run killed after the provider accepted a message but before the row said so
    resends nothing: the resumed run asks again with the same key and the provider answers with the first result."""

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("message state", "Waiting")
        SENDING = "sending", pgettext_lazy("message state", "Sending")
        DEFERRED = "deferred", pgettext_lazy("message state", "Deferred")
        SENT = "sent", pgettext_lazy("message state", "Sent")
        NOT_SENT = "not_sent", pgettext_lazy("message state", "Not sent")

    class Reason(models.TextChoices):
        NONE = "", "—"
        CONTROL = "control", _("Control group")
        NO_CONSENT = "no_consent", _("No consent")
        CAPPED = "capped", _("Frequency cap reached")
        QUIET_HOURS = "quiet_hours", _("Quiet hours")
        INVALID_CONTACT = "invalid_contact", _("No valid contact")
        BOUNCED = "bounced", _("Address bounced")
        PROVIDER_ERROR = "provider_error", _("Provider refused")
        CANCELLED = "cancelled", _("Campaign cancelled")

    class Delivery(models.TextChoices):
        NONE = "", "—"
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        FAILED = "failed", _("Delivery failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=12, choices=Campaign.Channel.choices)
    idempotency_key = models.CharField(max_length=80, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    reason = models.CharField(max_length=16, choices=Reason.choices, blank=True, default="")
    not_before = models.DateTimeField(null=True, blank=True)  # deferred by quiet hours until then
    claim = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    address = models.CharField(max_length=300, blank=True, default="")
    language = models.CharField(max_length=10, blank=True, default="")
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField(blank=True, default="")
    provider = models.CharField(max_length=20, blank=True, default="")
    provider_message_id = models.CharField(max_length=100, blank=True, default="")
    error = models.CharField(max_length=300, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "state"], name="message_campaign_state"),
            # Frequency caps count a customer's messages sent in a window, across campaigns.
            models.Index(fields=["customer", "sent_at"], name="message_customer_sent",
                         condition=Q(state="sent")),
            models.Index(fields=["provider", "provider_message_id"], name="message_provider_id"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class ProviderEvent(models.Model):
    """A delivery receipt, bounce or unsubscribe a provider reported through a signed webhook. Unique per provider
    event id, so a provider retrying its webhook changes nothing twice."""

    class Kind(models.TextChoices):
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        FAILED = "failed", _("Delivery failed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=14, choices=Kind.choices)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", db_index=False)
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_unique")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id} {self.kind}"
