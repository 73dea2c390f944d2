from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "opencrf.surveys"
    label = "surveys"

    def ready(self) -> None:
        from opencrf.records.hooks import form_saved_register
        from opencrf.surveys.automated import forms_saved
        from opencrf.surveys.interchange import register

        # Automated survey invitations are evaluated after every committed form save.
        form_saved_register(forms_saved)
        # Survey columns in records' exports and surveys in Project XML (records may not
        # import surveys: they call these through their registries).
        register()
        from opencrf.records.page_hooks import form_note_register, record_panel_register
        from opencrf.surveys.record_hooks import record_survey_panel, survey_response_note

        # A record's survey links on its home page; survey responses read-only on data entry.
        record_panel_register(record_survey_panel)
        from opencrf.surveys.consent_views import record_consent_panel

        record_panel_register(record_consent_panel)  # a record's signed e-consents
        form_note_register(survey_response_note)
        from opencrf.dictionary.translations import register_items
        from opencrf.surveys.translation_items import survey_items

        register_items(survey_items)  # survey texts in the translation file
