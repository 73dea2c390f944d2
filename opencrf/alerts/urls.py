"""Routes of alerts pages, under /projects/<id>/alerts/."""

from django.urls import URLPattern, URLResolver

app_name = "alerts"

urlpatterns: list[URLPattern | URLResolver] = []
