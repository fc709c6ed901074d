"""Top-level URLs: pages per app, the JSON API under /api/v1/."""

from django.urls import include, path

from clientwise.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("accounts/", include("clientwise.accounts.urls")),
    path("customers/", include("clientwise.customers.urls")),
    path("commerce/", include("clientwise.commerce.urls")),
    path("data/", include("clientwise.dataio.urls")),
    path("data/duplicates/", include("clientwise.dataio.identity.urls")),
    path("data/quality/", include("clientwise.dataio.quality.urls")),
    path("analytics/", include("clientwise.analytics.urls")),
    path("reports/", include("clientwise.reports.urls")),
    path("sales/", include("clientwise.sales.urls")),
    path("service/", include("clientwise.service.urls")),
    path("privacy/", include("clientwise.privacy.urls")),
    path("marketing/", include("clientwise.marketing.urls")),
    path("notifications/", include("clientwise.notifications.urls")),
    path("", include("clientwise.core.urls")),
]
