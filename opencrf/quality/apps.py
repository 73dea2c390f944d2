from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Data quality rules, queries (data resolution), field comments, source verification."""

    name = "opencrf.quality"
    label = "quality"

    def ready(self) -> None:
        from opencrf.quality import dashboard_hooks, query_hooks, verification_hooks
        from opencrf.quality.dq_checks import edit_checks
        from opencrf.records.save_checks import save_check_register

        save_check_register(edit_checks)  # data quality edit checks on every save
        query_hooks.register()
        dashboard_hooks.register()
        verification_hooks.register()
