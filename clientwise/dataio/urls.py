from django.urls import path, re_path  # noqa: F401

from clientwise.dataio import exports

app_name = "dataio"
urlpatterns: list = [
    re_path(r"^export/customers\.(?P<fmt>csv|xlsx|parquet)$", exports.customer_export_view, name="export_customers"),
    re_path(r"^export/orders\.(?P<fmt>csv|xlsx|parquet)$", exports.order_export_view, name="export_orders"),
]

# Imports and entry grids (dataio/views.py).
from clientwise.dataio import views as import_views  # noqa: E402

urlpatterns += [
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/new/", import_views.import_new, name="import_new"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", import_views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/preview/", import_views.import_preview, name="import_preview"),
    path("imports/<int:pk>/run/", import_views.import_run, name="import_run"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/errors.csv", import_views.import_errors_csv, name="import_errors"),
    path("imports/<int:pk>/replay/", import_views.import_replay, name="import_replay"),
    path("grid/<slug:kind>/", import_views.grid, name="grid"),
    path("grid/<slug:kind>/validate/", import_views.grid_validate, name="grid_validate"),
    path("grid/<slug:kind>/save/", import_views.grid_save, name="grid_save"),
]
