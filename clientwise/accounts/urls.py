from django.http import HttpResponse
from django.urls import path

app_name = "accounts"
urlpatterns = [
    path("login/", lambda r: HttpResponse("login"), name="login"),
    path("logout/", lambda r: HttpResponse("logout"), name="logout"),
    path("profile/", lambda r: HttpResponse("profile"), name="profile"),
    path("tokens/", lambda r: HttpResponse("tokens"), name="tokens"),
    path("password_change/", lambda r: HttpResponse("password_change"), name="password_change"),
]
