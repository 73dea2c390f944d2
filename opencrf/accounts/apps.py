from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "opencrf.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Security log entries for logins, failures, lockouts and logouts; session clocks.
        from opencrf.accounts import checks, security_signals, site_cache  # noqa: F401
