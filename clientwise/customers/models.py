"""Customer 360: people and organizations, contact points, consent, tags, custom attributes, timeline."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Right
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.core.models import SourcedModel, TimeStampedModel


def unique_source_key(name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=["source", "external_id"], condition=Q(external_id__isnull=False), name=name)


class Customer(SourcedModel):
    """One customer: a person or an organization. Contacts (people) may belong to an organization.

    Order totals are kept here (maintained by commerce services) so lists can sort and show them without
    aggregating millions of orders. Scores are not columns here: they are rows in analytics.
    """

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANIZATION = "organization", _("Organization")

    class Status(models.TextChoices):
        # A context, so other apps' "Active" (an enabled switch) does not lend its translation here.
        PROSPECT = "prospect", pgettext_lazy("customer status", "Prospect")
        ACTIVE = "active", pgettext_lazy("customer status", "Active")
        INACTIVE = "inactive", pgettext_lazy("customer status", "Inactive")
        LOST = "lost", pgettext_lazy("customer status", "Lost")

    class Gender(models.TextChoices):
        FEMALE = "f", _("Female")
        MALE = "m", _("Male")
        UNKNOWN = "", _("Unknown")

    class Area(models.TextChoices):
        URBAN = "urban", _("Urban")
        RURAL = "rural", _("Rural")
        UNKNOWN = "", _("Unknown")

    class IncomeBand(models.TextChoices):
        LOW = "low", _("Low")
        LOWER_MIDDLE = "lower_middle", _("Lower middle")
        UPPER_MIDDLE = "upper_middle", _("Upper middle")
        HIGH = "high", _("High")
        UNKNOWN = "", _("Unknown")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.PERSON)
    organization = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts",
                                     limit_choices_to={"kind": "organization"}, verbose_name=_("organization"))
    name = models.CharField(_("name"), max_length=200)
    name_pinyin = models.CharField(_("name in pinyin"), max_length=200, blank=True, default="")
    name_initials = models.CharField(_("initials in pinyin"), max_length=60, blank=True, default="")
    member_number = models.CharField(_("member number"), max_length=40, null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_customers", verbose_name=_("owner"))
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="customers", verbose_name=_("team"))
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True, default="")
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    occupation = models.CharField(_("occupation"), max_length=100, blank=True, default="")
    income_band = models.CharField(_("income band"), max_length=20, choices=IncomeBand.choices, blank=True, default="")
    urban_rural = models.CharField(_("urban or rural"), max_length=5, choices=Area.choices, blank=True, default="")
    id_number = models.CharField(_("ID number"), max_length=30, blank=True, default="")
    industry = models.CharField(_("industry"), max_length=100, blank=True, default="")
    province = models.CharField(_("province"), max_length=40, blank=True, default="")
    city = models.CharField(_("city"), max_length=60, blank=True, default="")
    # Primary contact points, copied from ContactPoint by the service for lists and search results.
    mobile = models.CharField(_("mobile"), max_length=20, blank=True, default="")
    email = models.CharField(_("email"), max_length=254, blank=True, default="")
    custom = models.JSONField(_("custom attributes"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True, default="")
    archived_at = models.DateTimeField(null=True, blank=True)
    # When the customer relationship began (registration, card opened, first seen), as the source system knows
    # it; null when unknown. Not the row's created_at: an import creates the row on the import day. Analytics
    # start a customer's history at the earlier of this and the first order (docs/analytics.md).
    customer_since = models.DateField(_("customer since"), null=True, blank=True)
    # The record's own created / last-updated times in the system it was imported from (null: not given).
    source_created_at = models.DateTimeField(_("created in source"), null=True, blank=True)
    source_updated_at = models.DateTimeField(_("updated in source"), null=True, blank=True)

    tags = models.ManyToManyField("Tag", through="CustomerTag", related_name="customers", blank=True)

    class Meta:
        constraints = [
            unique_source_key("customer_unique_source_key"),
            models.UniqueConstraint(fields=["member_number"], condition=Q(member_number__isnull=False),
                                    name="customer_unique_member_number"),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="customer_name"),
            models.Index(fields=["name_pinyin"], name="customer_pinyin"),
            models.Index(fields=["name_pinyin", "id"], name="customer_pinyin_sort"),
            models.Index(fields=["name_initials"], name="customer_initials"),
            models.Index(fields=["email"], name="customer_email"),
            models.Index(fields=["city", "id"], name="customer_city"),
            models.Index(fields=["status", "id"], name="customer_status"),
            models.Index(fields=["created_at", "id"], name="customer_created"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:  # every customer has its purchase totals row (CustomerStats)
            CustomerStats.objects.bulk_create([CustomerStats(customer_id=self.pk)], ignore_conflicts=True)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    # Purchase totals live in CustomerStats (one narrow row per customer); these read them, zero when the row is
    # missing. Querysets that show them use select_related("stats"); filters and sorts use stats__<field>.
    @property
    def purchase_stats(self) -> CustomerStats:
        try:
            return self.stats
        except CustomerStats.DoesNotExist:
            return CustomerStats(customer_id=self.pk)

    @property
    def order_count(self) -> int:
        return self.purchase_stats.order_count

    @property
    def revenue(self) -> Decimal:
        return self.purchase_stats.revenue

    @property
    def first_order_at(self):
        return self.purchase_stats.first_order_at

    @property
    def last_order_at(self):
        return self.purchase_stats.last_order_at


class CustomerStats(models.Model):
    """A customer's purchase totals, kept by commerce as orders are written, cancelled, returned and merged.

    One row per customer, made with it: by Customer.save for a new customer, by the bulk writers (the customers
    import, the demo loader) beside their inserts, and for existing customers by migration 0006. Narrow on purpose: an import's totals update rewrites
    this row and its three indexes, not the customer row and its fifteen. On PostgreSQL the table has a fill
    factor of 70 (migration 0006) so an updated row's new version usually stays on its page. Sorting the customer
    list by revenue or orders walks this table's indexes (docs/import.md, "Purchase totals").
    """

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="stats")
    order_count = models.IntegerField(_("orders"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=Decimal("0"))
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)

    class Meta:
        verbose_name = _("purchase totals")
        verbose_name_plural = _("purchase totals")
        indexes = [
            # The list's revenue and orders sorts walk these instead of sorting a million rows.
            models.Index(fields=["revenue", "customer"], name="customerstats_revenue"),
            models.Index(fields=["order_count", "customer"], name="customerstats_orders"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.order_count} orders, {self.revenue}"


class CustomerShare(models.Model):
    """Shares a customer with a team: its sales reps see the customer too."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="shares", db_index=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="shared_customers")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "team"], name="share_unique")]
        indexes = [models.Index(fields=["team", "customer"], name="share_team")]

    def __str__(self) -> str:
        return f"{self.customer_id} → team {self.team_id}"


class Tag(models.Model):
    """A label on customers (VIP, 团购, ...)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#5470c6")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerTag(models.Model):
    """A tag on a customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="customer_tag_unique")]
        indexes = [models.Index(fields=["tag", "customer"], name="customertag_tag")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tag_id}"


class CustomAttribute(models.Model):
    """An admin-defined customer field; values live in Customer.custom, validated by the service."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/no")
        CHOICE = "choice", _("Choice")

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True, default="")
    position = models.PositiveIntegerField(_("order on forms"), default=0)

    class Meta:
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.label


PHONE_TAIL_DIGITS = 8  # how many last digits of a phone number find its owner


class ContactPoint(SourcedModel):
    """A way to reach a customer: mobile, landline, email, WeChat ID or postal address."""

    class Kind(models.TextChoices):
        MOBILE = "mobile", _("Mobile")
        LANDLINE = "landline", _("Landline")
        EMAIL = "email", _("Email")
        WECHAT = "wechat", _("WeChat ID")
        ADDRESS = "address", _("Postal address")

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        BOUNCED = "bounced", _("Bounced")
        INVALID = "invalid", _("Invalid")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=300)
    # Search key: E.164 for phones, lower-case for email and WeChat; empty for addresses.
    value_normalized = models.CharField(_("value as matched"), max_length=300, blank=True, default="")
    label = models.CharField(_("label"), max_length=40, blank=True, default="")
    is_primary = models.BooleanField(_("primary"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.VALID)
    province = models.CharField(_("province"), max_length=40, blank=True, default="")
    city = models.CharField(_("city"), max_length=60, blank=True, default="")
    district = models.CharField(_("district"), max_length=60, blank=True, default="")
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True, default="")
    # The last PHONE_TAIL_DIGITS digits of a phone's E.164 form (empty for other kinds), so a caller is found by the
    # end of the number with an indexed equality instead of a LIKE '%…' scan. The database computes it from
    # value_normalized on every insert and update, whoever writes (services, imports, the demo's bulk loader).
    phone_tail = models.GeneratedField(
        expression=Case(When(kind__in=("mobile", "landline"), then=Right("value_normalized", PHONE_TAIL_DIGITS)),
                        default=Value("")),
        output_field=models.CharField(max_length=PHONE_TAIL_DIGITS), db_persist=True)

    class Meta:
        constraints = [unique_source_key("contact_unique_source_key")]
        indexes = [models.Index(fields=["value_normalized"], name="contact_value"),
                   models.Index(fields=["phone_tail"], name="contact_phone_tail")]
        ordering = ["-is_primary", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


class Consent(TimeStampedModel):
    """Whether a customer agrees to be contacted on a channel for a purpose; the latest decision wins."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone call")
        WECHAT = "wechat", _("WeChat")
        MAIL = "mail", _("Post")
        APP = "app", _("App push")

    class Purpose(models.TextChoices):
        MARKETING = "marketing", _("Marketing")
        SERVICE = "service", _("Service")
        SURVEYS = "surveys", _("Surveys")
        PROFILING = "profiling", _("Analytics and profiling")

    class Status(models.TextChoices):
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents", db_index=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    decided_at = models.DateTimeField(_("decided at"))
    source = models.CharField(_("source"), max_length=60, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "channel", "purpose"], name="consent_unique")]
        ordering = ["channel", "purpose"]


class Interaction(SourcedModel):
    """One row of the customer timeline: calls, visits, emails, SMS and notes typed by staff, and events
    written by other apps' services (purchases, returns, profile changes, tickets, campaigns, points)
    through `customers.events.record_event`."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        VISIT = "visit", _("Visit")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        WECHAT = "wechat", _("WeChat")
        NOTE = "note", _("Note")
        PURCHASE = "purchase", _("Purchase")
        RETURN = "return", _("Return")
        PROFILE = "profile", _("Profile change")
        CONSENT = "consent", _("Consent change")
        TICKET = "ticket", _("Ticket")
        CAMPAIGN = "campaign", _("Campaign message")
        POINTS = "points", _("Points")
        MERGE = "merge", _("Merge")
        LEAD = "lead", _("Lead")
        OPPORTUNITY = "opp", _("Opportunity")
        TASK = "task", _("Task")
        ACCOUNT = "account", _("Key account")
        SURVEY = "survey", _("Survey")
        WORK_ORDER = "workorder", _("Work order")

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")
        NONE = "", _("—")

    # Kinds staff may log by hand; the others are written by services.
    MANUAL_KINDS = ("call", "visit", "email", "sms", "wechat", "note")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions", db_index=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, blank=True, default="")
    occurred_at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    subject = models.CharField(_("subject"), max_length=200, blank=True, default="")
    body = models.TextField(_("details"), blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    ref_type = models.CharField(max_length=40, blank=True, default="")
    ref_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [unique_source_key("interaction_unique_source_key")]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="interaction_timeline"),
                   models.Index(fields=["ref_type", "ref_id"], name="interaction_ref")]
        ordering = ["-occurred_at", "-id"]
