"""Control-centre pages of operations: health, backups, incidents, maintenance (/control/ops/)."""

from django.urls import URLPattern, URLResolver, path  # noqa: F401

app_name = "ops_control"

urlpatterns: list[URLPattern | URLResolver] = []
