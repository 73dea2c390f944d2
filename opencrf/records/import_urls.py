"""The Data Import Tool's pages, under /projects/<id>/import/ (apart from the records'
addresses, where `import` would read as a record id)."""

from django.urls import path

from opencrf.records.views import import_tool

app_name = "import_tool"

urlpatterns = [
    path("", import_tool.import_page, name="upload"),
    path("confirm/", import_tool.import_confirm, name="confirm"),
    path("template/", import_tool.import_template_download, name="template"),
]
