from django.apps import AppConfig


class SalesConfig(AppConfig):
    """Sales: leads, opportunities in pipelines, activities, forecasts and quotas, ownership transfer, key accounts."""

    name = "clientwise.sales"
    label = "sales"
    verbose_name = "Sales"
