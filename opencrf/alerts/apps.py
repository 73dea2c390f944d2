from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts and notifications: e-mails triggered by form saves or dates, with their log."""

    name = "opencrf.alerts"
    label = "alerts"

    def ready(self) -> None:
        from opencrf.alerts.evaluation import forms_saved
        from opencrf.records.hooks import form_saved_register

        # Alerts are evaluated after every committed form save, from any write path.
        form_saved_register(forms_saved)
