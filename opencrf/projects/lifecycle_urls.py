"""The project status page and its moves, under /projects/<id>/status/ (namespace `projects`)."""

from django.urls import URLPattern, URLResolver, path

from opencrf.projects import lifecycle_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", lifecycle_views.status_page, name="status"),
    path("move/", lifecycle_views.status_move, name="status_move"),
    path(
        "requests/<int:request_id>/",
        lifecycle_views.status_request_decide,
        name="status_request_decide",
    ),
]
