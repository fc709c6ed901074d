from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports: a semantic layer of measures and dimensions per domain, one pivot engine compiled to SQL (DuckDB over
    the analytics snapshot, or the operational database), saved and shared reports, role dashboards."""

    name = "clientwise.reports"
    label = "reports"
    verbose_name = "Reports"
