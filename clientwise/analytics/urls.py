from django.urls import path

from clientwise.analytics import views, views_labels

app_name = "analytics"
urlpatterns = [
    path("", views.index, name="index"),
    path("customers/", views.customers, name="customers"),
    path("run/", views.run, name="run"),
    path("models/", views.models, name="models"),
    path("models/<slug:model>/", views.model_detail, name="model"),
    path("own-models/", views_labels.own_models, name="own_models"),
    path("own-models/upload/", views_labels.own_model_upload, name="own_model_upload"),
    path("own-models/train/", views_labels.own_model_train, name="own_model_train"),
    path("own-models/<int:model_id>/", views_labels.own_model, name="own_model"),
    path("own-models/<int:model_id>/apply/", views_labels.own_model_apply, name="own_model_apply"),
    path("own-models/<int:model_id>/delete/", views_labels.own_model_delete, name="own_model_delete"),
]
