"""Multi-language forms in the designer: a field's texts in each language, saved with it."""

from __future__ import annotations

import pytest

from opencrf.dictionary.translation_selectors import translation_table
from opencrf.dictionary.translation_services import language_add, translations_set

from .test_designer_views import _field_post, _url, designed  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

SEX = {
    "field_name": "sex",
    "field_type": "radio",
    "field_label": "Sex",
    "choices": "1, Male\n2, Female",
}


@pytest.fixture
def bilingual(designed, paula_context):  # noqa: F811
    language_add(context=paula_context, project=designed, code="en", display_name="English")
    language_add(context=paula_context, project=designed, code="ja", display_name="日本語")
    return designed


def test_the_editor_saves_a_fields_translations_with_it(client, pi_paula, bilingual):
    client.force_login(pi_paula)
    response = _field_post(
        client,
        bilingual,
        "enrolment",
        {**SEX, "tr-ja-label": "性別", "tr-ja-choices": "1, 男性\n2, 女性"},
        "?field=sex",
    )
    assert response.status_code == 302
    assert translation_table(bilingual, "ja") == {
        ("field-label", "sex", ""): "性別",
        ("field-enum", "sex", "1"): "男性",
        ("field-enum", "sex", "2"): "女性",
    }
    page = client.get(_url("designer_field", bilingual, "enrolment") + "?field=sex")
    html = page.content.decode()
    assert 'data-testid="translations-ja" lang="ja"' in html
    assert ">性別</textarea>" in html
    assert ">1, 男性\n2, 女性</textarea>" in html
    assert 'data-testid="translations-en"' not in html  # the base language


def test_a_new_field_gets_its_translations_on_its_first_save(client, pi_paula, bilingual):
    client.force_login(pi_paula)
    data = {
        "field_name": "mood",
        "field_type": "dropdown",
        "field_label": "Mood",
        "choices": "1, Good\n2, Bad",
        "tr-ja-label": "気分",
        "tr-ja-choices": "2, 悪い",
    }
    assert _field_post(client, bilingual, "enrolment", data).status_code == 302
    assert translation_table(bilingual, "ja") == {
        ("field-label", "mood", ""): "気分",
        ("field-enum", "mood", "2"): "悪い",
    }


def test_an_unknown_choice_code_refuses_the_whole_save(client, pi_paula, bilingual, paula_context):
    translations_set(
        context=paula_context,
        project=bilingual,
        code="ja",
        texts={("field-label", "sex", ""): "性"},
    )
    client.force_login(pi_paula)
    response = _field_post(
        client,
        bilingual,
        "enrolment",
        {**SEX, "field_label": "Gender", "tr-ja-label": "性別", "tr-ja-choices": "9, 不明"},
        "?field=sex",
    )
    assert response.status_code == 400
    assert (
        "日本語, choice line 1: the field has no choice with the code “9”. Write each line as "
        "code, label."
    ) in response.content.decode()
    assert translation_table(bilingual, "ja") == {("field-label", "sex", ""): "性"}
    assert bilingual.fields.get(field_name="sex").field_label == "Sex"
    # What was typed is shown again, not what is stored.
    assert ">9, 不明</textarea>" in response.content.decode()
