from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "clientwise.core"
    label = "core"
    verbose_name = "Core"
