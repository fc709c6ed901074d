from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions


class AnalyticsConfig(AppConfig):
    """Customer analytics: feature extraction (DuckDB/Spark), RFM, BG/NBD + Gamma-Gamma CLV, churn, next
    purchase, recommendations and value tiers, written back as CustomerScore rows with one ModelRun per model."""

    name = "clientwise.analytics"
    label = "analytics"
    verbose_name = "Customer analytics"

    def ready(self):
        # These modules import models, which load once the app registry is ready.
        from clientwise.analytics import tasks
        from clientwise.analytics.dashboards import customer_score

        extensions.register_periodic("nightly_scoring", _("Nightly scoring"), tasks.schedule_nightly_scoring)
        extensions.register_customer_context("analytics_scores", lambda user, customer: customer_score(customer.pk))
