from django.apps import AppConfig


class DataioConfig(AppConfig):
    """Imports (staging → validation → quarantine → replay), entry grids and audited exports."""

    name = "clientwise.dataio"
    label = "dataio"
    verbose_name = "Data in and out"

    def ready(self) -> None:
        # dataio's own import kinds register themselves when the handlers load (they import models, which load
        # once the app registry is ready).
        from clientwise.dataio import handlers  # noqa: F401
