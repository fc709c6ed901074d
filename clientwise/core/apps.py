from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "clientwise.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from clientwise.core import extensions, tasks

        extensions.register_periodic("heartbeat", _("Worker heartbeat"), tasks.ensure_heartbeat)
