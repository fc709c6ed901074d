from django.apps import AppConfig


class ServiceConfig(AppConfig):
    """Service: tickets, SLA policies, routing, agent workspace, knowledge base, field service, surveys."""

    name = "clientwise.service"
    label = "service"
    verbose_name = "Service"
