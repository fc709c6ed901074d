from django.urls import path

from clientwise.privacy import views

app_name = "privacy"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_new, name="new"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/erase/", views.request_erase, name="erase"),
    path("<int:pk>/export.json", views.export_json, name="export_json"),
    path("<int:pk>/export.html", views.export_html, name="export_html"),
    path("<int:pk>/<slug:action>/", views.request_action, name="action"),
]
