"""Service: tickets (complaints, inquiries, suggestions, repairs, returns), queues, SLA policies with business-hour
calendars, routing rules, canned replies, knowledge base, field-service work orders and satisfaction surveys.

Every customer-owned row carries `customer_id`; visibility follows the customer (service.queries).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.utils.functional import LazyObject
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.core.models import SourcedModel, TimeStampedModel
from clientwise.service.rules import is_overdue, within_visit_hours


class AttachmentStorage(LazyObject):
    """Ticket attachments live under VAR_DIR/service/attachments and are never served as static files: the
    permission-checked download view streams them."""

    def _setup(self):
        self._wrapped = FileSystemStorage(location=str(settings.VAR_DIR / "service" / "attachments"),
                                          base_url=None)


attachment_storage = AttachmentStorage()


def _attachment_storage():
    return attachment_storage


class Tier(models.TextChoices):
    ANY = "", _("Any tier")
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


class TicketType(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    INQUIRY = "inquiry", _("Inquiry")
    SUGGESTION = "suggestion", _("Suggestion")
    REPAIR = "repair", _("Repair / after-sales")
    RETURN = "return", pgettext_lazy("ticket type", "Return")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    STORE = "store", _("In store")
    WECHAT = "wechat", _("WeChat")
    API = "api", "API"


# --- Calendars and SLA policies --------------------------------------------------------------------------------


class BusinessCalendar(models.Model):
    """Business hours: the same opening hours on every working day. Working days are `workdays` (ISO weekdays,
    "12345" = Monday to Friday) minus the calendar's holidays, plus its make-up working days (调休)."""

    name = models.CharField(pgettext_lazy("service", "name"), max_length=100, unique=True)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))
    workdays = models.CharField(_("working weekdays"), max_length=7, default="12345",
                                help_text=_("ISO weekdays, 1 = Monday … 7 = Sunday, e.g. 12345."))

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CalendarDay(models.Model):
    """A public holiday (no work on a weekday) or a make-up working day (work on a weekend), per calendar."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday")
        WORKDAY = "workday", _("Make-up working day")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days",
                                 verbose_name=_("calendar"))
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(pgettext_lazy("service", "name"), max_length=100, blank=True, default="")

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="service_calendar_day_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.kind}"


class SLAPolicy(models.Model):
    """First-response and resolution targets (business minutes) for a priority and a customer value tier.
    The most specific active policy wins: exact tier before "any tier". `warn_percent` of the target elapsed
    raises a warning; past the target the ticket is breached and escalated."""

    name = models.CharField(pgettext_lazy("service", "name"), max_length=100)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    customer_tier = models.CharField(_("customer value tier"), max_length=1, choices=Tier.choices, blank=True,
                                     default="")
    first_response_minutes = models.PositiveIntegerField(_("first response within (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (business minutes)"))
    warn_percent = models.PositiveSmallIntegerField(_("warn at (percent of target)"), default=80)
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("business hours"),
                                 help_text=_("Empty: the clock runs around the clock."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["priority", "customer_tier", "name"]
        constraints = [models.UniqueConstraint(fields=["priority", "customer_tier"], condition=Q(active=True),
                                               name="service_sla_one_active")]

    def __str__(self) -> str:
        return self.name


# --- Queues, agents, routing -----------------------------------------------------------------------------------


class Queue(models.Model):
    """A group of agents tickets are routed to. `strategy` picks the agent inside the queue."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOADED = "least_loaded", _("Least loaded")

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(pgettext_lazy("service", "name"), max_length=100)
    strategy = models.CharField(_("assignment"), max_length=15, choices=Strategy.choices,
                                default=Strategy.LEAST_LOADED)
    escalation_manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                           on_delete=models.SET_NULL, related_name="+",
                                           verbose_name=_("escalation manager"))
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", editable=False)
    is_default = models.BooleanField(_("default queue"), default=False,
                                     help_text=_("Tickets no routing rule matches go here."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """What routing knows about an agent: queues, skills, seniority, and how many open tickets they can hold."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_profile",
                                verbose_name=_("agent"))
    queues = models.ManyToManyField(Queue, related_name="agents", blank=True, verbose_name=_("queues"))
    skills = models.CharField(_("skills"), max_length=300, blank=True, default="",
                              help_text=_("Comma-separated, e.g. appliances,billing,english."))
    senior = models.BooleanField(_("senior agent"), default=False)
    max_open = models.PositiveIntegerField(_("open tickets at most"), default=30)
    available = models.BooleanField(_("available"), default=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return str(self.user)

    @property
    def skill_set(self) -> set[str]:
        return {s.strip().lower() for s in self.skills.split(",") if s.strip()}


class Category(models.Model):
    """What a ticket is about (delivery, product quality, billing…)."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(pgettext_lazy("service", "name"), max_length=100)
    skill = models.CharField(_("skill needed"), max_length=50, blank=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class RootCause(models.Model):
    """Why it happened, recorded when a ticket is resolved, within a category (or for any category)."""

    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="root_causes", verbose_name=_("category"))
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(pgettext_lazy("service", "name"), max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """If a new ticket matches every condition set here, it goes to `queue` (rules are tried by `position`).
    Empty conditions match anything. `senior_only` hands it to a senior agent of that queue; `skill` requires
    the agent to have that skill."""

    name = models.CharField(pgettext_lazy("service", "name"), max_length=100)
    position = models.PositiveIntegerField(_("order"), default=100)
    ticket_type = models.CharField(_("ticket type"), max_length=12, choices=TicketType.choices, blank=True,
                                   default="")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("category"))
    product = models.ForeignKey("commerce.Product", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("product"))
    region = models.ForeignKey("commerce.Region", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+", verbose_name=_("region"))
    value_tiers = models.CharField(_("value tiers"), max_length=8, blank=True, default="",
                                   help_text=_("Letters, e.g. AB: only customers of these tiers."))
    min_churn_probability = models.FloatField(_("churn probability at least"), null=True, blank=True)
    # A model trained on own labels (analytics LabelModel.name): the customer's score under it must reach
    # min_score (0.5 when empty). Customers without a score of that model do not match.
    score_kind = models.CharField(_("own-label model"), max_length=50, blank=True, default="",
                                  help_text=_("The name of a model trained on your own labels, e.g. contract_churn."))
    min_score = models.FloatField(_("its score at least"), null=True, blank=True)
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="rules", verbose_name=_("queue"))
    senior_only = models.BooleanField(_("senior agents only"), default=False)
    skill = models.CharField(_("skill needed"), max_length=50, blank=True, default="")
    priority = models.CharField(_("raise priority to"), max_length=10, choices=Priority.choices, blank=True,
                                default="")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


# --- Tickets ---------------------------------------------------------------------------------------------------


class Ticket(SourcedModel):
    """One customer request from any channel, with its routing, SLA clock and resolution.

    Lifecycle: new → open (assigned) ⇄ pending (waiting for the customer) → resolved → closed; a resolved
    ticket can be reopened. Due times are computed once, from the SLA policy, in business time.
    """

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("ticket status", "New")
        OPEN = "open", pgettext_lazy("ticket status", "Open")
        PENDING = "pending", _("Waiting for customer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", pgettext_lazy("ticket status", "Closed")

    OPEN_STATUSES = ("new", "open", "pending")

    number = models.CharField(_("number"), max_length=20, unique=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="service_tickets",
                                 db_index=False, verbose_name=_("customer"))
    type = models.CharField(_("type"), max_length=12, choices=TicketType.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("category"))
    root_cause = models.ForeignKey(RootCause, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("root cause"))
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets",
                              verbose_name=_("queue"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="service_tickets", verbose_name=_("assignee"))
    routed_by = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("routed by rule"))
    routing_note = models.CharField(_("why it was routed there"), max_length=300, blank=True, default="")
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=pgettext_lazy("purchase", "order"))
    product = models.ForeignKey("commerce.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("product"))
    store = models.ForeignKey("commerce.Store", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("store"))
    # Value tier and churn risk when the ticket came in (what routing saw).
    value_tier = models.CharField(_("value tier"), max_length=1, blank=True, default="")
    churn_probability = models.FloatField(_("churn probability"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    opened_at = models.DateTimeField(_("opened at"))
    sla_policy = models.ForeignKey(SLAPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("SLA policy"))
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    # When the warning is due (warn_percent of each target, in business time); set with the due times.
    response_warn_at = models.DateTimeField(_("first-response warning at"), null=True, blank=True)
    resolution_warn_at = models.DateTimeField(_("resolution warning at"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True, default="")
    escalated_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("escalated to"))
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    sla_state = models.CharField(_("SLA state"), max_length=10, blank=True, default="")  # "", "warning", "breached"
    # While the ticket waits for the customer (pending) its resolution clock stops: when the pause began, and the
    # business minutes paused so far. Leaving pending moves the resolution target and its warning forward by the
    # pause (services.resume_sla).
    sla_paused_at = models.DateTimeField(_("SLA paused since"), null=True, blank=True)
    sla_paused_minutes = models.FloatField(_("SLA paused (business minutes)"), default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               condition=Q(external_id__isnull=False),
                                               name="service_ticket_unique_source_key")]
        indexes = [
            models.Index(fields=["customer", "status"], name="service_ticket_customer"),
            models.Index(fields=["status", "opened_at", "id"], name="service_ticket_status"),
            models.Index(fields=["assignee", "status"], name="service_ticket_assignee"),
            models.Index(fields=["queue", "status"], name="service_ticket_queue"),
            models.Index(fields=["opened_at", "id"], name="service_ticket_opened"),
            models.Index(fields=["resolution_due"], name="service_ticket_res_due",
                         condition=Q(status__in=["new", "open", "pending"])),
        ]
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def sla_clock_paused(self) -> bool:
        """Waiting for the customer with the resolution target still ahead when the pause began (a target missed
        before the pause stays missed)."""
        return self.sla_paused_at is not None and self.resolution_due is not None and \
            self.resolution_due > self.sla_paused_at

    @staticmethod
    def clock_running_q() -> Q:
        """Tickets whose resolution clock runs: not paused, or paused after the target had passed."""
        return Q(sla_paused_at__isnull=True) | Q(resolution_due__lte=F("sla_paused_at"))


class TicketMessage(models.Model):
    """A line of the ticket's conversation: a reply to the customer, a message from the customer, or an internal
    note that the customer never sees."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply to customer")
        CUSTOMER = "customer", _("From customer")
        NOTE = "note", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("author"))
    body = models.TextField(pgettext_lazy("ticket message", "message"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="service_message_ticket")]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id}"


class TicketAttachment(models.Model):
    """A file on a ticket (photo of a broken part, invoice…); downloaded only through the permission-checked
    view."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("stored file"), storage=_attachment_storage, upload_to="%Y/%m/", max_length=300)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("file type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class SLAEvent(models.Model):
    """A warning or a breach of a ticket's SLA target, written once by the SLA check (unique per ticket and
    kind, so rerunning the check is harmless)."""

    class Kind(models.TextChoices):
        RESPONSE_WARNING = "response_warning", _("First response due soon")
        RESPONSE_BREACH = "response_breach", _("First response overdue")
        RESOLUTION_WARNING = "resolution_warning", _("Resolution due soon")
        RESOLUTION_BREACH = "resolution_breach", _("Resolution overdue")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    due = models.DateTimeField()
    notified = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["ticket", "kind"], name="service_sla_event_unique")]
        indexes = [models.Index(fields=["notified", "at"], name="service_sla_event_notified")]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id}"


class CannedReply(TimeStampedModel):
    """A ready-made answer agents insert into a reply."""

    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("category"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class KnowledgeArticle(TimeStampedModel):
    """A how-to or policy page agents search while on a call."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("category"))
    keywords = models.CharField(_("keywords"), max_length=300, blank=True, default="")
    published = models.BooleanField(_("published"), default=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


# --- Field service ---------------------------------------------------------------------------------------------


class Technician(models.Model):
    """A field technician: the regions served and skills held. A technician may or may not sign in."""

    name = models.CharField(pgettext_lazy("service", "name"), max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("user"))
    phone = models.CharField(_("phone"), max_length=20, blank=True, default="")
    regions = models.ManyToManyField("commerce.Region", related_name="+", blank=True, verbose_name=_("regions"))
    skills = models.CharField(_("skills"), max_length=300, blank=True, default="")
    rural = models.BooleanField(_("serves rural areas"), default=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def skill_set(self) -> set[str]:
        return {s.strip().lower() for s in self.skills.split(",") if s.strip()}


class WorkOrder(SourcedModel):
    """An on-site repair or installation: where, when, who, the parts used, the report and the customer's
    sign-off. Lifecycle: scheduled → assigned → in progress → completed → signed off (or cancelled)."""

    class Kind(models.TextChoices):
        REPAIR = "repair", _("Repair")
        INSTALL = "install", _("Installation")
        MAINTENANCE = "maintenance", _("Maintenance")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        ASSIGNED = "assigned", _("Assigned")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        SIGNED_OFF = "signed_off", _("Signed off")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = ("scheduled", "assigned", "in_progress")

    number = models.CharField(_("number"), max_length=20, unique=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="work_orders",
                                 db_index=False, verbose_name=_("customer"))
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_orders",
                               verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    product = models.ForeignKey("commerce.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("product"))
    address = models.CharField(_("address"), max_length=300)
    city = models.CharField(_("city"), max_length=60, blank=True, default="")
    region = models.ForeignKey("commerce.Region", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("region"))
    rural = models.BooleanField(_("rural address"), default=False)
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    skill = models.CharField(_("skill needed"), max_length=50, blank=True, default="")
    technician = models.ForeignKey(Technician, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="work_orders", verbose_name=_("technician"))
    notes = models.TextField(_("notes"), blank=True, default="")
    report = models.TextField(_("completion report"), blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    signed_off_by = models.CharField(_("signed off by"), max_length=100, blank=True, default="")
    signed_off_at = models.DateTimeField(_("signed off at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               condition=Q(external_id__isnull=False),
                                               name="service_workorder_unique_source_key"),
                       models.CheckConstraint(condition=Q(window_end__gt=models.F("window_start")),
                                              name="service_workorder_window")]
        indexes = [models.Index(fields=["customer", "status"], name="service_wo_customer"),
                   models.Index(fields=["status", "window_start", "id"], name="service_wo_status"),
                   models.Index(fields=["technician", "window_start"], name="service_wo_technician")]
        ordering = ["-window_start", "-id"]

    def __str__(self) -> str:
        return self.number

    @property
    def overdue(self) -> bool:
        """The window has ended and the visit is not done (service.rules.is_overdue)."""
        return is_overdue(self.status, self.window_end)

    @property
    def outside_visit_hours(self) -> bool:
        return not within_visit_hours(self.window_start, self.window_end)


class WorkOrderPart(models.Model):
    """A part used on a work order."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="parts")
    product = models.ForeignKey("commerce.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("product"))
    description = models.CharField(_("part"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"


# --- Surveys ---------------------------------------------------------------------------------------------------


class SurveyAttribute(models.Model):
    """One aspect customers rate 1-5 (quality, function, price, service, packaging). `weight` is its share of
    the weighted satisfaction index; weights are normalised over the attributes a survey answered."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(pgettext_lazy("service", "name"), max_length=100)
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=3, default=1)
    position = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class Survey(SourcedModel):
    """A satisfaction survey sent after a resolved ticket or a purchase, answered through a signed link.

    CSAT 1-5, NPS 0-10, per-attribute scores 1-5 (SurveyAnswer), and both indexes kept on the row when
    answered: `simple_index` is the plain mean of the attribute scores, `weighted_index` the weighted mean
    with the attribute weights in force at that moment (both on the 1-5 scale).
    """

    class Trigger(models.TextChoices):
        RESOLUTION = "resolution", _("After resolution")
        PURCHASE = "purchase", _("After purchase")

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="service_surveys",
                                 db_index=False, verbose_name=_("customer"))
    trigger = models.CharField(_("sent"), max_length=12, choices=Trigger.choices)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="surveys")
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("agent"))
    product = models.ForeignKey("commerce.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("product"))
    store = models.ForeignKey("commerce.Store", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("store"))
    sent_at = models.DateTimeField(_("sent at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    csat = models.PositiveSmallIntegerField(_("satisfaction (1-5)"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(_("likely to recommend (0-10)"), null=True, blank=True)
    simple_index = models.DecimalField(_("simple index"), max_digits=5, decimal_places=3, null=True, blank=True)
    weighted_index = models.DecimalField(_("weighted index"), max_digits=5, decimal_places=3, null=True,
                                         blank=True)
    comment = models.TextField(_("comment"), blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               condition=Q(external_id__isnull=False),
                                               name="service_survey_unique_source_key"),
                       models.CheckConstraint(condition=Q(csat__isnull=True) | Q(csat__gte=1, csat__lte=5),
                                              name="service_survey_csat_range"),
                       models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10),
                                              name="service_survey_nps_range")]
        indexes = [models.Index(fields=["customer", "sent_at"], name="service_survey_customer"),
                   models.Index(fields=["answered_at", "id"], name="service_survey_answered")]
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"survey {self.pk}"


class SurveyAnswer(models.Model):
    """One attribute's score (1-5) in a survey, with the weight that attribute had when it was answered."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="answers")
    attribute = models.ForeignKey(SurveyAttribute, on_delete=models.PROTECT, related_name="answers")
    score = models.PositiveSmallIntegerField(_("score (1-5)"))
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=3)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["survey", "attribute"], name="service_answer_unique"),
                       models.CheckConstraint(condition=Q(score__gte=1, score__lte=5),
                                              name="service_answer_score_range")]

    def __str__(self) -> str:
        return f"{self.attribute_id}: {self.score}"
