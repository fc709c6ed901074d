"""Forms of the service pages. They parse input only; services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.service.models import (
    AgentProfile,
    BusinessCalendar,
    CalendarDay,
    CannedReply,
    Category,
    Channel,
    KnowledgeArticle,
    Priority,
    Queue,
    RootCause,
    RoutingRule,
    SLAPolicy,
    SurveyAttribute,
    Technician,
    Ticket,
    TicketMessage,
    TicketType,
    WorkOrder,
)

DT = forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M")


class BootstrapMixin:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class TicketForm(BootstrapMixin, forms.Form):
    customer = forms.IntegerField(widget=forms.HiddenInput)
    type = forms.ChoiceField(label=_("Type"), choices=TicketType.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all(), required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    order = forms.TypedChoiceField(label=_("Order"), coerce=int, required=False, empty_value=None)
    product = forms.TypedChoiceField(label=_("Product"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, orders=(), products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].choices = [("", "—")] + [(o.pk, f"{o.number} · {o.ordered_at:%Y-%m-%d}") for o in orders]
        self.fields["product"].choices = [("", "—")] + [(p.pk, f"{p.name} ({p.sku})") for p in products]


class MessageForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=TicketMessage.Kind.choices, initial=TicketMessage.Kind.REPLY)
    body = forms.CharField(label=pgettext_lazy("ticket message", "Message"), widget=forms.Textarea(attrs={"rows": 4}))


class StatusForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Ticket.Status.choices)
    resolution = forms.CharField(label=_("Resolution"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    root_cause = forms.ModelChoiceField(label=_("Root cause"), queryset=RootCause.objects.all(), required=False)


class AssignForm(BootstrapMixin, forms.Form):
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.filter(active=True), required=False)
    assignee = forms.TypedChoiceField(label=_("Agent"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Pick by the queue's rule"))] + [(u.pk, str(u)) for u in agents]


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"), widget=forms.ClearableFileInput(attrs={"class": "form-control"}))


class WorkOrderForm(BootstrapMixin, forms.Form):
    customer = forms.IntegerField(widget=forms.HiddenInput)
    ticket = forms.IntegerField(widget=forms.HiddenInput, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=WorkOrder.Kind.choices)
    address = forms.CharField(label=_("Address"), max_length=300)
    city = forms.CharField(label=_("City"), max_length=60, required=False)
    rural = forms.BooleanField(label=_("Rural address"), required=False)
    window_start = forms.DateTimeField(label=_("From"), widget=DT)
    window_end = forms.DateTimeField(label=_("Until"), widget=DT)
    skill = forms.CharField(label=_("Skill needed"), max_length=50, required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class CompleteForm(BootstrapMixin, forms.Form):
    report = forms.CharField(label=_("Completion report"), widget=forms.Textarea(attrs={"rows": 3}))
    part = forms.CharField(label=_("Part used"), max_length=200, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1, required=False)
    unit_price = forms.DecimalField(label=_("Unit price"), min_value=0, decimal_places=2, required=False)


class SignOffForm(BootstrapMixin, forms.Form):
    signed_by = forms.CharField(label=_("Signed by"), max_length=100)


# --- Configuration ----------------------------------------------------------------------------------------------


def config_form(model, fields):
    return forms.modelform_factory(model, form=type(f"{model.__name__}Form", (BootstrapMixin, forms.ModelForm), {}),
                                   fields=fields,
                                   widgets={"opens": forms.TimeInput(attrs={"type": "time"}),
                                            "closes": forms.TimeInput(attrs={"type": "time"}),
                                            "date": forms.DateInput(attrs={"type": "date"}),
                                            "body": forms.Textarea(attrs={"rows": 6})})


# kind → (model, title, fields, columns shown in the list)
CONFIG = {
    "queue": (Queue, _("Queues"), ["code", "name", "strategy", "escalation_manager", "is_default", "active"],
              ["code", "name", "strategy", "escalation_manager", "is_default", "active"]),
    "agent": (AgentProfile, _("Agents"), ["user", "queues", "skills", "senior", "max_open", "available"],
              ["user", "skills", "senior", "max_open", "available"]),
    "rule": (RoutingRule, _("Routing rules"), ["name", "position", "ticket_type", "category", "product", "region",
                                               "value_tiers", "min_churn_probability", "score_kind", "min_score",
                                               "queue", "senior_only",
                                               "skill", "priority", "active"],
             ["position", "name", "ticket_type", "value_tiers", "min_churn_probability", "queue", "senior_only",
              "active"]),
    "sla": (SLAPolicy, _("SLA policies"), ["name", "priority", "customer_tier", "first_response_minutes",
                                           "resolution_minutes", "warn_percent", "calendar", "active"],
            ["name", "priority", "customer_tier", "first_response_minutes", "resolution_minutes", "calendar",
             "active"]),
    "calendar": (BusinessCalendar, _("Business hours"), ["name", "opens", "closes", "workdays"],
                 ["name", "opens", "closes", "workdays"]),
    "day": (CalendarDay, _("Holidays and make-up working days"), ["calendar", "date", "kind", "name"],
            ["calendar", "date", "kind", "name"]),
    "category": (Category, _("Categories"), ["code", "name", "skill"], ["code", "name", "skill"]),
    "cause": (RootCause, _("Root causes"), ["category", "code", "name"], ["category", "code", "name"]),
    "canned": (CannedReply, _("Canned replies"), ["title", "category", "body", "active"],
               ["title", "category", "active"]),
    "article": (KnowledgeArticle, _("Knowledge base"), ["title", "category", "keywords", "body", "published"],
                ["title", "category", "keywords", "published"]),
    "technician": (Technician, _("Technicians"), ["name", "user", "phone", "regions", "skills", "rural", "active"],
                   ["name", "phone", "skills", "rural", "active"]),
    "attribute": (SurveyAttribute, _("Survey attributes"), ["code", "name", "weight", "position", "active"],
                  ["position", "code", "name", "weight", "active"]),
}
