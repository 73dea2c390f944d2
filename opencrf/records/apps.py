from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "opencrf.records"
    label = "records"
