from django.http import HttpResponse
from django.urls import path

app_name = "customers"
urlpatterns = [
    path("list/", lambda r: HttpResponse("list"), name="list"),
    path("attribute_list/", lambda r: HttpResponse("attribute_list"), name="attribute_list"),
]
