from django.urls import path

from opencrf.exports import archive_views, stats_views, views

app_name = "exports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("new/", views.report_edit, name="new"),
    path("check-logic/", views.check_logic, name="check_logic"),
    path("<int:report_id>/edit/", views.report_edit, name="edit"),
    path("<int:report_id>/copy/", views.report_copy_view, name="copy"),
    path("<int:report_id>/delete/", views.report_delete_view, name="delete"),
    path("archive/", archive_views.archive_list, name="archive"),
    path("archive/status/", archive_views.archive_status, name="archive_status"),
    path(
        "archive/<int:export_id>/download/",
        archive_views.archive_download,
        name="archive_download",
    ),
    path("<str:key>/", views.report_view, name="view"),
    path("<str:key>/export/", views.report_export, name="export"),
    path("<str:key>/stats/", stats_views.report_stats, name="stats"),
]
