from django.urls import path

from opencrf.records import file_views, views

app_name = "records"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.record_new, name="new"),
    path("<str:record_id>/", views.record_home, name="home"),
    path("<str:record_id>/delete/", views.record_delete, name="delete"),
    path("<str:record_id>/rename/", views.record_rename, name="rename"),
    path("<str:record_id>/group/", views.record_group, name="group"),
    path("<str:record_id>/arm/", views.record_arm, name="arm"),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/",
        views.form_entry,
        name="form",
    ),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/delete/",
        views.form_delete,
        name="form_delete",
    ),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/file/<str:field_name>/",
        views.file_download,
        name="file_download",
    ),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/file/<str:field_name>/"
        "preview/",
        file_views.file_preview,
        name="file_preview",
    ),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/history/<str:field_name>/",
        views.field_history,
        name="field_history",
    ),
]
