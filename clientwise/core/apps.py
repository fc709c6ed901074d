from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions


class CoreConfig(AppConfig):
    name = "clientwise.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        # core.tasks imports django_tasks_db's models, which load once the app registry is ready.
        from clientwise.core import tasks

        extensions.register_periodic("heartbeat", _("Worker heartbeat"), tasks.ensure_heartbeat)
