"""The administrators' approval queue, at /control/approvals/ (namespace `approvals`)."""

from django.urls import URLPattern, URLResolver, path

from opencrf.dictionary import draft_views

app_name = "approvals"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", draft_views.approval_queue, name="queue"),
]
