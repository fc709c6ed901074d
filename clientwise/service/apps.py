from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    """Service: tickets, SLA policies, routing, agent workspace, knowledge base, field service, surveys."""

    name = "clientwise.service"
    label = "service"
    verbose_name = "Service"

    def ready(self):
        from clientwise.core import extensions
        from clientwise.customers.services import register_merge_participant
        from clientwise.service import queries, services, tasks
        from clientwise.service.perms import SERVICE_VIEW

        extensions.register_nav("service", _("Service"), "service:index", "headset", perm=SERVICE_VIEW, order=40)
        extensions.register_customer_panel("service/_customer_panel.html", queries.customer_panel, order=30)
        extensions.register_periodic("sla_check", _("SLA check"), tasks.schedule_sla_check)
        for name, (move, restore) in services.MERGE_PARTICIPANTS.items():
            register_merge_participant(name, move=move, restore=restore)
        from django.apps import apps

        if apps.is_installed("clientwise.reports"):  # tickets, SLA, CSAT and NPS in the pivot engine
            from clientwise.service import measures

            measures.register()
