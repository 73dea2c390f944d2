from django.urls import path

from opencrf.records import file_views, pdf_views
from opencrf.records.views import dashboard, form, history, locking, record

app_name = "records"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("new/", dashboard.record_new, name="new"),
    path("pdf/blank/", pdf_views.pdf_blank, name="pdf_blank"),
    path("pdf/all/", pdf_views.pdf_all, name="pdf_all"),
    path("<str:record_id>/pdf/", pdf_views.pdf_record, name="pdf_record"),
    path("<str:record_id>/", record.record_home, name="home"),
    path("<str:record_id>/delete/", record.record_delete, name="delete"),
    path("<str:record_id>/rename/", record.record_rename, name="rename"),
    path("<str:record_id>/group/", record.record_group, name="group"),
    path("<str:record_id>/arm/", record.record_arm, name="arm"),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/",
        form.form_entry,
        name="form",
    ),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/lock/",
        locking.form_lock,
        name="form_lock",
    ),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/sign/",
        locking.form_sign,
        name="form_sign",
    ),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/delete/",
        form.form_delete,
        name="form_delete",
    ),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/file/<str:field_name>/",
        form.file_download,
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
        history.field_history,
        name="field_history",
    ),
]
