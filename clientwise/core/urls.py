from django.http import HttpResponse
from django.urls import path

app_name = "core"
urlpatterns = [
    path("home/", lambda r: HttpResponse("home"), name="home"),
    path("audit/", lambda r: HttpResponse("audit"), name="audit"),
]
