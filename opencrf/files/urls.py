from django.urls import path

from opencrf.files import views

app_name = "files"

urlpatterns = [
    path("<int:file_id>/download/", views.file_download, name="download"),
]
