from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "opencrf.files"
    label = "files"
