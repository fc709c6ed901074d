"""Service: tickets with their conversation and attachments, field-service work orders, satisfaction surveys.

Erasure keeps the service facts (types, categories, priorities, SLA times, scores) and blanks what the person said
or what describes them: ticket subjects, descriptions, resolutions and messages, work-order addresses, notes,
reports and sign-off names, survey comments. Attachments are deleted, their files after the commit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.privacy.sections.base import PLACEHOLDER, Col, table
from clientwise.service.models import Survey, SurveyAnswer, Ticket, TicketAttachment, TicketMessage, WorkOrder

PII_KEYS = {"subject", "description", "resolution", "body", "address", "city", "notes", "report", "signed_off_by",
            "comment", "name", "file"}


def export(subject) -> list[dict]:
    ids = subject.customer_ids
    tickets = table("tickets", _("Tickets"), Ticket.objects.filter(customer_id__in=ids).select_related("category")
                    .order_by("opened_at", "id"), [
        "number", "opened_at", "type", "channel", ("category", _("category"),
                                                   lambda t: t.category.name if t.category else ""),
        "priority", "status", "subject", "description", "resolution", "resolved_at", "closed_at",
    ], model=Ticket)
    messages = table("ticket_messages", _("Ticket messages"), TicketMessage.objects.filter(
        ticket__customer_id__in=ids).select_related("ticket").order_by("created_at", "id"), [
        ("ticket", _("ticket"), lambda m: m.ticket.number), "created_at", "kind", "body",
    ], model=TicketMessage)
    attachments = table("ticket_attachments", _("Ticket attachments"), TicketAttachment.objects.filter(
        ticket__customer_id__in=ids).select_related("ticket").order_by("uploaded_at", "id"), [
        ("ticket", _("ticket"), lambda a: a.ticket.number), "name", Col("content_type", pgettext_lazy("export column", "File type")), "size",
        Col("uploaded_at", pgettext_lazy("export column", "Uploaded")),
    ], model=TicketAttachment)
    work_orders = table("work_orders", _("Work orders"), WorkOrder.objects.filter(customer_id__in=ids)
                        .order_by("window_start", "id"), [
        "number", "kind", "status", "address", "city", "window_start", "window_end", "notes", "report",
        "completed_at", "signed_off_by", "signed_off_at",
    ], model=WorkOrder)
    surveys = table("surveys", _("Surveys"), Survey.objects.filter(customer_id__in=ids).order_by("sent_at", "id"), [
        "trigger", "sent_at", "answered_at", "csat", "nps", "comment",
    ], model=Survey)
    answers = table("survey_answers", _("Survey answers"), SurveyAnswer.objects.filter(
        survey__customer_id__in=ids).select_related("survey", "attribute").order_by("survey__sent_at", "id"), [
        ("sent_at", _("sent at"), lambda a: a.survey.sent_at), ("attribute", _("aspect"), lambda a: a.attribute.name),
        Col("score", pgettext_lazy("export column", "Score")),
    ], model=SurveyAnswer)
    return [tickets, messages, attachments, work_orders, surveys, answers]


def erase(erasure) -> None:
    ids = list(erasure.subject.customer_ids)
    erasure.touch("service.ticket", Ticket.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    erasure.touch("service.workorder", WorkOrder.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    erasure.count("service.tickets", Ticket.objects.filter(customer_id__in=ids).update(
        subject=PLACEHOLDER, description="", resolution=""))
    messages = TicketMessage.objects.filter(ticket__customer_id__in=ids).exclude(body="")
    erasure.touch("service.ticketmessage", messages.values_list("pk", flat=True))
    erasure.count("service.ticket_messages", messages.update(body=""))
    attachments = list(TicketAttachment.objects.filter(ticket__customer_id__in=ids).values_list("pk", "file"))
    TicketAttachment.objects.filter(pk__in=[pk for pk, _f in attachments]).delete()
    erasure.touch("service.ticketattachment", [pk for pk, _f in attachments])
    erasure.delete_files.extend(f"service/attachments/{name}" for _pk, name in attachments if name)
    erasure.count("service.attachments_deleted", len(attachments))
    erasure.count("service.work_orders", WorkOrder.objects.filter(customer_id__in=ids).update(
        address=PLACEHOLDER, city="", notes="", report="", signed_off_by=""))
    erasure.count("service.survey_comments", Survey.objects.filter(customer_id__in=ids).exclude(comment="")
                  .update(comment=""))
    erasure.pii_keys.update(PII_KEYS)
