from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Identity resolution: duplicate candidates (Splink), review queue, merge and unmerge."""

    name = "clientwise.dataio.identity"
    label = "identity"
    verbose_name = "Identity resolution"
