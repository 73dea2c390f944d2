"""Survey texts travel in the translation file of multi-language forms."""

from __future__ import annotations

import pytest

from opencrf.dictionary.design import design_of
from opencrf.dictionary.translation_selectors import project_items
from opencrf.dictionary.translation_services import language_add, translations_upload
from opencrf.dictionary.translations import Item
from opencrf.surveys.translation_items import SURVEY_TITLE, survey_text

pytestmark = pytest.mark.django_db


def test_survey_texts_are_translatable_items(qol_survey, demo, paula_context):
    qol_survey.instructions = "Answer all"
    qol_survey.save()
    survey = [item for item in project_items(demo) if item.kind.startswith("survey-")]
    assert survey == [
        Item("survey-title", "quality_of_life", "", "QOL"),
        Item("survey-instructions", "quality_of_life", "", "Answer all"),
    ]
    language_add(context=paula_context, project=demo, code="ja", display_name="日本語")
    language_add(context=paula_context, project=demo, code="en", display_name="English")
    data = b"type,name,index,translation\r\nsurvey-title,quality_of_life,,Quality of life\r\n"
    translations_upload(context=paula_context, project=demo, code="en", data=data)
    demo.refresh_from_db()
    table = design_of(demo).texts_in("en")
    assert survey_text(table, qol_survey, SURVEY_TITLE, qol_survey.title) == "Quality of life"
    assert survey_text({}, qol_survey, SURVEY_TITLE, qol_survey.title) == "QOL"
