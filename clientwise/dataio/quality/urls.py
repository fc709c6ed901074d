from django.urls import path

from clientwise.dataio.quality import views

app_name = "quality"
urlpatterns = [
    path("", views.index, name="index"),
    path("recompute/", views.recompute, name="recompute"),
]
