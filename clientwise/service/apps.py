from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions
from clientwise.service.perms import SERVICE_VIEW


class ServiceConfig(AppConfig):
    """Service: tickets, SLA policies, routing, agent workspace, knowledge base, field service, surveys."""

    name = "clientwise.service"
    label = "service"
    verbose_name = "Service"

    def ready(self):
        # These modules import models, which load once the app registry is ready.
        from clientwise.customers.services import register_merge_participant
        from clientwise.service import queries, services, tasks

        extensions.register_nav("service", _("Service"), "service:index", "headset", perm=SERVICE_VIEW, order=40)
        extensions.register_customer_panel("service/_customer_panel.html", queries.customer_panel, order=30)
        extensions.register_periodic("sla_check", _("SLA check"), tasks.schedule_sla_check)
        for name, (move, restore) in services.MERGE_PARTICIPANTS.items():
            register_merge_participant(name, move=move, restore=restore)
        if apps.is_installed("clientwise.reports"):  # tickets, SLA, CSAT and NPS in the pivot engine
            # Only with the reports app installed: service.measures builds on reports.semantic.
            from clientwise.service import measures

            measures.register()
