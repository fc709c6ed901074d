"""Commerce pages: orders, products, stores, reference data."""

from django.urls import path

from clientwise.commerce import views

app_name = "commerce"
urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:pk>/returns/", views.order_return, name="order_return"),
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_edit, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("stores/", views.store_list, name="store_list"),
    path("stores/new/", views.store_edit, name="store_create"),
    path("stores/<int:pk>/", views.store_detail, name="store_detail"),
    path("stores/<int:pk>/edit/", views.store_edit, name="store_edit"),
    path("stores/<int:pk>/delete/", views.store_delete, name="store_delete"),
    path("reference/", views.reference_list, name="reference"),
    path("reference/<slug:kind>/", views.reference_list, name="reference_list"),
    path("reference/<slug:kind>/new/", views.reference_edit, name="reference_create"),
    path("reference/<slug:kind>/<int:pk>/edit/", views.reference_edit, name="reference_edit"),
    path("reference/<slug:kind>/<int:pk>/delete/", views.reference_delete, name="reference_delete"),
]
