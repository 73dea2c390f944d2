from django.urls import path

from opencrf.projects import logging_views, views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.project_new, name="create"),
    path("<int:project_id>/", views.project_home, name="home"),
    path("<int:project_id>/settings/", views.project_settings, name="settings"),
    path("<int:project_id>/events/", views.events_page, name="events"),
    path("<int:project_id>/events/arm/", views.arm_add, name="arm_add"),
    path("<int:project_id>/events/arm/<int:number>/", views.arm_edit, name="arm_edit"),
    path("<int:project_id>/events/arm/<int:number>/event/", views.event_add, name="event_add"),
    path("<int:project_id>/events/<int:event_id>/", views.event_edit, name="event_edit"),
    path("<int:project_id>/logging/", logging_views.logging_page, name="logging"),
    path(
        "<int:project_id>/logging/export.csv",
        logging_views.logging_export,
        name="logging_export",
    ),
]
