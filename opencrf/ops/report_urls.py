"""Operations reports (/control/reports/): monthly and annual, as pages and PDF."""

from django.urls import URLPattern, URLResolver, path  # noqa: F401

app_name = "ops_reports"

urlpatterns: list[URLPattern | URLResolver] = []
