"""Routes of the calendar and schedules, under /projects/<id>/calendar/."""

from django.urls import URLPattern, URLResolver, path

from opencrf.scheduling import views

app_name = "scheduling"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.calendar_month, name="calendar"),
    path("list/", views.calendar_list, name="list"),
    path("visits.ics", views.ical, name="ical"),
    path("entries/new/", views.entry_new, name="entry_new"),
    path("entries/<int:entry_id>/", views.entry_edit, name="entry_edit"),
    path("entries/<int:entry_id>/delete/", views.entry_delete, name="entry_delete"),
    path("setup/", views.setup, name="setup"),
    path("setup/rebuild/", views.rebuild, name="rebuild"),
    path("records/<str:record_id>/generate/", views.record_generate, name="record_generate"),
    path("records/<str:record_id>/<str:event_name>/move/", views.visit_move, name="visit_move"),
]
