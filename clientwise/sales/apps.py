from django.apps import AppConfig, apps
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions
from clientwise.sales.perms import VIEW_SALES


class SalesConfig(AppConfig):
    """Sales: leads, opportunities in pipelines, activities, forecasts and quotas, ownership transfer, key accounts."""

    name = "clientwise.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self):
        # These modules import models, which load once the app registry is ready.
        from clientwise.customers.services import register_merge_participant
        from clientwise.sales import queries, services, tasks
        from clientwise.sales.imports import register_kinds

        extensions.register_nav("sales", _("Sales"), "sales:index", "briefcase", perm=VIEW_SALES, order=30)
        extensions.register_customer_panel("sales/_customer_panel.html", queries.customer_panel, order=20)
        register_merge_participant("sales", move=services.merge_move, restore=services.merge_restore)
        register_kinds()  # the "leads" import kind of dataio's engine
        extensions.register_contact_reason(queries.has_open_activity_with)
        extensions.register_periodic("task_reminders", _("Task reminders"), tasks.schedule_task_reminders)
        # The default pipeline is data created by `migrate`, so no page has to create it on a GET.
        post_migrate.connect(_seed_default_pipeline, sender=self, dispatch_uid="sales.default_pipeline")
        if apps.is_installed("clientwise.reports"):  # pipeline, weighted pipeline, won deals in the pivot engine
            # Only with the reports app installed: sales.measures builds on reports.semantic.
            from clientwise.sales import measures

            measures.register()


def _seed_default_pipeline(sender, using: str = "default", **kwargs) -> None:
    """post_migrate: the default pipeline with its stages (sales.services.default_pipeline), once its tables exist."""
    # apps.py is imported before the app registry is ready, so the models load here.
    from clientwise.sales.models import Pipeline, Stage
    from clientwise.sales.services import default_pipeline

    tables = set(connections[using].introspection.table_names())
    if using == "default" and {Pipeline._meta.db_table, Stage._meta.db_table} <= tables:
        default_pipeline()
