from django.apps import AppConfig

from clientwise.core import extensions


class CustomersConfig(AppConfig):
    name = "clientwise.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self):
        # These modules import models, which load once the app registry is ready.
        from clientwise.customers import queries
        from clientwise.customers.imports import register_kinds
        from clientwise.customers.scope import CustomerScope

        # The one customer scope, and the home page's activity feed, for core (which imports no domain app).
        extensions.register_customer_scope(CustomerScope.for_user)
        extensions.register_home_source("activity", queries.recent_activity)
        register_kinds()  # the customers and interactions import kinds of dataio's engine
