"""Routes of alerts pages, under /projects/<id>/alerts/."""

from django.urls import URLPattern, URLResolver, path

from opencrf.alerts import views

app_name = "alerts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.alert_list, name="list"),
    path("new/", views.alert_edit, name="new"),
    path("<int:alert_id>/", views.alert_edit, name="edit"),
    path("<int:alert_id>/active/", views.alert_toggle, name="toggle"),
    path("<int:alert_id>/copy/", views.alert_copy, name="copy"),
    path("<int:alert_id>/delete/", views.alert_delete, name="delete"),
    path("log/", views.notification_log, name="log"),
    path("log/<int:notification_id>/resend/", views.notification_resend, name="resend"),
    path("log/<int:notification_id>/cancel/", views.notification_cancel, name="cancel"),
]
