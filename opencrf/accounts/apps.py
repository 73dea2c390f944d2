from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "opencrf.accounts"
    label = "accounts"
