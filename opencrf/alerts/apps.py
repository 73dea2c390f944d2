from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts and notifications: e-mails triggered by form saves or dates, with their log."""

    name = "opencrf.alerts"
    label = "alerts"
