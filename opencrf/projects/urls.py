from django.urls import include, path

from opencrf.projects import (
    copy_urls,
    groups_views,
    lifecycle_urls,
    logging_views,
    rights_views,
    views,
)

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
    path("<int:project_id>/rights/", rights_views.rights_page, name="rights"),
    path("<int:project_id>/rights/add/", rights_views.member_add, name="rights_add"),
    path(
        "<int:project_id>/rights/member/<int:member_id>/",
        rights_views.member_edit,
        name="rights_member",
    ),
    path("<int:project_id>/rights/roles/new/", rights_views.role_edit, name="role_new"),
    path("<int:project_id>/rights/roles/<int:role_id>/", rights_views.role_edit, name="role_edit"),
    path("<int:project_id>/groups/", groups_views.groups_page, name="groups"),
    path("<int:project_id>/groups/add/", groups_views.group_add, name="group_add"),
    path("<int:project_id>/groups/<int:group_id>/", groups_views.group_edit, name="group_edit"),
    path(
        "<int:project_id>/groups/member/<int:member_id>/",
        groups_views.member_group,
        name="member_group",
    ),
    path("<int:project_id>/groups/switch/", groups_views.group_switch, name="group_switch"),
    path(
        "<int:project_id>/logging/export.csv",
        logging_views.logging_export,
        name="logging_export",
    ),
    path("<int:project_id>/status/", include(lifecycle_urls)),
    path("", include(copy_urls)),
]
