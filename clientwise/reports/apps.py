from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions
from clientwise.reports import perms


class ReportsConfig(AppConfig):
    """Reports: a semantic layer of measures and dimensions per domain, one pivot engine compiled to SQL (DuckDB over
    the analytics snapshot, or the operational database), saved and shared reports, role dashboards."""

    name = "clientwise.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self):
        # These modules import models, which load once the app registry is ready.
        from clientwise.analytics import measures as analytics_measures
        from clientwise.commerce import measures as commerce_measures
        from clientwise.customers import measures as customer_measures
        from clientwise.reports import dashboards, tasks

        # Order matters: sales and customers define the facts that the score tables join.
        commerce_measures.register()
        customer_measures.register()
        analytics_measures.register()
        extensions.register_nav("reports", _("Reports"), "reports:index", "bar-chart-line", perm=perms.USE_REPORTS,
                                order=40)
        extensions.register_periodic("report_mailer", _("Scheduled report e-mails"), tasks.schedule_report_mailer)
        # Default dashboards are data created by `migrate`, never by a page view (dashboards.py).
        post_migrate.connect(dashboards.seed_after_migrate, sender=self, dispatch_uid="reports.default_dashboards")
