"""Routes of one group of pages, included from this app's urls.py (names join its namespace)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
