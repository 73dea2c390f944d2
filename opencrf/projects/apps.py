from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "opencrf.projects"
    label = "projects"
