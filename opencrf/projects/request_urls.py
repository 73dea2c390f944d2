"""Project requests: the requester's form under /projects/, the queue in the control centre."""

from django.urls import path

from opencrf.projects import request_views

app_name = "project_requests"

urlpatterns = [
    path("projects/request/", request_views.request_new, name="new"),
    path("control/project-requests/", request_views.request_queue, name="queue"),
    path(
        "control/project-requests/<int:request_id>/",
        request_views.request_detail,
        name="detail",
    ),
]
