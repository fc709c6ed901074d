from django.apps import AppConfig

from clientwise.core import extensions


class IdentityConfig(AppConfig):
    """Identity resolution: duplicate candidates (Splink), review queue, merge and unmerge."""

    name = "clientwise.dataio.identity"
    label = "identity"
    verbose_name = "Identity resolution"

    def ready(self):
        # identity.queries imports models, which load once the app registry is ready.
        from clientwise.dataio.identity.queries import merged_into, pending_pair_of

        # The customer page's merge notices: where an archived record went, and a pending pair to review.
        extensions.register_customer_context(
            "merged_into", lambda user, customer: merged_into(customer.pk) if customer.archived_at else None)
        extensions.register_customer_context(
            "duplicate_pair", lambda user, customer: None if customer.archived_at else pending_pair_of(user, customer.pk))
