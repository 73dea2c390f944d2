from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "opencrf.core"
    label = "core"
