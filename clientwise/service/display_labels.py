"""Service codes in words (core/labels.py): agent and technician skills, SLA events, audit actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.core import labels
from clientwise.service.models import SLAEvent, Survey, Ticket, TicketMessage, WorkOrder

# Skills are codes an administrator types on agents, technicians, categories and routing rules (comma-separated);
# these are the ones Clientwise suggests and the demo uses. A skill typed in words (空调清洗) is its own label.
SKILLS = {
    "appliances": _("Appliances"), "install": _("Installation"), "repair": _("Repair"),
    "billing": _("Billing"), "english": _("English"), "complaints": _("Complaints"),
    "handsets": _("Handsets"), "computers": _("Computers"),
}


def register() -> None:
    labels.register("service.skill", SKILLS)
    labels.register("service.ticket.status", Ticket.Status)
    labels.register("service.ticket.sla_state", {"warning": pgettext_lazy("SLA state", "Warning sent"),
                                                 "breached": pgettext_lazy("SLA state", "Breached")})
    labels.register("service.survey.trigger", Survey.Trigger)
    labels.register("service.workorder.kind", WorkOrder.Kind)
    labels.register("service.workorder.status", WorkOrder.Status)
    labels.register("service.sla_event", SLAEvent.Kind)
    labels.register("audit.detail.kind", SLAEvent.Kind)
    labels.register("audit.action", {
        "ticket.": _("Tickets: any change"),
        "ticket.create": _("Ticket opened"), "ticket.assign": _("Ticket assigned"),
        "ticket.status": _("Ticket status changed"), "ticket.escalate": _("Ticket escalated"),
        "ticket.attach": _("File attached to a ticket"),
        "ticket.sla_warning": _("SLA warning"), "ticket.sla_breach": _("SLA breached"),
        f"ticket.{TicketMessage.Kind.REPLY}": _("Replied to the customer"),
        f"ticket.{TicketMessage.Kind.CUSTOMER}": _("Message from the customer"),
        f"ticket.{TicketMessage.Kind.NOTE}": _("Internal note on a ticket"),
        "service.config.create": _("Service setting added"), "service.config.update": _("Service setting changed"),
        "service.config.delete": _("Service setting deleted"),
        "survey.send": _("Satisfaction survey sent"), "survey.answer": _("Satisfaction survey answered"),
        "survey.weights": _("Survey weights changed"),
        "workorder.create": _("Work order created"), "workorder.assign": _("Work order assigned"),
        "workorder.status": _("Work order status changed"),
    })
    labels.register("model", {
        "service.businesscalendar": _("Business hours"),
        "service.slapolicy": _("SLA policy"),
        "service.queue": _("Queue"),
        "service.agentprofile": _("Agent"),
        "service.category": _("Ticket category"),
        "service.rootcause": _("Root cause"),
        "service.routingrule": _("Routing rule"),
        "service.ticket": _("Ticket"),
        "service.ticketmessage": _("Ticket message"),
        "service.ticketattachment": _("Ticket attachment"),
        "service.cannedreply": _("Canned reply"),
        "service.knowledgearticle": _("Knowledge article"),
        "service.technician": _("Technician"),
        "service.workorder": _("Work order"),
        "service.surveyattribute": _("Survey dimension"),
        "service.survey": _("Satisfaction survey"),
    })
