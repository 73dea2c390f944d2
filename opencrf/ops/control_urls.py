"""Control-centre pages of operations: health, backups, incidents, maintenance (/control/ops/).

Every view is wrapped in `opencrf.accounts.decorators.administrator_required`: anyone else
gets a 404, as if the page did not exist.
"""

from django.urls import URLPattern, URLResolver, path

from opencrf.ops import control_views

app_name = "ops_control"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", control_views.overview, name="index"),
    path("maintenance-mode/", control_views.maintenance_mode, name="maintenance_mode"),
    path("backups/", control_views.backups, name="backups"),
    path("backups/now/", control_views.backup_now, name="backup_now"),
    path("incidents/", control_views.incidents, name="incidents"),
    path("incidents/new/", control_views.incident_new, name="incident_new"),
    path("incidents/<int:incident_id>/", control_views.incident_detail, name="incident"),
    path(
        "incidents/<int:incident_id>/resolve/",
        control_views.incident_resolve,
        name="incident_resolve",
    ),
    path("maintenance/", control_views.calendar, name="calendar"),
    path("maintenance/new/", control_views.window_new, name="window_new"),
    path("maintenance/<int:window_id>/", control_views.window_edit, name="window"),
    path("maintenance/<int:window_id>/done/", control_views.window_done, name="window_done"),
    path("maintenance/<int:window_id>/delete/", control_views.window_delete, name="window_delete"),
]
