"""Routes of the data quality pages, under /projects/<id>/quality/."""

from django.urls import URLPattern, URLResolver

app_name = "quality"

urlpatterns: list[URLPattern | URLResolver] = []
