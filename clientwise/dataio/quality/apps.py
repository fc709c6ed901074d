from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Data quality: per-customer completeness and validity, stale-record flags."""

    name = "clientwise.dataio.quality"
    label = "quality"
    verbose_name = "Data quality"
