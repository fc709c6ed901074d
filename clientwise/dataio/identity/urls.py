from django.urls import path

from clientwise.dataio.identity import views

app_name = "identity"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.pair, name="pair"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("merges/", views.merge_history, name="merges"),
    path("merges/<int:pk>/undo/", views.undo, name="undo"),
]
