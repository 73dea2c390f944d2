"""Routes of the query dashboard, included by quality/urls.py (namespace `quality`)."""

from django.urls import URLPattern

dashboard_patterns: list[URLPattern] = []
