"""Sales: leads, pipelines and opportunities with stage history, activities and notes, quotas, ownership
transfers, and key accounts (plans, relationship stage, share of wallet, cost to serve, contacts).

Rows are written only by `sales.services`. Every row that belongs to a customer carries `customer_id` and moves
with the customer on merge (see `services.merge_move`).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.core.models import SourcedModel, TimeStampedModel

USER = settings.AUTH_USER_MODEL


def money(verbose, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose, max_digits=14, decimal_places=2, **kwargs)


def unique_source_key(name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=["source", "external_id"], condition=Q(external_id__isnull=False), name=name)


class ProductLine(models.TextChoices):
    """What a lead asks about or an opportunity sells; assignment rules can route on it."""

    HANDSETS = "handsets", _("Handsets")
    APPLIANCES = "appliances", _("Home appliances")
    COMPUTERS = "computers", _("Computers")
    ACCESSORIES = "accessories", _("Accessories")
    SERVICES = "services", _("Services and contracts")


# --- Leads ---------------------------------------------------------------------------------------------------------


class WebForm(TimeStampedModel):
    """A public lead form (a website's "contact sales" box). Posting needs the form's token, not a login."""

    name = models.CharField(_("name"), max_length=100)
    token = models.CharField(_("secret link"), max_length=40, unique=True)
    active = models.BooleanField(_("active"), default=True)
    product_line = models.CharField(_("product line"), max_length=20, choices=ProductLine.choices, blank=True,
                                    default="")
    thank_you = models.CharField(_("thank-you message"), max_length=300, blank=True, default="")

    def __str__(self) -> str:
        return self.name


class Lead(SourcedModel):
    """Someone who may buy, before they are a customer. Converted once into a customer and an opportunity."""

    class Channel(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        MANUAL = "manual", _("Entered by hand")

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("lead status", "New")
        WORKING = "working", pgettext_lazy("lead status", "Working")
        CONVERTED = "converted", pgettext_lazy("lead status", "Converted")
        DISQUALIFIED = "disqualified", pgettext_lazy("lead status", "Disqualified")

    name = models.CharField(_("contact name"), max_length=200)
    company = models.CharField(_("company"), max_length=200, blank=True, default="")
    mobile = models.CharField(_("mobile"), max_length=20, blank=True, default="")  # E.164
    email = models.CharField(_("email"), max_length=254, blank=True, default="")
    province = models.CharField(_("province"), max_length=40, blank=True, default="")
    city = models.CharField(_("city"), max_length=60, blank=True, default="")
    product_line = models.CharField(_("product line"), max_length=20, choices=ProductLine.choices, blank=True,
                                    default="")
    estimated_amount = money(_("estimated amount"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True, default="")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.MANUAL)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.NEW)
    score = models.PositiveSmallIntegerField(_("score"), default=0)
    score_reasons = models.JSONField(_("score reasons"), default=list, blank=True)
    owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="sales_leads",
                              verbose_name=_("owner"))
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("team"))
    assigned_by_rule = models.ForeignKey("AssignmentRule", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="leads")
    web_form = models.ForeignKey(WebForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    # Existing customers that looked like this lead when it came in: [{customer_id, name, reasons}].
    possible_duplicates = models.JSONField(_("possible duplicates"), default=list, blank=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="sales_leads", db_index=False)
    opportunity = models.ForeignKey("Opportunity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    converted_at = models.DateTimeField(null=True, blank=True)
    disqualified_reason = models.CharField(_("reason"), max_length=200, blank=True, default="")

    class Meta:
        constraints = [unique_source_key("lead_unique_source_key")]
        indexes = [models.Index(fields=["owner", "status"], name="lead_owner"),
                   models.Index(fields=["status", "-score"], name="lead_status_score"),
                   models.Index(fields=["customer"], name="lead_customer")]

    def __str__(self) -> str:
        return self.company or self.name


class AssignmentRule(models.Model):
    """Who gets a new lead: the first active rule (by position) whose condition matches hands the lead to the next
    member of its pool in turn (round robin). No condition: every lead matches."""

    class Condition(models.TextChoices):
        ANY = "any", _("Every lead")
        REGION = "region", _("Province or city")
        PRODUCT_LINE = "product_line", _("Product line")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    condition = models.CharField(_("condition"), max_length=12, choices=Condition.choices, default=Condition.ANY)
    value = models.CharField(_("value"), max_length=60, blank=True, default="")
    members = models.ManyToManyField(USER, related_name="+", verbose_name=_("members"))
    # How many leads this rule has assigned: the next one goes to members[assigned % len(members)].
    assigned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class ScoringRule(models.Model):
    """Points a lead earns when a fact about it holds; the score is the sum, from 0 to 100."""

    class Field(models.TextChoices):
        CHANNEL = "channel", _("Channel is")
        PRODUCT_LINE = "product_line", _("Product line is")
        PROVINCE = "province", _("Province is")
        CITY = "city", _("City is")
        HAS_COMPANY = "has_company", _("Company given")
        HAS_EMAIL = "has_email", _("Email given")
        HAS_MOBILE = "has_mobile", _("Mobile given")
        MIN_AMOUNT = "min_amount", _("Estimated amount at least")

    field = models.CharField(_("when"), max_length=12, choices=Field.choices)
    value = models.CharField(_("value"), max_length=60, blank=True, default="")
    points = models.SmallIntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.field}={self.value}: {self.points}"


# --- Pipelines and opportunities -----------------------------------------------------------------------------------


class Pipeline(models.Model):
    """An ordered list of stages an opportunity moves through. One pipeline is the default."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                               name="pipeline_one_default")]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One step of a pipeline with its win probability. Exactly one won and one lost stage per pipeline."""

    class Kind(models.TextChoices):
        OPEN = "open", pgettext_lazy("stage kind", "Open")
        WON = "won", pgettext_lazy("stage kind", "Won")
        LOST = "lost", pgettext_lazy("stage kind", "Lost")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=60)
    position = models.PositiveSmallIntegerField(_("position"))
    probability = models.PositiveSmallIntegerField(_("probability (%)"))
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices, default=Kind.OPEN)

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "position"], name="stage_unique_position")]

    def __str__(self) -> str:
        return self.name


class Opportunity(SourcedModel):
    """A possible sale to a customer, moving through a pipeline's stages."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("opportunity status", "Open")
        WON = "won", pgettext_lazy("opportunity status", "Won")
        LOST = "lost", pgettext_lazy("opportunity status", "Lost")

    class LostReason(models.TextChoices):
        PRICE = "price", _("Price")
        COMPETITOR = "competitor", _("Went to a competitor")
        NO_BUDGET = "no_budget", _("No budget")
        NO_DECISION = "no_decision", _("No decision")
        TIMING = "timing", _("Timing")
        PRODUCT_FIT = "product_fit", _("Product does not fit")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="sales_opportunities",
                                 db_index=False, verbose_name=_("customer"))
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage"))
    status = models.CharField(_("status"), max_length=4, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="sales_opportunities", verbose_name=_("owner"))
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("team"))
    amount = money(_("amount"), default=Decimal("0"))
    currency = models.CharField(max_length=3, default="CNY")
    product_lines = models.JSONField(_("product lines"), default=list, blank=True)
    expected_close = models.DateField(_("expected close date"))
    probability = models.PositiveSmallIntegerField(_("probability (%)"))
    next_step = models.CharField(_("next step"), max_length=200, blank=True, default="")
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=12, choices=LostReason.choices, blank=True,
                                   default="")
    lost_note = models.CharField(_("lost note"), max_length=300, blank=True, default="")
    stage_entered_at = models.DateTimeField(_("in this stage since"))
    # The furthest open/won stage position it ever reached (kept by the move service): the funnel counts
    # "reached stage i" as furthest_position >= i with one indexed GROUP BY instead of walking stage visits.
    furthest_position = models.PositiveSmallIntegerField(_("furthest stage reached"), default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [unique_source_key("opportunity_unique_source_key")]
        indexes = [models.Index(fields=["customer", "status"], name="opp_customer"),
                   models.Index(fields=["owner", "status"], name="opp_owner"),
                   models.Index(fields=["status", "expected_close"], name="opp_status_close"),
                   models.Index(fields=["stage", "status"], name="opp_stage"),
                   models.Index(fields=["pipeline", "furthest_position"], name="opp_funnel")]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / 100).quantize(Decimal("0.01"))


class StageVisit(models.Model):
    """One stay of an opportunity in a stage: when it entered, when it left (null while it is there)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_visits")
    customer_id = models.BigIntegerField()
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    # left_at − entered_at in seconds, written when the stay ends, so averages need no date arithmetic in SQL.
    seconds_in_stage = models.BigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["entered_at", "id"]
        indexes = [models.Index(fields=["stage", "left_at"], name="stagevisit_stage")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.stage_id} from {self.entered_at:%Y-%m-%d}"

    @property
    def seconds(self) -> float | None:
        return (self.left_at - self.entered_at).total_seconds() if self.left_at else None


# --- Activities and notes ------------------------------------------------------------------------------------------


class Activity(TimeStampedModel):
    """A call (logged with its outcome), a meeting or a task with a due date, reminder and optional follow-up."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        TASK = "task", _("Task")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        VOICEMAIL = "voicemail", _("Left a message")
        CALL_BACK = "call_back", _("Asked to call back")
        NOT_INTERESTED = "not_interested", _("Not interested")
        DONE = "done", _("Done")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.TASK)
    subject = models.CharField(_("subject"), max_length=200)
    notes = models.TextField(_("notes"), blank=True, default="")
    assignee = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="sales_activities",
                                 verbose_name=_("assigned to"))
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="sales_activities", db_index=False)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="activities")
    opportunity = models.ForeignKey(Opportunity, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="activities")
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True, default="")
    follow_up_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="follow_ups")

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["assignee", "done_at", "due_at"], name="activity_assignee"),
                   models.Index(fields=["customer", "done_at"], name="activity_customer"),
                   # The reminder sweep (sales/reminders.py) reads the open ones whose time just came, every minute.
                   models.Index(fields=["due_at"], condition=Q(done_at__isnull=True), name="activity_open_due"),
                   models.Index(fields=["remind_at"], condition=Q(done_at__isnull=True),
                                name="activity_open_remind")]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_open(self) -> bool:
        return self.done_at is None


class Note(TimeStampedModel):
    """A shared note on a customer, lead, opportunity or key account; @username mentions notify colleagues."""

    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("note"))
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="sales_notes", db_index=False)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")
    opportunity = models.ForeignKey(Opportunity, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="notes")
    mentions = models.ManyToManyField(USER, through="Mention", related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "created_at"], name="note_customer")]

    def __str__(self) -> str:
        return self.body[:40]


class Mention(models.Model):
    """A colleague named in a note (@username); shown on their "my day" page until read."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE)
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="sales_mentions")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["note", "user"], name="mention_unique")]

    def __str__(self) -> str:
        return f"note {self.note_id} → user {self.user_id}"


# --- Ownership transfer and quotas ---------------------------------------------------------------------------------


class OwnershipTransfer(models.Model):
    """One "hand over everything of a leaving rep" action, with what moved to whom (ids per kind of record)."""

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    from_user = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    to_user_ids = models.JSONField(default=list)
    counts = models.JSONField(default=dict)
    moved = models.JSONField(default=dict)  # {"customers": {"<id>": to_user_id}, "leads": {...}, ...}
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_user_id} → {self.to_user_ids} ({self.at:%Y-%m-%d})"


class Quota(models.Model):
    """A rep's sales target for one month (won amount)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="sales_quotas")
    month = models.DateField(_("month"))  # the first day of the month
    amount = money(_("quota"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "month"], name="quota_unique_month")]
        ordering = ["month", "user"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.month:%Y-%m}: {self.amount}"


# --- Key accounts --------------------------------------------------------------------------------------------------


class KeyAccount(TimeStampedModel):
    """A customer (usually an organization) managed as a key account, with the relationship's stage."""

    class RelationshipStage(models.TextChoices):
        VENDOR = "vendor", _("Vendor")
        PREFERRED = "preferred", _("Preferred supplier")
        STRATEGIC = "strategic", _("Strategic partner")

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="sales_key_account",
                                    verbose_name=_("customer"))
    owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="sales_key_accounts",
                              verbose_name=_("account manager"))
    relationship_stage = models.CharField(_("relationship stage"), max_length=10,
                                          choices=RelationshipStage.choices, default=RelationshipStage.VENDOR)
    stage_since = models.DateField(_("stage since"))

    def __str__(self) -> str:
        return str(self.customer_id)


class RelationshipChange(models.Model):
    """The relationship's history: each change of stage, when and why."""

    account = models.ForeignKey(KeyAccount, on_delete=models.CASCADE, related_name="relationship_changes")
    from_stage = models.CharField(max_length=10, blank=True, default="")
    to_stage = models.CharField(max_length=10)
    changed_on = models.DateField()
    actor = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True, default="")

    class Meta:
        ordering = ["changed_on", "id"]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage} ({self.changed_on})"


class AccountGoal(TimeStampedModel):
    """One goal of a key account's plan (grow share to 40 %, win the 2027 framework contract ...)."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("goal status", "Open")
        ACHIEVED = "achieved", _("Achieved")
        MISSED = "missed", _("Missed")

    account = models.ForeignKey(KeyAccount, on_delete=models.CASCADE, related_name="goals")
    title = models.CharField(_("goal"), max_length=200)
    target = money(_("target amount"), null=True, blank=True)
    due = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    plan_note = models.TextField(_("how we get there"), blank=True, default="")

    class Meta:
        ordering = ["due", "id"]

    def __str__(self) -> str:
        return self.title


class WalletShare(SourcedModel):
    """For one period: what the account bought from us and what it bought in total in our categories (entered or
    imported). Share of wallet = our volume / total demand."""

    account = models.ForeignKey(KeyAccount, on_delete=models.CASCADE, related_name="wallet")
    period = models.DateField(_("period start"))
    our_volume = money(_("our volume"))
    total_demand = money(_("total demand"))

    class Meta:
        ordering = ["period"]
        constraints = [models.UniqueConstraint(fields=["account", "period"], name="wallet_unique_period"),
                       unique_source_key("wallet_unique_source_key")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.period:%Y-%m}"

    @property
    def share(self) -> float | None:
        return float(self.our_volume / self.total_demand) if self.total_demand else None


class CostToServe(models.Model):
    """What serving an account cost in a period (visits, logistics, support, special terms)."""

    class Category(models.TextChoices):
        SALES = "sales", _("Sales visits")
        LOGISTICS = "logistics", _("Logistics")
        SUPPORT = "support", _("Support and service")
        TERMS = "terms", _("Discounts and special terms")
        OTHER = "other", _("Other")

    account = models.ForeignKey(KeyAccount, on_delete=models.CASCADE, related_name="costs")
    period = models.DateField(_("period start"))
    category = models.CharField(pgettext_lazy("cost", "category"), max_length=10, choices=Category.choices)
    amount = money(_("amount"))

    class Meta:
        ordering = ["period", "category"]

    def __str__(self) -> str:
        return f"{self.account_id} {self.period:%Y-%m} {self.category}"


class AccountContact(models.Model):
    """A person at a key account with their role in buying decisions and their influence; `reports_to` makes the
    org chart."""

    class Role(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker")
        ECONOMIC_BUYER = "economic_buyer", _("Economic buyer")
        INFLUENCER = "influencer", _("Influencer")
        CHAMPION = "champion", _("Champion")
        USER = "user", _("User")
        GATEKEEPER = "gatekeeper", _("Gatekeeper")

    class Influence(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    account = models.ForeignKey(KeyAccount, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True, default="")
    contact = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", db_index=False)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    influence = models.CharField(_("influence"), max_length=6, choices=Influence.choices,
                                 default=Influence.MEDIUM)
    reports_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="reports", verbose_name=_("reports to"))

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
