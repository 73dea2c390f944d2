"""Routes of one group of pages, included from this app's urls.py (names join its namespace)."""

from django.urls import URLPattern, URLResolver, path

from opencrf.dictionary import codebook_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", codebook_views.codebook_page, name="codebook"),
]
