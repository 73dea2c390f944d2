from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "opencrf.exports"
    label = "exports"

    def ready(self) -> None:
        # Saved reports travel in Project XML, which records writes and reads.
        from opencrf.exports.report_xml import REPORTS_PART
        from opencrf.records.project_xml import project_xml_part_register

        project_xml_part_register(REPORTS_PART)
