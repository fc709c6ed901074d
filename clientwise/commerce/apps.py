from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "clientwise.commerce"
    label = "commerce"
    verbose_name = "Commerce"

    def ready(self) -> None:
        # Reference-data import kinds (categories, brands, regions, branches, channels, units) for dataio's engine.
        from clientwise.commerce.imports import register_kinds

        register_kinds()
