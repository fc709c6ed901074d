from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "clientwise.demo"
    label = "demo"
    verbose_name = "Demo business"

    def ready(self):
        from clientwise.core import extensions
        from clientwise.demo.truth import duplicate_pairs

        extensions.register_ground_truth("duplicate_pairs", duplicate_pairs)
