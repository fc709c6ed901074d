from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "clientwise.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self):
        from clientwise.core import extensions
        from clientwise.customers import queries
        from clientwise.customers.scope import CustomerScope

        # The one customer scope, and the home page's activity feed, for core (which imports no domain app).
        extensions.register_customer_scope(CustomerScope.for_user)
        extensions.register_home_source("activity", queries.recent_activity)
        from clientwise.customers.imports import register_kinds

        register_kinds()  # the customers and interactions import kinds of dataio's engine
