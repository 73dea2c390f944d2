from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "opencrf.audit"
    label = "audit"
