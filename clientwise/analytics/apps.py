from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Customer analytics: feature extraction (DuckDB/Spark), RFM, BG/NBD + Gamma-Gamma CLV, churn, next
    purchase, recommendations and value tiers, written back as CustomerScore rows with one ModelRun per model."""

    name = "clientwise.analytics"
    label = "analytics"
    verbose_name = "Customer analytics"
