from django.apps import AppConfig

from clientwise.core import extensions


class QualityConfig(AppConfig):
    """Data quality: per-customer completeness and validity, stale-record flags."""

    name = "clientwise.dataio.quality"
    label = "quality"
    verbose_name = "Data quality"

    def ready(self):
        # quality.queries imports models, which load once the app registry is ready.
        from clientwise.dataio.quality.queries import customer_quality

        extensions.register_customer_context("quality", lambda user, customer: customer_quality(customer.pk))
