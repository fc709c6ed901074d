from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "clientwise.commerce"
    label = "commerce"
    verbose_name = "Commerce"
