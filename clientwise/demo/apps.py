from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "clientwise.demo"
    label = "demo"
    verbose_name = "Demo business"
