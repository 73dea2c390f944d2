from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "opencrf.audit"
    label = "audit"

    def ready(self) -> None:
        from opencrf.audit import checks  # noqa: F401  (registers the deploy check)
