"""Routes of randomization pages, under /projects/<id>/randomization/."""

from django.urls import URLPattern, URLResolver, path

from opencrf.randomization import views

app_name = "randomization"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("setup/", views.setup_page, name="setup"),
    path("setup/upload/", views.table_upload, name="table_upload"),
    path("setup/generate/", views.table_generate, name="table_generate"),
    path("setup/download/", views.table_download, name="table_download"),
    path("setup/erase/", views.allocations_erase, name="erase"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export/", views.export, name="export"),
    path("setup/blinding/", views.blinding_page, name="blinding"),
    path("record/<str:record_id>/", views.randomize, name="randomize"),
    path("record/<str:record_id>/unblind/", views.unblind, name="unblind"),
]
