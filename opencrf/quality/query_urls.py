"""Routes of queries and the field comment log, included by quality/urls.py (namespace `quality`)."""

from django.urls import URLPattern

query_patterns: list[URLPattern] = []
