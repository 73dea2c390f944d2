from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "opencrf.exports"
    label = "exports"
