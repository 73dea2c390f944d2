from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "opencrf.ops"
    label = "ops"
