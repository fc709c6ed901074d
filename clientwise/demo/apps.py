from django.apps import AppConfig

from clientwise.core import extensions


class DemoConfig(AppConfig):
    name = "clientwise.demo"
    label = "demo"
    verbose_name = "Demo business"

    def ready(self):
        # demo.truth imports models, which load once the app registry is ready.
        from clientwise.demo.truth import duplicate_pairs

        extensions.register_ground_truth("duplicate_pairs", duplicate_pairs)
