"""Marketing pages (mounted at /marketing/)."""

from django.urls import path

from clientwise.marketing import views

app_name = "marketing"
urlpatterns = [
    path("", views.index, name="index"),
]
