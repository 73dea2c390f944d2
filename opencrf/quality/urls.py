"""Routes of the data quality pages, under /projects/<id>/quality/."""

from django.urls import URLPattern, URLResolver

from opencrf.quality.dashboard_urls import dashboard_patterns
from opencrf.quality.query_urls import query_patterns
from opencrf.quality.rules_urls import rules_patterns
from opencrf.quality.verification_urls import verification_patterns

app_name = "quality"

urlpatterns: list[URLPattern | URLResolver] = [
    *rules_patterns,
    *query_patterns,
    *dashboard_patterns,
    *verification_patterns,
]
