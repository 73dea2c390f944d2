"""New projects from a copy, a template or Project XML (under /projects/new/)."""

from django.urls import path

from opencrf.records import project_new_views

app_name = "project_new"

urlpatterns = [
    path("copy/", project_new_views.project_new_copy, name="copy"),
    path("template/", project_new_views.project_new_template, name="template"),
    path("xml/", project_new_views.project_new_xml, name="xml"),
]
