from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "clientwise.customers"
    label = "customers"
    verbose_name = "Customers"
