"""Marketing pages (mounted at /marketing/)."""

from django.urls import path

from clientwise.marketing import views

app_name = "marketing"
urlpatterns = [
    path("", views.index, name="index"),
    path("audiences/new/", views.audience_new, name="audience_new"),
    path("audiences/preview/", views.audience_preview, name="audience_preview"),
    path("audiences/upload/", views.audience_upload, name="audience_upload"),
    path("audiences/save/", views.audience_from_selection, name="audience_from_selection"),
    path("audiences/<int:pk>/", views.audience_detail, name="audience"),
    path("audiences/<int:pk>/archive/", views.audience_archive, name="audience_archive"),
    path("audiences/<int:pk>/export.<str:fmt>", views.audience_export, name="audience_export"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/results/", views.campaign_results, name="campaign_results"),
    path("campaigns/<int:pk>/<slug:action>/", views.campaign_action, name="campaign_action"),
]
