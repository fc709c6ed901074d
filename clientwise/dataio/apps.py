from django.apps import AppConfig


class DataioConfig(AppConfig):
    """Imports (staging → validation → quarantine → replay), entry grids and audited exports."""

    name = "clientwise.dataio"
    label = "dataio"
    verbose_name = "Data in and out"
