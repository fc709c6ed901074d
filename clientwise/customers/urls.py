"""Customer pages: list, 360 page and its HTMX cards, forms, custom-attribute admin (exports: dataio)."""

from django.urls import path

from clientwise.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/archive/", views.customer_archive, name="archive"),
    path("<int:pk>/restore/", views.customer_archive, {"restore": True}, name="restore"),
    path("<int:pk>/share/", views.customer_share, name="share"),
    path("<int:pk>/timeline/", views.customer_timeline, name="timeline"),
    path("<int:pk>/interactions/", views.interaction_add, name="interaction_add"),
    path("<int:pk>/interactions/form/", views.interaction_form, name="interaction_form"),
    path("<int:pk>/contacts/", views.contact_add, name="contact_add"),
    path("<int:pk>/contacts/form/", views.contact_form, name="contact_form"),
    path("<int:pk>/contacts/<int:cp_id>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:cp_id>/primary/", views.contact_primary, name="contact_primary"),
    path("<int:pk>/contacts/<int:cp_id>/reveal/", views.contact_reveal, name="contact_reveal"),
    path("<int:pk>/contacts/<int:cp_id>/delete/", views.contact_delete, name="contact_delete"),
    path("<int:pk>/consents/", views.consent_set, name="consent_set"),
    path("fields/", views.attribute_list, name="attribute_list"),
    path("fields/new/", views.attribute_edit, name="attribute_create"),
    path("fields/<int:attr_id>/", views.attribute_edit, name="attribute_edit"),
    path("fields/<int:attr_id>/delete/", views.attribute_delete, name="attribute_delete"),
]
