from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Data quality rules, queries (data resolution), field comments, source verification."""

    name = "opencrf.quality"
    label = "quality"
