from django.urls import path, re_path  # noqa: F401

from clientwise.dataio import exports

app_name = "dataio"
urlpatterns: list = [
    re_path(r"^export/customers\.(?P<fmt>csv|xlsx|parquet)$", exports.customer_export_view, name="export_customers"),
    re_path(r"^export/orders\.(?P<fmt>csv|xlsx|parquet)$", exports.order_export_view, name="export_orders"),
]
