"""Notification pages: /notifications/ (list), the bell badge, mark read, open, mark all read, e-mail settings."""

from django.urls import path

from clientwise.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.index, name="index"),
    path("badge/", views.badge, name="badge"),
    path("read-all/", views.read_all, name="read_all"),
    path("settings/", views.preferences, name="preferences"),
    path("<int:pk>/read/", views.read, name="read"),
    path("<int:pk>/open/", views.open_target, name="open"),
]
