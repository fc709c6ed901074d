from django.urls import path

from clientwise.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.index, name="index"),
    path("customers/", views.customers, name="customers"),
    path("run/", views.run, name="run"),
    path("models/", views.models, name="models"),
    path("models/<slug:model>/", views.model_detail, name="model"),
]
