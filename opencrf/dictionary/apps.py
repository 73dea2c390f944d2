from django.apps import AppConfig


class DictionaryConfig(AppConfig):
    name = "opencrf.dictionary"
    label = "dictionary"
