"""Routes of source data verification, included by quality/urls.py (namespace `quality`)."""

from django.urls import URLPattern

verification_patterns: list[URLPattern] = []
