from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "opencrf.records"
    label = "records"

    def ready(self) -> None:
        from opencrf.dictionary.designer_data import designer_data_register
        from opencrf.records.designer_data import RecordsDesignerData

        designer_data_register(RecordsDesignerData())
        self._register_draft_data()

    def _register_draft_data(self) -> None:
        from opencrf.dictionary.draft_impact import draft_data_register
        from opencrf.dictionary.drafts import draft_status_guard
        from opencrf.projects.lifecycle import lifecycle_hooks_register
        from opencrf.records.draft_impact import RecordsDraftData
        from opencrf.records.lifecycle_data import records_purge_for_production

        draft_data_register(RecordsDraftData())
        lifecycle_hooks_register(purge=records_purge_for_production, guard=draft_status_guard)
