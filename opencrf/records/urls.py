from django.urls import path

from opencrf.records import views

app_name = "records"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.record_new, name="new"),
    path("<str:record_id>/", views.record_home, name="home"),
    path(
        "<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/",
        views.form_entry,
        name="form",
    ),
]
