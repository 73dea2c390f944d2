"""Routes of the query dashboard, included by quality/urls.py (namespace `quality`)."""

from django.urls import URLPattern, path

from opencrf.quality import dashboard_views

dashboard_patterns: list[URLPattern] = [
    path("queries/", dashboard_views.query_dashboard, name="queries"),
]
