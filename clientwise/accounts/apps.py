from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "clientwise.accounts"
    label = "accounts"
    verbose_name = "Accounts"
