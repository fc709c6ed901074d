from django.apps import AppConfig

from clientwise.core import extensions
from clientwise.core import permissions as perms


class CommerceConfig(AppConfig):
    name = "clientwise.commerce"
    label = "commerce"
    verbose_name = "Commerce"

    def ready(self) -> None:
        # These modules import models, which load once the app registry is ready.
        from clientwise.commerce import queries, services
        from clientwise.commerce.imports import orders as order_imports
        from clientwise.commerce.imports import register_kinds
        from clientwise.customers.services import register_merge_participant

        # The home page's figures, the customer page's orders, the city filter's store cities.
        extensions.register_home_source("key_figures", queries.key_figures)
        extensions.register_home_source("trend", queries.revenue_by_day)
        extensions.register_city_source("stores", queries.store_cities)
        extensions.register_customer_context(
            "orders", lambda user, customer: queries.customer_orders(customer.pk, limit=20)
            if perms.has_perm(user, perms.VIEW_ORDERS) else None)
        # Reference-data import kinds (categories, brands, regions, branches, channels, units) for dataio's engine.
        register_kinds()
        order_imports.register_kinds()  # products, stores and orders
        # Orders, lines and returns move with a customer merge, and the purchase totals are recomputed.
        register_merge_participant("commerce", move=services.merge_move, restore=services.merge_restore,
                                   refresh=services.merge_refresh)
