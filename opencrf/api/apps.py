from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "opencrf.api"
    label = "api"
    verbose_name = "REDCap-compatible API"
