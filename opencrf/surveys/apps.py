from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "opencrf.surveys"
    label = "surveys"
