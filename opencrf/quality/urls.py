"""Routes of the data quality pages, under /projects/<id>/quality/."""

from django.urls import URLPattern, URLResolver

from opencrf.quality.rules_urls import rules_patterns

app_name = "quality"

urlpatterns: list[URLPattern | URLResolver] = [*rules_patterns]
