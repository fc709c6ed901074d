from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Data quality: per-customer completeness and validity, stale-record flags."""

    name = "clientwise.dataio.quality"
    label = "quality"
    verbose_name = "Data quality"

    def ready(self):
        from clientwise.core import extensions
        from clientwise.dataio.quality.queries import customer_quality

        extensions.register_customer_context("quality", lambda user, customer: customer_quality(customer.pk))
