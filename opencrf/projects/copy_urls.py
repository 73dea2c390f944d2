"""Routes of one group of pages, included from this app's urls.py (names join its namespace).

Deleting a project. New projects from a copy, a template or Project XML need records, so
their routes are `opencrf.records.project_new_urls` (under /projects/new/).
"""

from django.urls import URLPattern, URLResolver, path

from opencrf.projects import deletion_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("<int:project_id>/delete/", deletion_views.project_delete_page, name="delete"),
    path("deletions/", deletion_views.deletion_queue, name="deletions"),
    path("deletions/restore/<int:project_id>/", deletion_views.project_restore, name="restore"),
    path(
        "deletions/<int:deletion_id>/reject/",
        deletion_views.deletion_reject,
        name="deletion_reject",
    ),
]
