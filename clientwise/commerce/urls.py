from django.http import HttpResponse
from django.urls import path

app_name = "commerce"
urlpatterns = [
    path("order_list/", lambda r: HttpResponse("order_list"), name="order_list"),
    path("product_list/", lambda r: HttpResponse("product_list"), name="product_list"),
    path("store_list/", lambda r: HttpResponse("store_list"), name="store_list"),
]
