from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "opencrf.records"
    label = "records"

    def ready(self) -> None:
        from opencrf.dictionary.designer_data import designer_data_register
        from opencrf.records.designer_data import RecordsDesignerData

        designer_data_register(RecordsDesignerData())
