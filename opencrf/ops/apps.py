from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "opencrf.ops"
    label = "ops"

    def ready(self) -> None:
        from opencrf.core import maintenance as core_maintenance
        from opencrf.ops.maintenance import read_only_reason

        # The API (below ops in the layers) asks core.maintenance whether writes are refused.
        core_maintenance.register(read_only_reason)
